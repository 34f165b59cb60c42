// `rebound up` end to end: a config change reloaded with SIGHUP rolls out one replica at a time
// without a failed request, and a latency regression right after that rollout is healed by rolling
// back (not by restarting the bad release); bad config on reload changes nothing.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, reboundUp, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { steadyTraffic } from './support/traffic.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

function config(gatewayPort: number, env: string): string {
  return `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    env: ${env}
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
policies:
  - name: Critical Latency Spike
    when: [{ metric: latency_p99, op: gt, value: 500 }]
    do: [restart-service]
    priority: 10
    cooldownMs: 600000
`;
}

describe('rebound up: rollouts', () => {
  it('rolls out a reloaded config one replica at a time, then rolls a slow release back', async () => {
    const gatewayPort = await freePort();
    const rebound = await reboundUp(config(gatewayPort, '{ RELEASE: "1" }'));
    const web = async () => (await rebound.api('/api/services/web')).body;
    await untilHealthy(rebound, 'web');
    assert.equal((await web()).revision, 1);

    const traffic = steadyTraffic(gatewayPort);
    after(() => traffic.stop());

    // Bad config: refused, nothing changes.
    const file = join(rebound.directory, 'rebound.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('count: 2', 'count: -1'));
    const refused = await rebound.api('/api/reload', { method: 'POST' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'CONFIG_INVALID');
    assert.equal((await web()).revision, 1);

    // A new release that is slow from its start, rolled out by SIGHUP.
    writeFileSync(file, good.replace('{ RELEASE: "1" }', '{ RELEASE: "2", SLOW_MS: 700 }'));
    rebound.child.kill('SIGHUP');
    await until(() => /reloaded .*services\.web/.test(rebound.output()), 'revision 2 rolled out', 20_000);
    assert.equal((await web()).revision, 2);

    // p99 climbs over 500 ms: the policy asks for a restart, which after a rollout is a rollback.
    await until(
      async () =>
        ((await rebound.api('/api/healing')).body.attempts as { policy: string; status: string }[]).some(
          (a) => a.policy === 'Critical Latency Spike' && a.status !== 'running',
        ),
      'the latency policy to finish',
      45_000,
    );
    await traffic.stop();
    const attempt = (await rebound.api('/api/healing')).body.attempts.find(
      (a: { policy: string }) => a.policy === 'Critical Latency Spike',
    );
    assert.equal(attempt.status, 'succeeded', attempt.outcome);
    assert.match(
      attempt.actions[0].message,
      /rolled back the rollout of revision 2 \(revision 3 runs the previous config\)/,
    );
    const rolledBack = await web();
    assert.equal(rolledBack.revision, 3);
    assert.deepEqual(traffic.counts.failed, [], 'no request failed during the rollout and the rollback');
    assert.ok(traffic.counts.ok > 50);
  });
});
