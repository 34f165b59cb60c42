// `rebound restart SERVICE` against a real API server over loopback, backed by the in-memory ControlPlane.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runCommand } from '../../test/support/cliOutput.ts';
import { type FakeControlPlane, fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { freePort } from '../healing/processes.ts';
import { type ApiServer, startApiServer } from '../server/index.ts';
import { restartCommand } from './restart.ts';

const restart = (...args: string[]) => runCommand(restartCommand, args);

const TOKEN = 'operator-token';
let server: ApiServer;
let controlPlane: FakeControlPlane;
const dir = mkdtempSync(join(tmpdir(), 'rebound-restart-'));

before(async () => {
  controlPlane = fakeControlPlane();
  server = await startApiServer({ controlPlane, host: '127.0.0.1', port: 0, token: TOKEN });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  controlPlane.calls.length = 0;
  controlPlane.operatorStatus = 'succeeded';
});

describe('rebound restart', () => {
  it('restarts the service and prints the outcome, exit 0', async () => {
    const result = await restart('payment-api', '--url', server.url, '--token', TOKEN);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 'payment-api: restart succeeded: restart-service succeeded\n');
    assert.equal(result.code, 0);
    assert.deepEqual(controlPlane.calls, ['restart payment-api']);
  });

  it('takes the token from REBOUND_TOKEN', async () => {
    process.env.REBOUND_TOKEN = TOKEN;
    try {
      const result = await restart('database', '--url', server.url);
      assert.equal(result.code, 0);
      assert.deepEqual(controlPlane.calls, ['restart database']);
    } finally {
      delete process.env.REBOUND_TOKEN;
    }
  });

  it('finds the API through --config FILE', async () => {
    const file = join(dir, 'rebound.yaml');
    writeFileSync(
      file,
      `server:\n  host: 127.0.0.1\n  port: ${server.address.port}\n  token: \${REBOUND_TOKEN}\n`,
    );
    const result = await restart('payment-api', '--config', file, '--token', TOKEN);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(controlPlane.calls, ['restart payment-api']);
  });

  it('prints a failed restart on stderr, exit 1', async () => {
    controlPlane.operatorStatus = 'failed';
    const result = await restart('payment-api', '--url', server.url, '--token', TOKEN);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'payment-api: restart failed: restart-service failed\n');
    assert.equal(result.code, 1);
  });

  it('--json prints the attempt', async () => {
    const result = await restart('payment-api', '--json', '--url', server.url, '--token', TOKEN);
    assert.equal(result.code, 0);
    const { attempt } = JSON.parse(result.stdout);
    assert.equal(attempt.service, 'payment-api');
    assert.equal(attempt.source, 'operator');
    assert.equal(attempt.status, 'succeeded');
  });

  it("an unknown service prints the API's message, exit 1, nothing restarted", async () => {
    const result = await restart('nope', '--url', server.url, '--token', TOKEN);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'rebound restart: no service named "nope"\n');
    assert.deepEqual(controlPlane.calls, []);
  });

  it('a missing or wrong token prints how to give one, exit 1, nothing restarted', async () => {
    for (const extra of [[], ['--token', 'guess-123']]) {
      const result = await restart('payment-api', '--url', server.url, ...extra);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        'rebound restart: missing or wrong token: send Authorization: Bearer <token> (give --token or set REBOUND_TOKEN)\n',
      );
      assert.doesNotMatch(result.stderr, /guess-123|operator-token/);
    }
    assert.deepEqual(controlPlane.calls, []);
  });

  it('a service name is sent as one path segment, whatever it contains', async () => {
    const result = await restart('../reload', '--url', server.url, '--token', TOKEN);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'rebound restart: no service named "../reload"\n');
    assert.deepEqual(controlPlane.calls, []);
  });

  it('says clearly when rebound is not running, exit 1', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const result = await restart('payment-api', '--url', deadUrl);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `rebound restart: cannot reach rebound at ${deadUrl}: is \`rebound up\` running?\n`,
    );
  });

  it('--help prints the usage, exit 0; no SERVICE or two are usage errors, exit 2', async () => {
    const help = await restart('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: rebound restart SERVICE/);
    for (const args of [[], ['a', 'b'], ['payment-api', '--force']]) {
      const result = await restart(...args, '--url', server.url);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /^rebound restart: /);
    }
    assert.deepEqual(controlPlane.calls, []);
  });
});
