// `rebound up` end to end: a service with `autoscale` on inflight_per_replica grows its replicas
// while concurrent slow requests keep the gateway busy, and shrinks back to its minimum once the
// load stops and the scale-down window has passed, without a failed request; every decision is a
// 'policy' attempt of policy "autoscale" on the healing log.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, reboundUp, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { steadyTraffic } from './support/traffic.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

function config(gatewayPort: number): string {
  return `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    env: { SLOW_MS: "300" }
    replicas: { count: 1, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
    autoscale:
      metric: inflight_per_replica
      target: 2
      min: 1
      max: 4
      intervalMs: 500
      scaleDownStabilizationMs: 3000
`;
}

interface Attempt {
  source: string;
  policy: string | null;
  status: string;
  outcome: string;
  trigger: { source: string; metrics: Record<string, number>; conditions: string[] };
}

describe('rebound up: autoscaling', () => {
  it('scales up under load and back down after the stabilization window, with no failed request', async () => {
    const gatewayPort = await freePort();
    const rebound = await reboundUp(config(gatewayPort));
    const replicas = async () =>
      ((await rebound.api('/api/services/web')).body.replicas as { state: string }[]).length;
    await untilHealthy(rebound, 'web');
    assert.equal(await replicas(), 1);

    // 8 clients on 300 ms answers: about 8 in flight, 4 per replica at 2 replicas, 2 at 4.
    const traffic = steadyTraffic(gatewayPort, { clients: 8, failFrom: 400 });
    after(() => traffic.stop());

    await until(async () => (await replicas()) === 4, 'scaled up to 4 replicas', 15_000);
    await traffic.stop();
    const stoppedAt = Date.now();
    await until(async () => (await replicas()) === 1, 'scaled back down to 1 replica', 15_000);
    assert.ok(Date.now() - stoppedAt >= 2500, 'not before the 3000 ms scale-down window');

    assert.deepEqual(traffic.counts.failed, []);
    assert.ok(traffic.counts.ok > 20, `requests answered: ${traffic.counts.ok}`);
    const attempts = (await rebound.api('/api/healing?service=web')).body.attempts as Attempt[];
    const autoscale = attempts.filter((attempt) => attempt.policy === 'autoscale');
    assert.ok(autoscale.length >= 2, 'up and down decisions recorded');
    for (const attempt of autoscale) {
      assert.equal(attempt.source, 'policy');
      assert.equal(attempt.status, 'succeeded');
      assert.equal(attempt.trigger.source, 'autoscaler');
      assert.equal(typeof attempt.trigger.metrics.inflight_per_replica, 'number');
      assert.match(attempt.outcome, /^scaled web \d → \d \(.+: inflight_per_replica [\d.]+ vs target 2\)$/);
    }
    assert.ok(autoscale.some((attempt) => /→ 4 /.test(attempt.outcome)));
    assert.ok(autoscale.some((attempt) => /→ 1 /.test(attempt.outcome)));
  });
});
