// `rebound up` end to end: policies fire on real gateway metrics and are verified, cooldowns and
// rate limits hold, a crash loop pages in PagerDuty's format, a real Prometheus Alertmanager
// delivers its webhook, and promtool accepts /metrics.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { incidentsWithTimelines } from './support/incidents.ts';
import { freePort, reboundUp, type RunningRebound, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { steadyTraffic } from './support/traffic.ts';
import { until } from './support/waiting.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhookReceiver.ts';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
after(stopStarted);

function web(gatewayPort: number): string {
  return `
  web:
    command: node examples/demo/service.js
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000`;
}

async function attempts(rebound: RunningRebound): Promise<any[]> {
  return (await rebound.api('/api/healing?limit=100')).body.attempts;
}

/** The JSON bodies a webhook receiver was sent, in arrival order. */
function bodies(receiver: WebhookReceiver): any[] {
  return receiver.received.map((request) => request.body);
}

describe('rebound up: healing by policy', () => {
  it('answers a latency spike with the Critical Latency Spike policy, verified, and holds the page back', async () => {
    const gatewayPort = await freePort();
    const pager = await startWebhookReceiver();
    cleanups.push(() => pager.close());
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:${web(gatewayPort)}
policies:
  - name: Critical Latency Spike
    when: [{ metric: latency_p99, op: gt, value: 500 }]
    do: [restart-service, alert-oncall]
    priority: 10
    cooldownMs: 600000
  - name: Moderate Latency
    when: [{ metric: latency_p99, op: gte, value: 300 }, { metric: latency_p99, op: lt, value: 500 }]
    do: [scale-up]
    priority: 5
escalation: [{ webhook: { url: "http://127.0.0.1:${pager.port}/hook", format: generic } }]
incidents: { resolveAfterMs: 1000 }
`);
    await untilHealthy(rebound, 'web');
    const replicas = (await rebound.api('/api/services/web')).body.replicas as { port: number }[];
    for (const replica of replicas) {
      const response = await fetch(`http://127.0.0.1:${replica.port}/admin/slow?ms=700`, { method: 'POST' });
      assert.equal(response.status, 200);
    }
    const traffic = steadyTraffic(gatewayPort);
    cleanups.push(() => traffic.stop());

    await until(
      async () =>
        (await attempts(rebound)).some(
          (a) => a.policy === 'Critical Latency Spike' && a.status !== 'running',
        ),
      'the policy attempt finished',
      40_000,
    );
    await traffic.stop();
    const attempt = (await attempts(rebound)).find((a) => a.policy === 'Critical Latency Spike');
    assert.equal(attempt.status, 'succeeded', attempt.outcome);
    assert.equal(attempt.verified, true);
    assert.equal(attempt.trigger.source, 'gateway');
    assert.ok(
      attempt.trigger.metrics.latency_p99 > 500,
      `triggered at p99 ${attempt.trigger.metrics.latency_p99}`,
    );
    assert.deepEqual(
      attempt.actions.map((a: { type: string }) => a.type),
      ['restart-service', 'alert-oncall'],
    );
    assert.ok(
      !(await attempts(rebound)).some(
        (a) => a.policy === 'Moderate Latency' && a.startedAt < attempt.startedAt,
      ),
    );
    const triggered = () => bodies(pager).filter((body) => body.action === 'trigger');
    assert.deepEqual(triggered(), [], 'the page was held back: the healing worked');
    const incidents = JSON.stringify(await incidentsWithTimelines(rebound));
    assert.match(incidents, /page not sent \(healing worked\)/);

    // Its page was held back, so once the incident resolves a 'resolved' notification says so.
    await until(
      () => bodies(pager).some((body) => body.action === 'resolve'),
      'the resolved notification',
      20_000,
    );
    const resolved = bodies(pager).find((body) => body.action === 'resolve');
    assert.equal(resolved.service, 'web');
    assert.match(
      resolved.summary,
      /web recovered: healthy and quiet for 1000 ms \(\d+ pages? held back while it healed\)/,
    );
    assert.deepEqual(triggered(), [], 'still no page');
    const incident = (await incidentsWithTimelines(rebound)).find((i) => i.id === resolved.details.incident)!;
    assert.equal(incident.status, 'resolved');
    const kinds = new Set(incident.timeline.map((entry) => entry.kind));
    for (const kind of ['signal', 'decision', 'action', 'suppressed', 'notification'] as const) {
      assert.ok(kinds.has(kind), `a ${kind} entry on the timeline: ${[...kinds].join(', ')}`);
    }
    const mitigating = incident.timeline.find((entry) => entry.data.to === 'mitigating')!;
    assert.equal(mitigating.kind, 'decision');
    assert.equal(mitigating.data.policy, 'Critical Latency Spike');
  });

  it('skips a policy in cooldown for the next one, and refuses actions over the rate limit (then pages)', async () => {
    const pager = await startWebhookReceiver();
    cleanups.push(() => pager.close());
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  worker:
    command: node examples/demo/service.js
    replicas: { count: 1, min: 1, max: 5 }
    health: { http: { path: /health }, intervalMs: 200 }
    stopGraceMs: 2000
policies:
  - name: Resource Exhaustion
    when: [{ metric: cpu_util, op: gt, value: 0.9 }, { metric: memory_util, op: gt, value: 0.85 }]
    do: [scale-up]
    priority: 7
    cooldownMs: 600000
  - name: Resource Exhaustion Again
    when: [{ metric: cpu_util, op: gt, value: 0.9 }]
    do: [scale-up, scale-up]
    priority: 3
    cooldownMs: 600000
limits: { actionsPerMinute: 2, actionsPerHour: 100 }
escalation: [{ webhook: { url: "http://127.0.0.1:${pager.port}/hook", format: generic } }]
incidents:
  severity: [{ when: [{ metric: memory_util, op: gt, value: 0.85 }], level: critical }]
`);
    await untilHealthy(rebound, 'worker');
    const hot = { service: 'worker', metrics: { cpu_util: 0.95, memory_util: 0.9 } };
    const cool = { service: 'worker', metrics: { cpu_util: 0.2, memory_util: 0.3 } };

    assert.equal((await rebound.api('/api/events', { body: hot })).status, 202);
    await until(
      async () => (await attempts(rebound)).some((a) => a.policy === 'Resource Exhaustion'),
      'the first policy ran',
    );
    await rebound.api('/api/events', { body: cool });
    await until(
      async () =>
        (await attempts(rebound)).some((a) => a.policy === 'Resource Exhaustion' && a.status === 'succeeded'),
      'verified',
    );
    assert.equal((await rebound.api('/api/services/worker')).body.replicas.length, 2);

    // The first policy is in cooldown: the next matching one runs; its second action is the third
    // in a minute, over the limit: not run, the attempt fails and a human is paged.
    await rebound.api('/api/events', { body: hot });
    await until(
      async () =>
        (await attempts(rebound)).some(
          (a) => a.policy === 'Resource Exhaustion Again' && a.status !== 'running',
        ),
      'the second policy ran',
      15_000,
    );
    const second = (await attempts(rebound)).find((a) => a.policy === 'Resource Exhaustion Again');
    assert.deepEqual(
      second.actions.map((a: { status: string }) => a.status),
      ['succeeded', 'skipped'],
    );
    assert.match(second.actions[1].message, /rate limit/);
    assert.ok(['failed', 'escalated'].includes(second.status));
    await pager.waitFor(1);
    // The page says what was already tried on the incident, so that nobody repeats it.
    const [page] = bodies(pager);
    assert.match(page.summary, /worker: automatic healing failed .*; already tried: /);
    assert.ok(
      page.tried.some((line: string) =>
        /^policy "Resource Exhaustion Again" \(scale-up succeeded, scale-up skipped\): (failed|escalated)/.test(
          line,
        ),
      ),
      JSON.stringify(page.tried),
    );
    assert.ok(
      page.details.attempts.some((a: { policy: string }) => a.policy === 'Resource Exhaustion'),
      'the first attempt on the same incident is listed too',
    );
    // A policy that matched brings 'high'; the severity rule on memory_util makes it critical.
    const [incident] = (await rebound.api('/api/incidents')).body.incidents;
    assert.equal(incident.service, 'worker');
    assert.equal(incident.severity, 'critical');

    // Both in cooldown now: nothing more runs, however hot it gets.
    const count = (await attempts(rebound)).filter((a) => a.source === 'policy').length;
    await rebound.api('/api/events', { body: hot });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await attempts(rebound)).filter((a) => a.source === 'policy').length, count);
    assert.equal((await rebound.api('/api/services/worker')).body.replicas.length, 3);
  });

  it('declares a crash-looping service critical and pages in PagerDuty Events API v2 form', async () => {
    const pagerduty = await startWebhookReceiver();
    cleanups.push(() => pagerduty.close());
    const rebound = await reboundUp(
      `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  crashy:
    command: node -e "setTimeout(() => process.exit(3), 50)"
    health: { tcp: {}, intervalMs: 200 }
    restart: { backoff: { initialMs: 20, factor: 2, maxMs: 200 }, maxRestarts: 3, windowMs: 60000 }
policies: []
escalation: [{ webhook: { url: "http://127.0.0.1:${pagerduty.port}/v2/enqueue", format: pagerduty, routingKey: "\${TEST_ROUTING_KEY}" } }]
`.replace('${TEST_ROUTING_KEY}', 'R0UT1NGKEY0123456789012345678901'),
    );
    await until(
      async () => (await rebound.api('/api/services/crashy')).body.state === 'critical',
      'crashy critical',
      20_000,
    );
    await pagerduty.waitFor(1);
    assert.equal(pagerduty.received[0]!.path, '/v2/enqueue');
    const [body] = bodies(pagerduty);
    assert.equal(body.routing_key, 'R0UT1NGKEY0123456789012345678901');
    assert.equal(body.event_action, 'trigger');
    assert.equal(typeof body.dedup_key, 'string');
    assert.equal(body.payload.severity, 'critical');
    assert.equal(body.payload.source, 'rebound/crashy');
    assert.match(body.payload.summary, /crashy is critical/);
    assert.ok(!rebound.output().includes('R0UT1NGKEY'), 'the routing key is never logged');
    const services = JSON.stringify((await rebound.api('/api/services')).body);
    assert.ok(!services.includes('R0UT1NGKEY'));
  });
});

describe('rebound up: real peers', () => {
  it('takes alerts from a real Prometheus Alertmanager and heals by them', async () => {
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    replicas: { count: 1, min: 1, max: 3 }
    health: { http: { path: /health }, intervalMs: 200 }
    stopGraceMs: 2000
policies:
  - name: Alerted Latency
    when: [{ metric: "alert:HighLatency", op: eq, value: 1 }]
    do: [scale-up]
    priority: 5
`);
    const directory = mkdtempSync(join(tmpdir(), 'rebound-alertmanager-'));
    const port = await freePort();
    writeFileSync(
      join(directory, 'alertmanager.yml'),
      `route: { receiver: rebound, group_wait: 0s, group_interval: 1s, repeat_interval: 1h }
receivers:
  - name: rebound
    webhook_configs: [{ url: "${rebound.url}/api/alerts/alertmanager", send_resolved: true }]
`,
    );
    const alertmanager = spawn(
      'prometheus-alertmanager',
      [
        `--config.file=${join(directory, 'alertmanager.yml')}`,
        `--storage.path=${directory}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: 'ignore' },
    );
    cleanups.push(() => {
      alertmanager.kill('SIGKILL');
      rmSync(directory, { recursive: true, force: true });
    });
    await until(
      () =>
        fetch(`http://127.0.0.1:${port}/-/ready`).then(
          (r) => r.ok,
          () => false,
        ),
      'alertmanager ready',
      15_000,
    );
    const posted = await fetch(`http://127.0.0.1:${port}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname: 'HighLatency', service: 'web', severity: 'high' },
          annotations: { summary: 'p99 above 500 ms' },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    assert.equal(posted.status, 200);
    await until(
      async () => (await attempts(rebound)).some((a) => a.policy === 'Alerted Latency'),
      'the alert healed by policy',
      20_000,
    );
    const attempt = (await attempts(rebound)).find((a) => a.policy === 'Alerted Latency');
    assert.equal(attempt.trigger.source, 'alertmanager');
    assert.match(
      JSON.stringify(await incidentsWithTimelines(rebound)),
      /alert HighLatency firing: p99 above 500 ms/,
    );
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    const gatewayPort = await freePort();
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:${web(gatewayPort)}
policies: []
`);
    await untilHealthy(rebound, 'web');
    for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${gatewayPort}/`).then((r) => r.arrayBuffer());
    const { status, body } = await rebound.api('/metrics');
    assert.equal(status, 200);
    assert.match(body, /rebound_gateway_latency_seconds\{[^}]*service="web"/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  });
});
