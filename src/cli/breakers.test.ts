// `rebound breakers` against a real API server over loopback, backed by the in-memory ControlPlane.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../test/support/cliOutput.ts';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { freePort } from '../healing/processes.ts';
import { type ApiServer, startApiServer } from '../server/index.ts';
import { breakersCommand, formatBreakers } from './breakers.ts';

const breakers = (...args: string[]) => runCommand(breakersCommand, args);

let server: ApiServer;
const controlPlane = fakeControlPlane();
before(async () => {
  server = await startApiServer({ controlPlane, host: '127.0.0.1', port: 0, token: undefined });
});
after(() => server.close());

describe('rebound breakers', () => {
  it('prints kind, name, state, health and failures of every breaker, then the aggregate line', async () => {
    const breaker = controlPlane.breakers.get('gateway', 'payment-api');
    await assert.rejects(
      breaker.execute(() => Promise.reject(new Error('down'))),
      /down/,
    );
    await breaker.execute(async () => 'up');
    const result = await breakers('--url', server.url);
    assert.equal(result.stderr, '');
    assert.equal(
      result.stdout,
      [
        'KIND     NAME         STATE     HEALTH  FAILURES',
        'gateway  payment-api  closed       50%         1',
        'webhook  pager        isolated    100%         0',
        '',
        '2 circuits: 1 closed, 0 half-open, 0 open, 1 isolated; overall health 37.5%',
        '',
      ].join('\n'),
    );
    assert.equal(result.code, 0);
  });

  it('--json prints the health report as the API gives it', async () => {
    const result = await breakers('--json', '--url', server.url);
    assert.equal(result.code, 0);
    const report = JSON.parse(result.stdout);
    assert.equal(report.aggregate.totalCircuits, 2);
    assert.equal(report.kinds.webhook.pager.state, 'isolated');
  });

  it('says so when there is no breaker yet', () => {
    const text = formatBreakers({
      aggregate: {
        totalCircuits: 0,
        openCircuits: 0,
        halfOpenCircuits: 0,
        closedCircuits: 0,
        isolatedCircuits: 0,
        averageHealth: 100,
        overallHealth: 100,
      },
      kinds: {},
    });
    assert.equal(
      text,
      'no circuit breakers yet\n0 circuits: 0 closed, 0 half-open, 0 open, 0 isolated; overall health 100%\n',
    );
  });

  it('says clearly when rebound is not running, exit 1', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const result = await breakers('--url', deadUrl);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `rebound breakers: cannot reach rebound at ${deadUrl}: is \`rebound up\` running?\n`,
    );
  });

  it('--help prints the usage, exit 0; a stray argument is a usage error, exit 2', async () => {
    const help = await breakers('-h');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: rebound breakers/);
    const extra = await breakers('reset');
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /^rebound breakers: /);
    assert.match(extra.stderr, /Usage: rebound breakers/);
  });
});
