// BreakerRegistry: breakers by kind and name, each kind with its own options, one health report,
// one stream of state changes, and resets by kind or name.

import assert from 'node:assert/strict';
import { BreakerRegistry, InvalidOptionsError, manualClock } from 'rebound';

const clock = manualClock();
const registry = new BreakerRegistry({
  clock,
  defaults: { trip: { kind: 'consecutive', failures: 10 } }, // for kinds never configured
});
registry
  .configure('worker', { trip: { kind: 'consecutive', failures: 2 }, openMs: 60_000 })
  .configure('endpoint', { trip: { kind: 'count', size: 20, minimumCalls: 10, failureRate: 0.5 } });

const changes: string[] = [];
registry.onStateChange(({ kind, name, from, to, reason }) =>
  changes.push(`${kind}/${name}: ${from} -> ${to} (${reason})`),
);

const worker1 = registry.get('worker', 'worker1'); // created on first use
const worker2 = registry.get('worker', 'worker2');
const checkout = registry.get('endpoint', 'POST /checkout');
const gpu = registry.get('hardware', 'gpu0'); // an unconfigured kind: the registry's defaults
assert.equal(registry.get('worker', 'worker1'), worker1); // the same breaker every time
assert.equal(worker1.name, 'worker:worker1'); // what its errors carry in `circuit`
assert.ok(registry.has('hardware', 'gpu0') && !registry.has('hardware', 'gpu1'));

const fail = () => {
  throw new Error('failed');
};
const run = async (breaker: typeof worker1, outcomes: string) => {
  for (const outcome of outcomes) await breaker.execute(outcome === 'x' ? fail : () => 'ok').catch(() => {});
};
await run(worker1, 'xx'); // 2 failures in a row: open
await run(worker2, 'vx'); // closed, 50% healthy
await run(checkout, 'vvvx'); // closed, 75% healthy
await run(gpu, 'v'); // closed, 100% healthy
assert.deepEqual(changes, ['worker/worker1: closed -> open (consecutive-failures)']);

const health = registry.health();
assert.deepEqual(health.aggregate, {
  totalCircuits: 4,
  openCircuits: 1,
  halfOpenCircuits: 0,
  closedCircuits: 3,
  isolatedCircuits: 0,
  averageHealth: (0 + 50 + 75 + 100) / 4, // mean healthPercent: 56.25
  overallHealth: 56.25 * (3 / 4), // × (closed + 0.5 × half-open) / total: 42.1875
});
assert.deepEqual(health.kinds.worker?.worker1, {
  state: 'open',
  healthPercent: 0,
  totalSuccesses: 0,
  totalFailures: 2,
  tripCount: 1,
  retryAfterMs: 60_000,
});
console.log('aggregate:', health.aggregate);
console.log('worker1:', health.kinds.worker?.worker1);

assert.deepEqual(
  registry.list().map(({ kind, name }) => `${kind}/${name}`),
  ['worker/worker1', 'worker/worker2', 'endpoint/POST /checkout', 'hardware/gpu0'],
);

// reset(kind, name) one breaker; reset(kind) a kind; reset(undefined, name) that name in every
// kind; reset() every breaker. A reset breaker is closed with clean statistics.
registry.reset('worker', 'worker1');
assert.equal(worker1.state, 'closed');
assert.equal(worker1.stats().failures, 0);
assert.equal(changes.at(-1), 'worker/worker1: open -> closed (reset)');
registry.reset();
assert.equal(registry.health().aggregate.averageHealth, 100);

// Options are validated when configured, with every problem and its path.
assert.throws(
  () => registry.configure('queue', { openMs: -1, halfOpen: { maxCalls: 0 } }),
  (error) =>
    error instanceof InvalidOptionsError &&
    error.problems.includes("breakerRegistry.configure('queue').openMs must be >= 0, got -1") &&
    error.problems.includes("breakerRegistry.configure('queue').halfOpen.maxCalls must be >= 1, got 0"),
);
console.log('reset and validation behave as documented');
