// `rebound up` end to end, as a user runs it: real replicas killed with SIGKILL and frozen with
// SIGSTOP are replaced, traffic through the gateway keeps flowing, nothing is left behind when
// rebound stops or is killed, dependencies come first, and history survives a restart.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isAlive as alive } from '../src/healing/processes.ts';
import { incidentsWithTimelines } from './support/incidents.ts';
import { freePort, healthyPids, reboundUp, replicas, stopStarted } from './support/reboundUp.ts';
import { steadyTraffic } from './support/traffic.ts';
import { until } from './support/waiting.ts';

function webService(gatewayPort: number, extra = ''): string {
  return `
  web:
    command: node examples/demo/service.js
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    restart: { backoff: { initialMs: 50 }, maxRestarts: 10, windowMs: 60000 }
    stopGraceMs: 2000${extra}`;
}

function config(services: string, extra = ''): string {
  return `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:${services}
policies: []
${extra}`;
}

after(stopStarted);

describe('rebound up: supervision', () => {
  it('replaces a replica killed with SIGKILL at once, with no failed request through the gateway', async () => {
    const gatewayPort = await freePort();
    const rebound = await reboundUp(config(webService(gatewayPort)));
    await until(async () => (await healthyPids(rebound, 'web')).length === 2, 'two healthy replicas');
    const traffic = steadyTraffic(gatewayPort, { pauseMs: 5 });
    await until(() => traffic.counts.ok > 20, 'traffic flowing');

    const [victim] = await healthyPids(rebound, 'web');
    const killedAt = Date.now();
    process.kill(victim!, 'SIGKILL');
    await until(async () => {
      const pids = await healthyPids(rebound, 'web');
      return pids.length === 2 && !pids.includes(victim!);
    }, 'a replacement replica serving');
    const replacedMs = Date.now() - killedAt;
    await until(() => traffic.counts.ok > 100, 'more traffic after the kill');
    await traffic.stop();

    assert.deepEqual(traffic.counts.failed, [], 'no request failed');
    assert.ok(replacedMs < 5000, `replaced in ${replacedMs} ms`);
    const restarted = (await replicas(rebound, 'web')).find((r) => r.restarts === 1);
    assert.ok(restarted, 'the killed replica counts one restart');
    const { body } = await rebound.api('/api/healing?service=web');
    const attempt = body.attempts.find((a: { source: string }) => a.source === 'supervisor');
    assert.ok(attempt, 'the supervisor restart is in the healing log');
    assert.equal(attempt.status, 'succeeded');
    assert.equal(attempt.trigger.source, 'exit');
  });

  it('resolves an incident only once the service has been quiet for resolveAfterMs after a crash', async () => {
    // Regression: a crash and a restart between two of the control plane's ticks left the service's
    // "healthy since" as it was, so the incident resolved at the next tick, 0 s after the crash.
    const rebound = await reboundUp(
      config(webService(await freePort()), 'incidents: { resolveAfterMs: 3000 }'),
    );
    await until(async () => (await healthyPids(rebound, 'web')).length === 2, 'two healthy replicas');
    await new Promise((resolve) => setTimeout(resolve, 3500)); // healthy for longer than resolveAfterMs
    const [victim] = await healthyPids(rebound, 'web');
    process.kill(victim!, 'SIGKILL');
    const killedAt = Date.now();
    const opened = async () => (await rebound.api('/api/incidents')).body.incidents[0];
    await until(async () => (await opened()) !== undefined, 'an incident for the crash');
    await until(async () => (await healthyPids(rebound, 'web')).length === 2, 'the replica replaced');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + 2000 - Date.now())));
    assert.notEqual((await opened()).status, 'resolved', 'resolved before 3 s of quiet');
    await until(async () => (await opened()).status === 'resolved', 'resolved after 3 s of quiet', 10_000);
    const incident = (await rebound.api(`/api/incidents/${(await opened()).id}`)).body;
    const lastSignal = Math.max(
      ...incident.timeline
        .filter((e: { kind: string }) => e.kind === 'signal')
        .map((e: { at: string }) => Date.parse(e.at)),
    );
    assert.ok(Date.parse(incident.resolvedAt) - lastSignal >= 3000, 'quiet for 3 s before it resolved');
  });

  it('detects a replica frozen with SIGSTOP by its probe and replaces it', async () => {
    const gatewayPort = await freePort();
    const rebound = await reboundUp(config(webService(gatewayPort)));
    await until(async () => (await healthyPids(rebound, 'web')).length === 2, 'two healthy replicas');
    const [frozen] = await healthyPids(rebound, 'web');
    process.kill(frozen!, 'SIGSTOP');
    await until(
      async () => {
        const pids = await healthyPids(rebound, 'web');
        return pids.length === 2 && !pids.includes(frozen!);
      },
      'the frozen replica replaced',
      10_000,
    );
    await until(() => !alive(frozen!), 'the frozen process gone');
    const { body } = await rebound.api('/api/healing?service=web');
    assert.ok(
      body.attempts.some(
        (a: { source: string; trigger: { source: string } }) =>
          a.source === 'supervisor' && a.trigger.source === 'probe',
      ),
      'a probe-triggered restart is recorded',
    );
  });

  it('stops every replica on SIGTERM and exits 0; after a kill -9 the next start stops those left behind', async () => {
    const gatewayPort = await freePort();
    const first = await reboundUp(config(webService(gatewayPort)));
    await until(async () => (await healthyPids(first, 'web')).length === 2, 'two healthy replicas');
    const pids = await healthyPids(first, 'web');
    assert.equal(await first.stop('SIGTERM'), 0);
    await until(() => pids.every((pid) => !alive(pid)), 'no replica left after SIGTERM', 5000);

    // Killed without a chance to clean up: its replicas survive it...
    const second = await reboundUp(config(webService(gatewayPort)), { directory: first.directory });
    await until(async () => (await healthyPids(second, 'web')).length === 2, 'two healthy replicas');
    const orphans = await healthyPids(second, 'web');
    await second.stop('SIGKILL');
    assert.ok(orphans.every(alive), 'replicas outlive a SIGKILLed rebound');

    // ...and the next start finds them in the store and stops them.
    const third = await reboundUp(config(webService(gatewayPort)), { directory: first.directory });
    await until(() => orphans.every((pid) => !alive(pid)), 'the orphans stopped', 10_000);
    await until(async () => (await healthyPids(third, 'web')).length === 2, 'two fresh healthy replicas');
    assert.match(third.output(), /left behind by a previous run/);
    assert.equal(await third.stop('SIGTERM'), 0);
    first.cleanup();
  });

  it('stops its replicas on a SIGTERM sent the moment it announced itself (no signal race)', async () => {
    // Regression: the handlers used to be installed after the address line, so a SIGTERM right
    // after it killed rebound with Node's default action and left its replicas running.
    for (let round = 0; round < 5; round++) {
      const rebound = await reboundUp(config(webService(await freePort())));
      assert.equal(await rebound.stop('SIGTERM'), 0, rebound.output());
      const pids = [...rebound.output().matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
      assert.ok(pids.length > 0, 'the replicas said their pids');
      await until(() => pids.every((pid) => !alive(pid)), 'no replica left behind', 5000);
    }
  });

  it('keeps the healing history across a restart of rebound up', async () => {
    const gatewayPort = await freePort();
    const first = await reboundUp(config(webService(gatewayPort)));
    await until(async () => (await healthyPids(first, 'web')).length === 2, 'two healthy replicas');
    const [victim] = await healthyPids(first, 'web');
    process.kill(victim!, 'SIGKILL');
    await until(
      async () =>
        (await first.api('/api/healing')).body.attempts.some(
          (a: { status: string }) => a.status === 'succeeded',
        ),
      'the restart recorded',
    );
    const before = (await first.api('/api/healing')).body.attempts as { id: string }[];
    const incidentsBefore = (await first.api('/api/incidents')).body.incidents as { id: string }[];
    assert.equal(await first.stop('SIGTERM'), 0);

    const second = await reboundUp(config(webService(gatewayPort)), { directory: first.directory });
    const after = (await second.api('/api/healing')).body.attempts as { id: string }[];
    for (const attempt of before)
      assert.ok(
        after.some((a) => a.id === attempt.id),
        `attempt ${attempt.id} kept`,
      );
    const incidentsAfter = (await second.api('/api/incidents')).body.incidents as { id: string }[];
    assert.ok(incidentsBefore.length > 0, 'the kill opened an incident');
    for (const incident of incidentsBefore)
      assert.ok(
        incidentsAfter.some((i) => i.id === incident.id),
        `incident ${incident.id} kept`,
      );
    const stats = (await second.api('/api/healing/stats')).body;
    assert.ok(stats.succeeded >= 1);
    await second.stop('SIGTERM');
    first.cleanup();
  });

  it("starts dependencies first and holds a dependent's restart while its dependency is down", async () => {
    const gatewayPort = await freePort();
    const services = `
  db:
    command: node examples/demo/service.js
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
${webService(gatewayPort, '\n    dependsOn: [db]')}`;
    const rebound = await reboundUp(config(services));
    await until(async () => (await healthyPids(rebound, 'web')).length === 2, 'web healthy');
    const db = (await replicas(rebound, 'db'))[0]!;
    const web = await replicas(rebound, 'web');
    const started = async (service: string) =>
      ((await rebound.api(`/api/services/${service}`)).body.replicas as { startedAt: string }[]).map((r) =>
        Date.parse(r.startedAt),
      );
    assert.ok(
      Math.max(...(await started('db'))) <= Math.min(...(await started('web'))),
      'db started before web',
    );
    assert.ok(db.pid && web.length === 2);

    assert.equal((await rebound.api('/api/services/db/stop', { method: 'POST' })).status, 200);
    const [victim] = await healthyPids(rebound, 'web');
    process.kill(victim!, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await healthyPids(rebound, 'web')).length, 1, 'web not restarted while db is down');
    assert.match(
      JSON.stringify(await incidentsWithTimelines(rebound)),
      /held back: waiting for its dependency db/,
    );

    assert.equal((await rebound.api('/api/services/db/start', { method: 'POST' })).status, 200);
    await until(
      async () => (await healthyPids(rebound, 'web')).length === 2,
      'web restarted once db is back',
      10_000,
    );
  });
});
