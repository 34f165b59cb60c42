import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BreakerRegistry, type BreakerRegistryStateChangeEvent } from './breakerRegistry.ts';
import { CIRCUIT_BREAKER_DEFAULTS, type CircuitBreaker } from './circuitBreaker.ts';
import { manualClock } from './clock.ts';
import { BrokenCircuitError, InvalidOptionsError } from './errors.ts';

async function failTimes(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await breaker.execute(() => Promise.reject(new Error('boom'))).catch(() => {});
  }
}

async function succeedTimes(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await breaker.execute(() => 'ok');
}

describe('BreakerRegistry', () => {
  it('creates a breaker on first use with its kind options, and returns the same one after', async () => {
    const clock = manualClock();
    const registry = new BreakerRegistry({ clock });
    registry.configure('worker', { trip: { kind: 'consecutive', failures: 2 }, openMs: 5_000 });
    const worker = registry.get('worker', 'worker1');
    assert.equal(registry.get('worker', 'worker1'), worker);
    assert.notEqual(registry.get('worker', 'worker2'), worker);
    assert.equal(worker.name, 'worker:worker1');
    await failTimes(worker, 2);
    assert.equal(worker.state, 'open');
    clock.advance(1_000);
    const error = await worker.execute(() => 'never').catch((e: unknown) => e);
    assert.ok(error instanceof BrokenCircuitError);
    assert.equal(error.circuit, 'worker:worker1');
    assert.equal(error.retryAfterMs, 4_000, 'the registry clock and the kind openMs apply');
  });

  it('gives unconfigured kinds the defaults (the registry defaults when given)', async () => {
    const plain = new BreakerRegistry().get('endpoint', '/search');
    await failTimes(plain, 4);
    assert.equal(plain.state, 'closed');
    await failTimes(plain, 1);
    assert.equal(plain.state, 'open');
    assert.equal(plain.stats().retryAfterMs > CIRCUIT_BREAKER_DEFAULTS.openMs - 1_000, true);

    const registry = new BreakerRegistry({ defaults: { trip: { kind: 'consecutive', failures: 1 } } });
    const task = registry.get('task-type', 'render');
    await failTimes(task, 1);
    assert.equal(task.state, 'open');
  });

  it('configure() validates at once, naming the kind, and affects breakers created afterwards', async () => {
    const registry = new BreakerRegistry({ clock: manualClock() });
    assert.throws(
      () => registry.configure('hardware', { openMs: -5, trip: { kind: 'consecutive', failures: 0 } }),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        error.problems.includes("breakerRegistry.configure('hardware').openMs must be >= 0, got -5") &&
        error.problems.includes("breakerRegistry.configure('hardware').trip.failures must be >= 1, got 0"),
    );
    const before = registry.get('hardware', 'gpu-a100');
    registry.configure('hardware', { openMs: 1_000 });
    const after = registry.get('hardware', 'gpu-h100');
    await failTimes(before, 5);
    await failTimes(after, 5);
    assert.equal(before.stats().retryAfterMs, 60_000, 'an existing breaker keeps its options');
    assert.equal(after.stats().retryAfterMs, 1_000);
  });

  it('list() gives kind, name and breaker for every circuit', () => {
    const registry = new BreakerRegistry();
    const a = registry.get('worker', 'w1');
    const b = registry.get('worker', 'w2');
    const c = registry.get('endpoint', '/api');
    assert.deepEqual(registry.list(), [
      { kind: 'worker', name: 'w1', breaker: a },
      { kind: 'worker', name: 'w2', breaker: b },
      { kind: 'endpoint', name: '/api', breaker: c },
    ]);
    assert.equal(registry.has('worker', 'w1'), true);
    assert.equal(registry.has('worker', 'w3'), false);
  });

  it('reset() resets everything, a kind, or one breaker, and never creates one', async () => {
    const registry = new BreakerRegistry({ defaults: { trip: { kind: 'consecutive', failures: 1 } } });
    const w1 = registry.get('worker', 'w1');
    const w2 = registry.get('worker', 'w2');
    const gpu = registry.get('hardware', 'gpu');
    const open = () => [w1.state, w2.state, gpu.state];
    const tripAll = async () => {
      for (const breaker of [w1, w2, gpu]) await failTimes(breaker, 1);
    };
    await tripAll();
    registry.reset('worker', 'w2');
    assert.deepEqual(open(), ['open', 'closed', 'open']);
    registry.reset('worker');
    assert.deepEqual(open(), ['closed', 'closed', 'open']);
    await tripAll();
    registry.reset();
    assert.deepEqual(open(), ['closed', 'closed', 'closed']);
    registry.reset('worker', 'missing');
    registry.reset('nothing');
    assert.equal(registry.list().length, 3);
  });

  it('health() reports every circuit and an aggregate that falls as circuits open', async () => {
    const clock = manualClock();
    const registry = new BreakerRegistry({ clock });
    registry.configure('worker', { trip: { kind: 'consecutive', failures: 2 }, openMs: 60_000 });
    assert.deepEqual(registry.health(), {
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
    const w1 = registry.get('worker', 'worker1');
    const w2 = registry.get('worker', 'worker2');
    const gpu = registry.get('hardware', 'gpu');
    await succeedTimes(w1, 2);
    await succeedTimes(w2, 2);
    await failTimes(w2, 2); // open, health 50
    gpu.isolate();
    clock.advance(10_000);
    const health = registry.health();
    assert.deepEqual(health.kinds, {
      worker: {
        worker1: {
          state: 'closed',
          healthPercent: 100,
          totalSuccesses: 2,
          totalFailures: 0,
          tripCount: 0,
          retryAfterMs: 0,
        },
        worker2: {
          state: 'open',
          healthPercent: 50,
          totalSuccesses: 2,
          totalFailures: 2,
          tripCount: 1,
          retryAfterMs: 50_000,
        },
      },
      hardware: {
        gpu: {
          state: 'isolated',
          healthPercent: 100,
          totalSuccesses: 0,
          totalFailures: 0,
          tripCount: 0,
          retryAfterMs: 0,
        },
      },
    });
    assert.deepEqual(health.aggregate, {
      totalCircuits: 3,
      openCircuits: 1,
      halfOpenCircuits: 0,
      closedCircuits: 1,
      isolatedCircuits: 1,
      averageHealth: 250 / 3,
      overallHealth: (250 / 3) * (1 / 3),
    });
    registry.reset();
    assert.equal(registry.health().aggregate.overallHealth, 100);
  });

  it('counts a half-open circuit as half available', async () => {
    const clock = manualClock();
    const registry = new BreakerRegistry({
      clock,
      defaults: { trip: { kind: 'consecutive', failures: 1 }, openMs: 10 },
    });
    const probe = registry.get('endpoint', 'probe');
    registry.get('endpoint', 'healthy');
    await failTimes(probe, 1);
    clock.advance(10);
    const trial = probe.execute(() => new Promise<string>(() => {}));
    void trial;
    const { aggregate } = registry.health();
    assert.equal(aggregate.halfOpenCircuits, 1);
    assert.equal(aggregate.averageHealth, 50);
    assert.equal(aggregate.overallHealth, 50 * 0.75);
  });

  it('forwards every breaker state change with its kind and name, until unsubscribed', async () => {
    const clock = manualClock(500);
    const registry = new BreakerRegistry({ clock, defaults: { trip: { kind: 'consecutive', failures: 1 } } });
    const events: BreakerRegistryStateChangeEvent[] = [];
    const off = registry.onStateChange((event) => events.push(event));
    await failTimes(registry.get('worker', 'w1'), 1);
    registry.get('hardware', 'tpu').isolate();
    off();
    registry.reset();
    assert.deepEqual(events, [
      { kind: 'worker', name: 'w1', from: 'closed', to: 'open', reason: 'consecutive-failures', at: 500 },
      { kind: 'hardware', name: 'tpu', from: 'closed', to: 'isolated', reason: 'isolated', at: 500 },
    ]);
  });
});
