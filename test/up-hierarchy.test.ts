// `rebound up` end to end: the hierarchy of controllers. A group's saturated service (autoscaled to
// its max under load) makes the group shed its sibling into fallback mode, lifted once the load is
// gone; a failed healing is restarted at the service level and paged at the global level, and the
// decisions are in GET /api/controllers, also after a restart of rebound up.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, reboundUp, type RunningRebound, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { steadyTraffic } from './support/traffic.ts';
import { until } from './support/waiting.ts';
import { startWebhookReceiver } from './support/webhookReceiver.ts';

after(stopStarted);

interface Decision {
  level: string;
  action: string;
  reason: string;
  at: string;
  details?: Record<string, unknown>;
}

interface ControllerView {
  name: string;
  level: string;
  parent: string | null;
  children: string[];
  decisions: Decision[];
}

async function controllers(rebound: RunningRebound, level?: string): Promise<ControllerView[]> {
  return (await rebound.api(`/api/controllers${level ? `?level=${level}` : ''}`)).body.controllers;
}

async function decisionsOf(rebound: RunningRebound, name: string): Promise<Decision[]> {
  return (await controllers(rebound)).find((controller) => controller.name === name)?.decisions ?? [];
}

describe('rebound up: hierarchical controllers', () => {
  it('sheds a sibling of a saturated service at the group level, and restores it once the load is gone', async () => {
    const [webPort, recommendationsPort] = [await freePort(), await freePort()];
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    env: { SLOW_MS: "300" }
    group: shop
    gateway: { port: ${webPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
    autoscale: { metric: inflight_per_replica, target: 2, min: 1, max: 1, intervalMs: 500 }
  recommendations:
    command: node examples/demo/service.js
    group: shop
    gateway: { port: ${recommendationsPort} }
    fallback: { status: 200, body: { shed: true } }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
groups:
  shop: { shed: [recommendations], restoreAfterMs: 2000 }
`);
    await untilHealthy(rebound);
    const shape = (await controllers(rebound)).map((c) => [c.name, c.level, c.parent, c.children]);
    assert.deepEqual(shape, [
      ['global', 'global', null, ['group:shop']],
      ['group:shop', 'group', 'global', ['service:web', 'service:recommendations']],
      ['service:web', 'service', 'group:shop', []],
      ['service:recommendations', 'service', 'group:shop', []],
    ]);
    const recommendations = async () => {
      const response = await fetch(`http://127.0.0.1:${recommendationsPort}/`);
      return (await response.json()) as Record<string, unknown>;
    };
    assert.notEqual((await recommendations()).shed, true, 'served by its replica before the load');

    // 8 clients on 300 ms answers: about 8 in flight on the one replica web may have, 4× its target.
    const traffic = steadyTraffic(webPort, { clients: 8, failFrom: 400 });
    after(() => traffic.stop());
    await until(
      async () => (await rebound.api('/api/services/recommendations')).body.gateway.fallback === true,
      'recommendations shed',
      15_000,
    );
    assert.deepEqual(await recommendations(), { shed: true }, 'its gateway answers the fallback');
    const [shed] = await decisionsOf(rebound, 'group:shop');
    assert.equal(shed?.level, 'group:shop');
    assert.equal(shed.action, 'shed');
    assert.equal(shed.details?.service, 'recommendations');
    assert.equal(shed.details?.saturated, 'web');
    assert.match(shed.reason, /^web is out of capacity \([\d.]+× its target at 1 replicas, wants 1\)/);
    assert.deepEqual(await decisionsOf(rebound, 'service:web'), [], 'the service level had nothing to do');
    const attempts = (await rebound.api('/api/healing?service=recommendations')).body.attempts;
    const attempt = attempts.find((a: { policy: string }) => a.policy === 'controller:group:shop');
    assert.equal(attempt.source, 'policy');
    assert.equal(attempt.status, 'succeeded');
    assert.equal(attempt.trigger.source, 'controller');
    assert.deepEqual(
      attempt.actions.map((a: { type: string; status: string }) => `${a.type} ${a.status}`),
      ['fallback-mode succeeded'],
    );

    await traffic.stop();
    const stoppedAt = Date.now();
    await until(
      async () => (await rebound.api('/api/services/recommendations')).body.gateway.fallback === false,
      'recommendations restored',
      15_000,
    );
    assert.ok(Date.now() - stoppedAt >= 1000, 'not before restoreAfterMs without saturation');
    assert.notEqual((await recommendations()).shed, true);
    const decisions = await decisionsOf(rebound, 'group:shop');
    assert.deepEqual(
      decisions.map((decision) => decision.action),
      ['shed', 'restore'],
      'one capacity escalation within the cooldown: recommendations was shed once',
    );
    assert.deepEqual(traffic.counts.failed, []);
    assert.match(rebound.output(), /controller group:shop: shed \(capacity of web\)/);
  });

  it('restarts a service whose healing failed at the service level, pages at the global level, and keeps both across a restart', async () => {
    const pager = await startWebhookReceiver();
    after(() => pager.close());
    const config = `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  worker:
    command: node examples/demo/service.js
    health: { http: { path: /health }, intervalMs: 200 }
    stopGraceMs: 2000
policies:
  # Fails at once: worker has no gateway to answer a fallback.
  - name: Shed on heat
    when: [{ metric: cpu_util, op: gt, value: 0.9 }]
    do: [fallback-mode]
    cooldownMs: 600000
escalation: [{ webhook: { url: "${pager.origin}/hook", format: generic } }]
`;
    const rebound = await reboundUp(config);
    await untilHealthy(rebound, 'worker');
    const pidBefore = (await rebound.api('/api/services/worker')).body.replicas[0].pid;
    await rebound.api('/api/events', { body: { service: 'worker', metrics: { cpu_util: 0.95 } } });

    const [page] = await pager.waitFor(1, 15_000);
    const body = page!.body as { service: string; summary: string };
    assert.equal(body.service, 'worker');
    assert.match(body.summary, /^worker: automatic healing failed \(cpu_util > 0\.9\)/);
    const [restart] = await decisionsOf(rebound, 'service:worker');
    assert.equal(restart?.action, 'restart-service');
    assert.match(restart.reason, /none restarted worker/);
    const [paged] = await decisionsOf(rebound, 'global');
    assert.equal(paged?.level, 'global');
    assert.equal(paged.action, 'page');
    assert.match(paged.reason, /automatic healing of worker failed \(service:worker tried restart-service\)/);
    assert.deepEqual(
      (await controllers(rebound, 'global')).map((c) => c.name),
      ['global'],
    );
    await until(
      async () => {
        const replicas = (await rebound.api('/api/services/worker')).body.replicas;
        return replicas.length === 1 && replicas[0].pid !== pidBefore && replicas[0].state === 'healthy';
      },
      'worker restarted by its controller',
      15_000,
    );
    const attempts = (await rebound.api('/api/healing?service=worker')).body.attempts;
    assert.ok(
      attempts.some(
        (a: { policy: string; status: string }) =>
          a.policy === 'controller:service:worker' && a.status === 'succeeded',
      ),
    );
    assert.ok(attempts.some((a: { policy: string }) => a.policy === 'Shed on heat'));

    // Kept as events: a restarted rebound up shows the decisions of its previous run.
    assert.equal(await rebound.stop(), 0);
    const again = await reboundUp(config, { directory: rebound.directory });
    assert.deepEqual(
      (await decisionsOf(again, 'global')).map((decision) => [decision.action, decision.at]),
      [['page', paged.at]],
    );
    assert.equal((await decisionsOf(again, 'service:worker'))[0]?.action, 'restart-service');
  });
});
