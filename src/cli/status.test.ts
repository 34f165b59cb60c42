// `rebound status` against a real API server over loopback, backed by the in-memory ControlPlane.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../test/support/cliOutput.ts';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { freePort } from '../healing/processes.ts';
import { type ApiServer, startApiServer } from '../server/index.ts';
import { formatStatus, statusCommand } from './status.ts';

const status = (...args: string[]) => runCommand(statusCommand, args);

let server: ApiServer;
const controlPlane = fakeControlPlane();
before(async () => {
  server = await startApiServer({ controlPlane, host: '127.0.0.1', port: 0, token: 'secret' });
});
after(() => server.close());

describe('rebound status', () => {
  it('prints one line per service: state, healthy/total replicas, p99, errors, rps, gateway', async () => {
    const result = await status('--url', server.url);
    assert.equal(result.stderr, '');
    assert.equal(
      result.stdout,
      [
        'SERVICE      STATE     REPLICAS     P99  ERR%   RPS  GATEWAY',
        'payment-api  healthy        1/2  123 ms  2.1%  45.6  127.0.0.1:9100 (breaker)',
        'database     critical       0/1       -     -     -  -',
        '',
      ].join('\n'),
    );
    assert.equal(result.code, 0);
  });

  it('shows no latency for a gateway that saw no request, and the gateway modes that are on', () => {
    const [service] = controlPlane.services();
    const text = formatStatus([
      {
        ...service!,
        metrics: { latency_p99: 0, error_rate: 0, throughput: 0, inflight: 0, requests: 0, errors: 0 },
        gateway: { host: '::1', port: 9100, breaker: false, fallback: true, failover: 'backup-api' },
      },
      { ...service!, name: 'fast', metrics: { latency_p99: 4.25, requests: 3 } },
    ]);
    assert.equal(
      text,
      [
        'SERVICE      STATE    REPLICAS     P99  ERR%  RPS  GATEWAY',
        'payment-api  healthy       1/2       -  0.0%  0.0  [::1]:9100 (fallback, failover to backup-api)',
        'fast         healthy       1/2  4.3 ms     -    -  127.0.0.1:9100 (breaker)',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the services as the API gives them', async () => {
    const result = await status('--json', '--url', server.url);
    assert.equal(result.code, 0);
    const parsed = JSON.parse(result.stdout);
    assert.deepEqual(
      parsed.services.map((service: { name: string }) => service.name),
      ['payment-api', 'database'],
    );
    assert.equal(parsed.services[0].metrics.latency_p99, 123.4);
  });

  it('says clearly when rebound is not running, exit 1', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const result = await status('--url', deadUrl);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `rebound status: cannot reach rebound at ${deadUrl}: is \`rebound up\` running?\n`,
    );
  });

  it("prints the API's error message and exits 1 when the API answers an error", async () => {
    const failing = fakeControlPlane();
    failing.failNext = new Error('boom');
    const broken = await startApiServer({
      controlPlane: failing,
      host: '127.0.0.1',
      port: 0,
      token: undefined,
      onError: () => {},
    });
    try {
      const result = await status('--url', broken.url);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, 'rebound status: internal error\n');
    } finally {
      await broken.close();
    }
  });

  it('--help prints the usage, exit 0; an unknown option or an argument is a usage error, exit 2', async () => {
    const help = await status('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: rebound status/);
    assert.match(help.stdout, /REBOUND_TOKEN/);
    const unknown = await status('--verbose');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^rebound status: Unknown option '--verbose'/);
    const extra = await status('payment-api');
    assert.equal(extra.code, 2);
    const badUrl = await status('--url', 'localhost:8080');
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /^rebound status: --url must be/);
  });
});
