// Reliability figures as a user gets them: a real `rebound up`, real traffic with known failures
// through a real gateway, then /api/reliability and /metrics; a restart on the same directory keeps
// the figures (the traffic minutes are in the store).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, reboundUp, type RunningRebound, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

/** A service that answers 500 on /fail and 200 everywhere else. */
const SERVICE = `import { createServer } from 'node:http';
createServer((request, response) => {
  const failed = request.url === '/fail';
  response.writeHead(failed ? 500 : 200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ ok: !failed }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

async function send(port: number, path: string, count: number, status: number): Promise<void> {
  for (let request = 0; request < count; request++) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    assert.equal(response.status, status, path);
    await response.arrayBuffer();
  }
}

async function webReliability(rebound: RunningRebound) {
  const answer = await rebound.api('/api/reliability');
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

describe('reliability figures against rebound up', () => {
  const directory = mkdtempSync(join(tmpdir(), 'rebound-reliability-'));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('counts the share of good responses over the SLO window, and keeps it across a restart', async () => {
    writeFileSync(join(directory, 'service.mjs'), SERVICE);
    const gatewayPort = await freePort();
    const config = `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node \${DIR}/service.mjs
    replicas: { count: 1, min: 1, max: 2 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
    slo: { target: 0.99, windowDays: 7 }
policies: []
`;
    const first = await reboundUp(config, { directory });
    await untilHealthy(first, 'web');
    // 36 good answers and 4 failed (10%: below the breaker's 50% trip rate, so all reach the service).
    await send(gatewayPort, '/', 36, 200);
    await send(gatewayPort, '/fail', 4, 500);

    // 40 responses, 4 failed: availability 1 − 4/40 = 0.9; budget against 0.99:
    // 1 − 0.1 / 0.01 = −9; burn rate over 1 h and 6 h: 0.1 / 0.01 = 10 (below 14.4, at least 6).
    let view = await webReliability(first);
    const web = view.services.web;
    assert.equal(web.requests, 40);
    assert.equal(web.errors, 4);
    assert.ok(Math.abs(web.availability - 0.9) < 1e-12, String(web.availability));
    assert.ok(Math.abs(web.errorBudgetRemaining + 9) < 1e-9, String(web.errorBudgetRemaining));
    assert.ok(Math.abs(web.burnRate['1h'] - 10) < 1e-9, String(web.burnRate['1h']));
    assert.ok(Math.abs(web.burnRate['6h'] - 10) < 1e-9, String(web.burnRate['6h']));
    // 10× is at least the slow alert's 6× over both 6 h and 30 min, below the fast one's 14.4×.
    assert.deepEqual(web.alerts, { fast: false, slow: true });
    assert.deepEqual(web.slo, { target: 0.99, windowDays: 7 });
    assert.equal(view.overall.requests, 40);
    assert.ok(Math.abs(view.overall.availability - 0.9) < 1e-12);

    const metrics = (await first.api('/metrics')).body as string;
    assert.match(metrics, /^rebound_slo_availability\{service="web"\} 0\.9$/m);
    const burn = /^rebound_slo_burn_rate\{service="web",window="1h"\} (\S+)$/m.exec(metrics);
    assert.ok(burn && Math.abs(Number(burn[1]) - 10) < 1e-9, burn?.[0]);

    // The control plane checks the alerts after each timed flush (every 10 s) and logs the new one.
    await until(
      () => first.output().includes('web: slow burn-rate alert firing'),
      'the slow burn-rate alert to be logged',
      15_000,
    );
    assert.ok(!first.output().includes('fast burn-rate alert'), first.output());

    assert.equal(await first.stop(), 0);

    // The same directory, so the same store: the 40 responses are still counted; 10 more good ones
    // make 50 with 4 failed: 1 − 4/50 = 0.92.
    const second = await reboundUp(config, { directory });
    await untilHealthy(second, 'web');
    view = await webReliability(second);
    assert.equal(view.services.web.requests, 40, 'kept across the restart');
    assert.equal(view.services.web.errors, 4);
    await send(gatewayPort, '/', 10, 200);
    view = await webReliability(second);
    assert.equal(view.services.web.requests, 50);
    assert.equal(view.services.web.errors, 4);
    assert.ok(Math.abs(view.services.web.availability - 0.92) < 1e-12);
    assert.equal(await second.stop(), 0);
  });
});
