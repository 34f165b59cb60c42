// The control plane in one process: two replicas of the demo service behind a gateway, one of them
// killed with SIGKILL while requests flow, replaced at once by the supervisor with no failed
// request, the restart on the healing log, and the same seen through the HTTP API.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseConfig, startControlPlane } from 'rebound/healing';
import { startApiServer } from 'rebound/server';
import { openStore } from 'rebound/store';

const service = join(import.meta.dirname, '..', 'demo', 'service.js');
const config = parseConfig(
  `
services:
  payment-api:
    command: '"${process.execPath}" "${service}"'  # run directly, never through a shell
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: 0 }                  # 0: a free port, read back from the service's view
    health:
      http: { path: /health, timeoutMs: 500 }
      intervalMs: 200                     # fast probes for the example (default 10 s)
      failureThreshold: 2
`,
  { source: 'example.yaml' },
);

const lines: string[] = [];
const store = await openStore('memory:'); // a store you pass in stays yours to close
const plane = await startControlPlane({
  config,
  store,
  log: (line) => lines.push(line), // replica output, prefixed [payment-api/r1], and rebound's notes
});
const server = await startApiServer({ controlPlane: plane, host: '127.0.0.1', port: 0, token: undefined });

try {
  // --- started: both replicas passed their first probe before startControlPlane resolved ---
  const before = plane.service('payment-api');
  assert.equal(before.state, 'healthy');
  assert.deepEqual(
    before.replicas.map((replica) => [replica.id, replica.state]),
    [
      ['r1', 'healthy'],
      ['r2', 'healthy'],
    ],
  );
  const gateway = `http://127.0.0.1:${before.gateway!.port}/`;
  console.log(`payment-api: ${before.replicas.length} healthy replicas behind ${gateway}`);

  // Steady traffic through the gateway while a replica dies.
  let ok = 0;
  let failed = 0;
  let flowing = true;
  const traffic = (async () => {
    while (flowing) {
      const response = await fetch(gateway).catch(() => undefined);
      await response?.arrayBuffer();
      if (response?.status === 200) ok++;
      else failed++;
    }
  })();

  // A replica that ran for at least a second is restarted at once (PM2's min_uptime); a quicker
  // failure would wait the backoff (restart.backoff.initialMs, doubling).
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const victim = before.replicas[0]!;
  process.kill(victim.pid!, 'SIGKILL');
  console.log(`kill -9 ${victim.pid} (replica ${victim.id})`);

  // --- the supervisor's own healing: an attempt with source 'supervisor' on the healing log ---
  let attempt;
  for (let waited = 0; waited < 5_000; waited += 20) {
    [attempt] = await plane.healing({ service: 'payment-api', limit: 1 });
    if (attempt?.status === 'succeeded') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(attempt);
  assert.equal(attempt.source, 'supervisor');
  assert.equal(attempt.status, 'succeeded');
  assert.equal(attempt.verified, true);
  assert.deepEqual(attempt.trigger.conditions, ['replica exited']);
  console.log(`healing log: [${attempt.source}] ${attempt.status}: ${attempt.outcome}`);
  console.log(`  ${attempt.actions[0]!.type}: ${attempt.actions[0]!.message}`);

  // Same id, new process: a crash restart keeps the replica (its restarts count goes up).
  const after = plane.service('payment-api');
  const replaced = after.replicas.find((replica) => replica.id === victim.id)!;
  assert.equal(replaced.state, 'healthy');
  assert.notEqual(replaced.pid, victim.pid);
  assert.equal(replaced.restarts, 1);
  console.log(`replica ${replaced.id}: pid ${victim.pid} -> ${replaced.pid}, restarts ${replaced.restarts}`);

  await new Promise((resolve) => setTimeout(resolve, 300));
  flowing = false;
  await traffic;
  // The request that met the dead replica was retried once on the other one.
  assert.equal(failed, 0);
  assert.ok(ok > 20, `only ${ok} requests went through`);
  console.log(`traffic during the kill: ${ok} requests answered 200, ${failed} failed`);

  // --- the same through the HTTP API (what `rebound status` and curl read) ---
  const view = (await (await fetch(`${server.url}/api/services/payment-api`)).json()) as {
    state: string;
    metrics: Record<string, number>;
  };
  assert.equal(view.state, 'healthy');
  assert.ok(view.metrics.requests! > 0);
  const stats = (await (await fetch(`${server.url}/api/healing/stats`)).json()) as {
    attempts: number;
    succeeded: number;
  };
  assert.deepEqual([stats.attempts, stats.succeeded], [1, 1]);
  console.log(
    `GET /api/services/payment-api: ${view.state}, p99 ${view.metrics.latency_p99!.toFixed(1)} ms over ${view.metrics.requests} requests`,
  );
  const unknown = await fetch(`${server.url}/api/services/nope`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'UNKNOWN_SERVICE');
  assert.ok(lines.some((line) => line.startsWith('[payment-api/r1] payment-api listening')));
} finally {
  await server.close();
  await plane.close(); // SIGTERM to every replica (SIGKILL after stopGraceMs), then the gateway
  await store.close();
}
console.log('closed: every replica stopped');
