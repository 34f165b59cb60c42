// degrade(): every strategy, levels and weights, maxLevel, timeouts, and the last-good-value cache
// in memory and persisted in each store (memory, SQLite, PostgreSQL).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { manualClock, TimeoutError } from '../policies/index.ts';
import { deferred, forEachStore, until } from '../../test/support/storeTargets.ts';
import { clearDegradeCache, DEGRADATION_LEVELS, degrade, type DegradationLevel } from './degrade.ts';
import { DegradationExceededError } from './errors.ts';

/** A component (or alternate) that fails; typed to stand for one of any value type. */
function down<T = unknown>(message = 'down'): () => Promise<T> {
  const error = new Error(message);
  return () => Promise.reject(error);
}

/** A namespace of its own for each test: the in-memory cache outlives a degrade() call. */
function namespace(): string {
  return `test-${randomUUID()}`;
}

describe('degrade: strategies', () => {
  it('serves every live component at level full', async () => {
    const result = await degrade({
      components: {
        metrics: () => ({ cpu: 0.5 }),
        logs: async () => ['line'],
        alerts: () => Promise.resolve(0),
      },
    });
    assert.equal(result.level, 'full');
    assert.deepEqual(result.degraded, []);
    assert.deepEqual(result.components.metrics, { ok: true, value: { cpu: 0.5 }, source: 'live' });
    assert.deepEqual(result.components.logs, { ok: true, value: ['line'], source: 'live' });
    assert.deepEqual(result.components.alerts, { ok: true, value: 0, source: 'live' });
    assert.deepEqual(Object.keys(result.components), ['metrics', 'logs', 'alerts']);
  });

  it("'partial' (the default) leaves a failed component out", async () => {
    const failure = new Error('logs down');
    const result = await degrade({
      components: {
        metrics: () => 1,
        logs: () => {
          throw failure; // thrown synchronously, handled like a rejection
        },
      },
    });
    assert.deepEqual(result.components.logs, { ok: false, value: undefined, source: 'none', error: failure });
    assert.deepEqual(result.degraded, ['logs']);
    assert.equal(result.level, 'moderate');
  });

  it("'static' serves fallbacks[name]", async () => {
    const result = await degrade({
      components: { metrics: () => 1, alerts: down('alerts down') },
      strategy: 'static',
      fallbacks: { alerts: [] as number[] },
    });
    assert.equal(result.components.alerts.ok, true);
    assert.equal(result.components.alerts.source, 'static');
    assert.deepEqual(result.components.alerts.value, []);
    assert.match(String(result.components.alerts.error), /alerts down/);
    assert.equal(result.components.metrics.source, 'live');
    assert.deepEqual(result.degraded, ['alerts']);
    // Chosen for all, 'static' leaves out a component that has no fallback.
    const without = await degrade({ components: { logs: down() }, strategy: 'static', fallbacks: {} });
    assert.equal(without.components.logs.source, 'none');
    // An undefined fallback is a fallback.
    const undefinedFallback = await degrade({
      components: { logs: down() },
      strategy: { logs: 'static' },
      fallbacks: { logs: undefined },
    });
    assert.deepEqual(
      { ...undefinedFallback.components.logs, error: null },
      { ok: true, value: undefined, source: 'static', error: null },
    );
  });

  it("'alternate' calls alternates[name], and leaves the component out if that fails too", async () => {
    let signalSeen: AbortSignal | undefined;
    const result = await degrade({
      components: { metrics: down('primary down'), logs: down('logs down') },
      strategy: 'alternate',
      alternates: {
        metrics: async ({ name, signal }) => {
          signalSeen = signal;
          return `${name} from replica`;
        },
        logs: down('replica down too'),
      },
    });
    assert.deepEqual(
      { ...result.components.metrics, error: undefined },
      { ok: true, value: 'metrics from replica', source: 'alternate', error: undefined },
    );
    assert.ok(signalSeen instanceof AbortSignal);
    assert.equal(result.components.logs.ok, false);
    assert.equal(result.components.logs.source, 'none');
    assert.match(String(result.components.logs.error), /logs down/);
    assert.equal(result.level, 'minimal');
  });

  it("'cache' serves the last good value, a copy, with when it was stored", async () => {
    const clock = manualClock(5_000);
    const cache = { namespace: namespace() };
    const live = { cpu: 0.5, hosts: ['a'] };
    const first = await degrade({ components: { metrics: () => live }, strategy: 'cache', cache, clock });
    assert.equal(first.components.metrics.source, 'live');
    live.hosts.push('mutated after the call');
    clock.advance(1_000);
    const second = await degrade({ components: { metrics: down() }, strategy: 'cache', cache, clock });
    assert.deepEqual(second.components.metrics.value, { cpu: 0.5, hosts: ['a'] });
    assert.equal(second.components.metrics.source, 'cache');
    assert.equal(second.components.metrics.ok, true);
    assert.equal(second.components.metrics.cachedAt, 5_000);
    assert.match(String(second.components.metrics.error), /down/);
    assert.deepEqual(second.degraded, ['metrics']);
    assert.equal(second.level, 'minimal');
  });

  it("'cache' with nothing cached leaves the component out", async () => {
    const result = await degrade({
      components: { metrics: down() },
      strategy: 'cache',
      cache: { namespace: namespace() },
    });
    assert.equal(result.components.metrics.source, 'none');
    assert.equal(result.components.metrics.ok, false);
    assert.equal(result.level, 'failed');
  });

  it('refreshes the cache with every live value, and caches undefined too', async () => {
    const cache = { namespace: namespace() };
    const strategy = { metrics: 'cache', state: 'cache' } as const;
    await degrade({ components: { metrics: () => 1, state: () => 'a' }, strategy, cache });
    await degrade({ components: { metrics: () => 2, state: () => undefined }, strategy, cache });
    const result = await degrade({ components: { metrics: down(), state: down() }, strategy, cache });
    assert.equal(result.components.metrics.value, 2);
    assert.equal(result.components.state.value, undefined);
    assert.equal(result.components.state.source, 'cache');
    assert.equal(result.components.state.ok, true);
  });

  it("'fail-fast' rejects with the component's own error at once, cancelling the others", async () => {
    const failure = new Error('database down');
    let slowSignal: AbortSignal | undefined;
    const never = deferred<number>();
    await assert.rejects(
      degrade({
        components: {
          slow: ({ signal }) => {
            slowSignal = signal;
            return never.promise;
          },
          database: () => Promise.reject(failure),
        },
        strategy: { database: 'fail-fast' },
      }),
      (error) => error === failure,
    );
    assert.equal(slowSignal?.aborted, true);
  });

  it("applies per-component strategies, 'partial' for names left out", async () => {
    const result = await degrade({
      components: { a: down(), b: down(), c: down(), d: () => 'live' },
      strategy: { a: 'static', b: 'alternate' },
      fallbacks: { a: 'A' },
      alternates: { b: () => 'B' },
    });
    assert.deepEqual(
      Object.values(result.components).map((c) => [c.source, c.value]),
      [
        ['static', 'A'],
        ['alternate', 'B'],
        ['none', undefined],
        ['live', 'live'],
      ],
    );
    assert.deepEqual(result.degraded, ['a', 'b', 'c']);
  });

  it('runs every component concurrently', async () => {
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    let started = 0;
    const components = Object.fromEntries(
      gates.map((gate, index) => [
        `c${index}`,
        () => {
          started++;
          return gate.promise;
        },
      ]),
    );
    const result = degrade({ components });
    await until(() => started === 3, 'all three started');
    gates.forEach((gate, index) => gate.resolve(index));
    assert.equal((await result).level, 'full');
  });
});

describe('degrade: levels and weights', () => {
  /** The level with the first `live` of `count` components (weight 1 each) up, the rest down. */
  async function levelWith(live: number, count: number, substitutes = false): Promise<DegradationLevel> {
    const components = Object.fromEntries(
      Array.from({ length: count }, (_, index) => [`c${index}`, index < live ? () => index : down()]),
    );
    const fallbacks = Object.fromEntries(Object.keys(components).map((name) => [name, 'stale']));
    const result = await degrade(
      substitutes ? { components, strategy: 'static', fallbacks } : { components },
    );
    return result.level;
  }

  it('grades the share served live: full, slight >= 75 %, moderate >= 50 %, minimal, failed', async () => {
    assert.equal(await levelWith(4, 4), 'full');
    assert.equal(await levelWith(3, 4), 'slight');
    assert.equal(await levelWith(2, 4), 'moderate');
    assert.equal(await levelWith(1, 4), 'minimal');
    assert.equal(await levelWith(0, 4), 'failed');
    assert.equal(await levelWith(2, 3), 'moderate');
    assert.equal(await levelWith(1, 3), 'minimal');
    assert.equal(await levelWith(4, 5), 'slight');
    assert.equal(await levelWith(7, 10), 'moderate');
  });

  it('counts substitutes as usable but not as live: never failed, never better than live allows', async () => {
    assert.equal(await levelWith(0, 4, true), 'minimal');
    assert.equal(await levelWith(3, 4, true), 'slight');
  });

  it('weighs components', async () => {
    const components = { core: () => 1, extra: down(), other: down() };
    assert.equal((await degrade({ components, weights: { core: 3 } })).level, 'moderate');
    assert.equal((await degrade({ components, weights: { core: 6 } })).level, 'slight');
    assert.equal((await degrade({ components, weights: { core: 0.5 } })).level, 'minimal');
    // Weight 0: the component does not count for the level, though it is still reported degraded.
    const ignored = await degrade({ components, weights: { extra: 0, other: 0 } });
    assert.equal(ignored.level, 'full');
    assert.deepEqual(ignored.degraded, ['extra', 'other']);
    // Fractional weights that add up with rounding errors still reach their threshold.
    const fractional = await degrade({
      components: { a: () => 1, b: () => 1, c: () => 1, d: down() },
      weights: { a: 0.1, b: 0.2, c: 0.45, d: 0.25 },
    });
    assert.equal(fractional.level, 'slight');
  });

  it('is full with no components', async () => {
    const result = await degrade({ components: {} });
    assert.deepEqual(result, { level: 'full', components: {}, degraded: [] });
  });

  it('rejects beyond maxLevel with DegradationExceededError naming the failed components', async () => {
    const components = { metrics: () => 1, logs: down(), alerts: down() };
    await assert.rejects(degrade({ components, maxLevel: 'moderate' }), (error: unknown) => {
      assert.ok(error instanceof DegradationExceededError);
      assert.equal(error.code, 'DEGRADATION_EXCEEDED');
      assert.equal(error.level, 'minimal');
      assert.equal(error.maxLevel, 'moderate');
      assert.deepEqual(error.failed, ['logs', 'alerts']);
      assert.match(error.message, /logs, alerts/);
      return true;
    });
    assert.equal((await degrade({ components, maxLevel: 'minimal' })).level, 'minimal');
    assert.equal((await degrade({ components: { a: () => 1 }, maxLevel: 'full' })).level, 'full');
    await assert.rejects(
      degrade({ components: { a: down() }, maxLevel: 'minimal' }),
      DegradationExceededError,
    );
    assert.deepEqual(DEGRADATION_LEVELS, ['full', 'slight', 'moderate', 'minimal', 'failed']);
  });
});

describe('degrade: time and cancellation', () => {
  it('gives up on a live call after timeoutMs, aborting its signal, and serves the strategy', async () => {
    const clock = manualClock();
    let signal: AbortSignal | undefined;
    const pending = degrade({
      components: {
        metrics: (ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
        logs: () => 'fast',
      },
      strategy: { metrics: 'static' },
      fallbacks: { metrics: 'placeholder' },
      timeoutMs: 1_000,
      clock,
    });
    await clock.tickAsync(999);
    assert.equal(signal?.aborted, false);
    await clock.tickAsync(1);
    const result = await pending;
    assert.equal(signal?.aborted, true);
    assert.equal(result.components.metrics.source, 'static');
    assert.equal(result.components.metrics.value, 'placeholder');
    assert.ok(result.components.metrics.error instanceof TimeoutError);
    assert.equal(result.components.logs.source, 'live');
    assert.equal(clock.pendingTimers, 0);
  });

  it('bounds an alternate by timeoutMs too', async () => {
    const clock = manualClock();
    const pending = degrade({
      components: { metrics: down() },
      strategy: 'alternate',
      alternates: { metrics: () => new Promise(() => {}) },
      timeoutMs: 500,
      clock,
    });
    await clock.tickAsync(500);
    const result = await pending;
    assert.equal(result.components.metrics.source, 'none');
    assert.equal(result.level, 'failed');
  });

  it("rejects with the caller's abort reason and aborts the components", async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const pending = degrade({
      components: {
        metrics: (ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
      },
      signal: controller.signal,
    });
    const reason = new Error('caller gone');
    controller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
    assert.equal(signal?.aborted, true);
    await assert.rejects(
      degrade({ components: { a: () => 1 }, signal: controller.signal }),
      (e) => e === reason,
    );
  });

  it('does not serve a cached value older than cache.ttlMs', async () => {
    const clock = manualClock();
    const cache = { namespace: namespace(), ttlMs: 10_000 };
    await degrade({ components: { metrics: () => 'fresh' }, strategy: 'cache', cache, clock });
    clock.advance(9_999);
    const young = await degrade({ components: { metrics: down() }, strategy: 'cache', cache, clock });
    assert.equal(young.components.metrics.value, 'fresh');
    clock.advance(1);
    const old = await degrade({ components: { metrics: down() }, strategy: 'cache', cache, clock });
    assert.equal(old.components.metrics.source, 'none');
  });
});

describe('degrade: options', () => {
  it('reports every invalid option at once, with its path', async () => {
    await assert.rejects(
      degrade({
        components: { a: () => 1, b: () => 2, c: 'not a function' as never },
        strategy: { a: 'static', b: 'alternate', z: 'cache' } as never,
        alternates: { c: 'not a function' } as never,
        weights: { a: -1 },
        maxLevel: 'worst' as never,
        timeoutMs: 0,
        cache: { ttlMs: -5, namespace: '' },
      }),
      (error: unknown) => {
        assert.equal((error as { code: string }).code, 'INVALID_OPTIONS');
        const problems = (error as { problems: string[] }).problems;
        for (const expected of [
          'degrade.components.c must be a function',
          'degrade.strategy.z names no component',
          'degrade.fallbacks.a is needed',
          'degrade.alternates.b is needed',
          'degrade.alternates.c must be a function',
          'degrade.weights.a must be a finite number >= 0',
          'degrade.maxLevel must be one of',
          'degrade.timeoutMs must be a finite number > 0',
          'degrade.cache.ttlMs must be a number > 0',
          'degrade.cache.namespace must be a non-empty string',
        ]) {
          assert.ok(
            problems.some((p) => p.startsWith(expected)),
            `${expected} in:\n${problems.join('\n')}`,
          );
        }
        return true;
      },
    );
    await assert.rejects(
      degrade({ components: { a: () => 1 }, strategy: 'retry' as never }),
      /degrade.strategy/,
    );
    await assert.rejects(degrade({ components: { a: () => 1 }, weights: { a: 0 } }), /must not all be 0/);
    await assert.rejects(
      degrade({ components: { a: () => 1 }, cache: { store: {} as never } }),
      /must be a Store/,
    );
  });
});

forEachStore((target) => {
  describe(`degrade cache on ${target.label}`, () => {
    it('persists last good values in the store and serves them after a restart', async () => {
      const stores = await target.open();
      const clock = manualClock(1_000);
      const cache = { store: stores.store, namespace: namespace() };
      try {
        await degrade({
          components: { metrics: () => ({ cpu: 0.9 }), logs: () => 'not cached: partial' },
          strategy: { metrics: 'cache' },
          cache,
          clock,
        });
        const entry = await stores.store.kv.get(cache.namespace, 'metrics');
        assert.deepEqual(entry, { key: 'metrics', value: '{"cpu":0.9}', updatedAt: 1_000 });
        assert.equal(await stores.store.kv.get(cache.namespace, 'logs'), undefined);

        // A second call with the same store.
        clock.advance(500);
        const again = await degrade({ components: { metrics: down() }, strategy: 'cache', cache, clock });
        assert.deepEqual(again.components.metrics.value, { cpu: 0.9 });
        assert.equal(again.components.metrics.cachedAt, 1_000);

        // A restart: this process's memory is gone, the store is all that is left.
        await clearDegradeCache({ store: stores.store, namespace: cache.namespace });
        const restarted = await degrade({ components: { metrics: down() }, strategy: 'cache', cache, clock });
        assert.deepEqual(restarted.components.metrics.value, { cpu: 0.9 });
        assert.equal(restarted.components.metrics.source, 'cache');

        // Another process (a second connection to the same data) sees it too.
        const elsewhere = await degrade({
          components: { metrics: down() },
          strategy: 'cache',
          cache: { ...cache, store: stores.other },
          clock,
        });
        assert.deepEqual(elsewhere.components.metrics.value, { cpu: 0.9 });
      } finally {
        await stores.close();
      }
    });

    it('serves the newest value another process stored, and respects ttlMs on stored values', async () => {
      const stores = await target.open();
      const clock = manualClock(1_000);
      const namespaceName = namespace();
      const here = { store: stores.store, namespace: namespaceName, ttlMs: 60_000 };
      const there = { store: stores.other, namespace: namespaceName, ttlMs: 60_000 };
      try {
        await degrade({ components: { metrics: () => 'old' }, strategy: 'cache', cache: here, clock });
        clock.advance(10_000);
        await degrade({ components: { metrics: () => 'new' }, strategy: 'cache', cache: there, clock });
        const served = await degrade({
          components: { metrics: down() },
          strategy: 'cache',
          cache: here,
          clock,
        });
        assert.equal(served.components.metrics.value, 'new');
        assert.equal(served.components.metrics.cachedAt, 11_000);
        clock.advance(60_000);
        const stale = await degrade({
          components: { metrics: down() },
          strategy: 'cache',
          cache: here,
          clock,
        });
        assert.equal(stale.components.metrics.source, 'none');
      } finally {
        await stores.close();
      }
    });

    it('forgets persisted values on clearDegradeCache({ persisted: true })', async () => {
      const stores = await target.open();
      const cache = { store: stores.store, namespace: namespace() };
      try {
        await degrade({ components: { a: () => 1, b: () => 2 }, strategy: 'cache', cache });
        assert.equal((await stores.store.kv.list(cache.namespace)).length, 2);
        await clearDegradeCache({ ...cache, persisted: true });
        assert.deepEqual(await stores.store.kv.list(cache.namespace), []);
        const result = await degrade({ components: { a: down() }, strategy: 'cache', cache });
        assert.equal(result.components.a.source, 'none');
      } finally {
        await stores.close();
      }
    });

    it('keeps serving from memory when the store fails', async () => {
      const stores = await target.open();
      const cache = { store: stores.store, namespace: namespace() };
      try {
        await degrade({ components: { metrics: () => 'kept' }, strategy: 'cache', cache });
        // The same store object, its reads now failing.
        const kv = stores.store.kv as unknown as Record<string, unknown>;
        const own = Object.getOwnPropertyDescriptor(kv, 'get');
        kv.get = () => Promise.reject(new Error('store unreachable'));
        try {
          const result = await degrade({ components: { metrics: down() }, strategy: 'cache', cache });
          assert.equal(result.components.metrics.value, 'kept');
          assert.equal(result.components.metrics.source, 'cache');
        } finally {
          if (own) Object.defineProperty(kv, 'get', own);
          else delete kv.get;
        }
      } finally {
        await stores.close();
      }
    });
  });
});
