// `rebound up` end to end: the `failover` action sends a service's traffic to its backup's gateway,
// and traffic fails back once the primary has been fully healthy for a while.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { incidentsWithTimelines } from './support/incidents.ts';
import { freePort, reboundUp, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

describe('rebound up: failover', () => {
  it('fails over to the backup service and back', async () => {
    const [primaryPort, backupPort] = [await freePort(), await freePort()];
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  primary:
    command: node examples/demo/service.js
    gateway: { port: ${primaryPort} }
    health: { http: { path: /health }, intervalMs: 200 }
    failover: { target: backup }
    stopGraceMs: 2000
  backup:
    command: node examples/demo/service.js
    gateway: { port: ${backupPort} }
    health: { http: { path: /health }, intervalMs: 200 }
    stopGraceMs: 2000
policies:
  - name: Overloaded
    services: [primary]
    when: [{ metric: cpu_util, op: gt, value: 0.9 }]
    do: [failover]
    cooldownMs: 600000
`);
    const pidOf = async (service: string) =>
      (await rebound.api(`/api/services/${service}`)).body.replicas[0].pid;
    await untilHealthy(rebound);
    const [primaryPid, backupPid] = [await pidOf('primary'), await pidOf('backup')];
    const answeredBy = async () =>
      ((await (await fetch(`http://127.0.0.1:${primaryPort}/`)).json()) as { pid: number }).pid;
    assert.equal(await answeredBy(), primaryPid);

    await rebound.api('/api/events', { body: { service: 'primary', metrics: { cpu_util: 0.95 } } });
    await until(
      async () => (await rebound.api('/api/services/primary')).body.gateway.failover === 'backup',
      'failed over',
      10_000,
    );
    assert.equal(await answeredBy(), backupPid, 'the backup answers on the primary gateway');
    await rebound.api('/api/events', { body: { service: 'primary', metrics: { cpu_util: 0.1 } } });

    await until(
      async () => (await rebound.api('/api/services/primary')).body.gateway.failover === null,
      'failed back',
      15_000,
    );
    assert.equal(await answeredBy(), primaryPid);
    const attempt = (await rebound.api('/api/healing?service=primary')).body.attempts.find(
      (a: { policy: string }) => a.policy === 'Overloaded',
    );
    assert.match(attempt.actions[0].message, /failed over to backup/);
    assert.match(JSON.stringify(await incidentsWithTimelines(rebound)), /failed back from backup/);
  });
});
