// idempotency(): keys, stored results, concurrent duplicates, conflicts, failures, leases and expiry,
// on every store (memory, SQLite, PostgreSQL).

import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { manualClock, type ManualClock } from '../policies/index.ts';
import { openStore, type Store } from '../store/index.ts';
import {
  deferred,
  eventually,
  forEachStore,
  type OpenedStores,
  until,
} from '../../test/support/storeTargets.ts';
import { canonicalJson } from './canonicalJson.ts';
import {
  IdempotencyConflictError,
  IdempotencyInProgressError,
  isIdempotencyConflictError,
  isIdempotencyLeaseLostError,
} from './errors.ts';
import {
  IDEMPOTENCY_DEFAULTS,
  type IdempotencyContext,
  idempotency,
  type IdempotencyOptions,
} from './idempotency.ts';

const START = 1_700_000_000_000;

/** The store, with its idempotency reads counted. */
function countingReads(store: Store, reads: { count: number }): Store {
  const records = store.idempotency;
  return {
    kind: store.kind,
    url: store.url,
    schemaVersion: store.schemaVersion,
    workflows: store.workflows,
    records: store.records,
    kv: store.kv,
    close: () => store.close(),
    idempotency: {
      claim: (claim) => records.claim(claim),
      complete: (key, owner, result, expiresAt) => records.complete(key, owner, result, expiresAt),
      renew: (key, owner, leaseUntil) => records.renew(key, owner, leaseUntil),
      release: (key, owner) => records.release(key, owner),
      get: (key) => {
        reads.count++;
        return records.get(key);
      },
      purgeExpired: (now) => records.purgeExpired(now),
    },
  };
}

function uniqueName(label: string): string {
  return `${label}-${randomUUID()}`;
}

/** Shuffles an object's keys, recursively, keeping every value. */
function reordered(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((item) => reordered(item, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).sort(() => random() - 0.5);
  return Object.fromEntries(entries.map(([key, item]) => [key, reordered(item, random)]));
}

describe('idempotency: keyOf', async () => {
  const store = await openStore('memory:');
  const idem = idempotency(store);

  it('is the sha256 hex of the name, a newline and the canonical JSON of the params', () => {
    const params = { pod: 'payment', memory: '2Gi' };
    const expected = createHash('sha256')
      .update(`set_pod_memory\n{"memory":"2Gi","pod":"payment"}`)
      .digest('hex');
    assert.equal(idem.keyOf('set_pod_memory', params), expected);
    assert.match(expected, /^[0-9a-f]{64}$/);
  });

  it('does not depend on key order, at any depth', () => {
    const a = { pod: 'payment', limits: { memory: '2Gi', cpu: 2 }, tags: [{ b: 1, a: 2 }] };
    const b = { tags: [{ a: 2, b: 1 }], limits: { cpu: 2, memory: '2Gi' }, pod: 'payment' };
    assert.equal(idem.keyOf('scale', a), idem.keyOf('scale', b));
  });

  it('holds for any JSON value with its keys in any order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        let state = seed;
        const random = () => {
          state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
          return Math.abs(state) / 2_147_483_648;
        };
        assert.equal(idem.keyOf('action', reordered(value, random)), idem.keyOf('action', value));
      }),
    );
  });

  it('tells apart names, values, array orders and nesting', () => {
    const keys = new Set([
      idem.keyOf('a', { x: 1 }),
      idem.keyOf('b', { x: 1 }),
      idem.keyOf('a', { x: 2 }),
      idem.keyOf('a', { x: '1' }),
      idem.keyOf('a', { x: [1, 2] }),
      idem.keyOf('a', { x: [2, 1] }),
      idem.keyOf('a', { x: { y: 1 } }),
      idem.keyOf('a', { 'x.y': 1 }),
      idem.keyOf('a', {}),
      idem.keyOf('a'),
      // A newline in the name cannot be confused with the boundary: canonical JSON has none.
      idem.keyOf('a\n1', 2),
      idem.keyOf('a', '1\n2'),
    ]);
    assert.equal(keys.size, 12);
  });

  it('hashes absent params as JSON null', () => {
    assert.equal(idem.keyOf('a'), idem.keyOf('a', null));
    assert.equal(idem.keyOf('a', undefined), createHash('sha256').update('a\nnull').digest('hex'));
  });

  it('refuses params JSON cannot represent faithfully', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => idem.keyOf('a', cyclic), TypeError);
    assert.throws(() => idem.keyOf('a', { n: 1n }), TypeError);
    assert.throws(() => idem.keyOf('a', { m: new Map([[1, 2]]) }), TypeError);
  });
});

describe('canonicalJson', () => {
  it('matches JSON.stringify apart from the key order', () => {
    const date = new Date(0);
    assert.equal(
      canonicalJson({ b: [undefined, () => 1, Number.NaN], a: { d: undefined, c: date }, e: 'x\n' }),
      '{"a":{"c":"1970-01-01T00:00:00.000Z"},"b":[null,null,null],"e":"x\\n"}',
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('writes undefined at the top level as null, and shared (not circular) objects twice', () => {
    assert.equal(canonicalJson(undefined), 'null');
    const shared = { z: 1 };
    assert.equal(canonicalJson([shared, { shared }]), '[{"z":1},{"shared":{"z":1}}]');
  });
});

forEachStore((target) => {
  describe(`idempotency on ${target.label}`, () => {
    /** Runs `body` with two idempotency instances ("processes") on the same data, and a shared manual clock. */
    async function withInstances(
      options: IdempotencyOptions,
      body: (setup: {
        clock: ManualClock;
        a: ReturnType<typeof idempotency>;
        b: ReturnType<typeof idempotency>;
        stores: OpenedStores;
        name: string;
      }) => Promise<void>,
    ): Promise<void> {
      const stores = await target.open();
      const clock = manualClock(START);
      try {
        await body({
          clock,
          a: idempotency(stores.store, { clock, ...options }),
          b: idempotency(stores.other, { clock, ...options }),
          stores,
          name: uniqueName('action'),
        });
      } finally {
        await stores.close();
      }
    }

    it('runs the action once and answers later calls with the stored result', () =>
      withInstances({}, async ({ a, b, name }) => {
        let runs = 0;
        const action = () => ({ run: ++runs, at: 'payment' });
        const first = await a.run({ name, params: { pod: 'payment' } }, action);
        const second = await a.run({ name, params: { pod: 'payment' } }, action);
        const elsewhere = await b.run({ name, params: { pod: 'payment' } }, action);
        assert.equal(runs, 1);
        assert.deepEqual(first, { run: 1, at: 'payment' });
        assert.deepEqual(second, first);
        assert.deepEqual(elsewhere, first);
      }));

    it('stores the result as JSON and records the completed key', () =>
      withInstances({}, async ({ a, name, stores, clock }) => {
        const params = { b: 2, a: 1 };
        await a.run({ name, params }, () => ({ when: new Date(0), list: [1, undefined] }));
        const record = await stores.store.idempotency.get(a.keyOf(name, params));
        assert.equal(record?.status, 'completed');
        assert.equal(record?.name, name);
        assert.equal(record?.owner, a.owner);
        assert.equal(record?.paramsHash, a.keyOf(name, params));
        assert.equal(record?.result, '{"when":"1970-01-01T00:00:00.000Z","list":[1,null]}');
        assert.equal(record?.expiresAt, clock.now() + IDEMPOTENCY_DEFAULTS.ttlMs);
        assert.deepEqual(await a.run({ name, params }, () => 'not run'), {
          when: '1970-01-01T00:00:00.000Z',
          list: [1, null],
        });
      }));

    it('round-trips an undefined result as undefined', () =>
      withInstances({}, async ({ a, b, name }) => {
        let runs = 0;
        const action = () => {
          runs++;
          return undefined;
        };
        assert.equal(await a.run({ name }, action), undefined);
        assert.equal(await a.run({ name }, action), undefined);
        assert.equal(await b.run({ name }, action), undefined);
        assert.equal(await a.run({ name }, async () => null), undefined);
        assert.equal(runs, 1);
        // null stays null, distinct from undefined.
        assert.equal(await a.run({ name: `${name}-null` }, () => null), null);
        assert.equal(await b.run({ name: `${name}-null` }, () => 'not run'), null);
      }));

    it('coalesces concurrent in-process duplicates onto one run', () =>
      withInstances({}, async ({ a, name }) => {
        let runs = 0;
        const gate = deferred();
        const action = async () => {
          runs++;
          await gate.promise;
          return { value: 42 };
        };
        // Started together: each reads the store once, then all share one run.
        const together = Array.from({ length: 20 }, () => a.run({ name, params: { n: 1 } }, action));
        await until(() => runs === 1, 'the action started');
        gate.resolve();
        const results = await Promise.all(together);
        assert.equal(runs, 1);
        for (const result of results) assert.deepEqual(result, { value: 42 });
      }));

    it('answers duplicates of a run going on here without reading the store', () =>
      withInstances({}, async ({ stores, clock, name }) => {
        const reads = { count: 0 };
        const idem = idempotency(countingReads(stores.store, reads), { clock });
        let runs = 0;
        const gate = deferred();
        const action = async () => {
          runs++;
          await gate.promise;
          return { value: 42 };
        };
        const first = idem.run({ name }, action);
        await until(() => runs === 1, 'the action started');
        const readsBefore = reads.count;
        const duplicates = Array.from({ length: 20 }, () => idem.run({ name }, action));
        gate.resolve();
        const results = await Promise.all([first, ...duplicates]);
        assert.equal(runs, 1);
        assert.equal(reads.count, readsBefore);
        // The callers that shared the run get the very value the action returned.
        for (const result of results) assert.equal(result, results[0]);
        // A completed key afterwards: exactly one read per call.
        await idem.run({ name }, action);
        assert.equal(reads.count, readsBefore + 1);
      }));

    it('makes a duplicate in another process wait for the first and return its result', () =>
      withInstances({ pollMs: 50 }, async ({ a, b, name, clock }) => {
        let runs = 0;
        const gate = deferred();
        const action = async () => {
          runs++;
          await gate.promise;
          return 'done';
        };
        const first = a.run({ name }, action);
        await until(() => runs === 1, 'the first run started');
        let waiterSettled = false;
        const second = b.run({ name }, action).finally(() => (waiterSettled = true));
        await until(() => clock.pendingTimers >= 2, 'the waiter polls (besides the lease renewal)');
        await clock.tickAsync(200);
        assert.equal(waiterSettled, false);
        gate.resolve();
        assert.equal(await first, 'done');
        // The waiter sees the outcome at its next poll.
        while (!waiterSettled) await clock.tickAsync(50);
        assert.equal(await second, 'done');
        assert.equal(runs, 1);
      }));

    it('runs once among many concurrent callers in two processes', () =>
      withInstances({ pollMs: 10 }, async ({ a, b, name, clock }) => {
        let runs = 0;
        const action = async () => {
          runs++;
          return runs;
        };
        const calls = Array.from({ length: 10 }, (_, index) => (index % 2 ? a : b).run({ name }, action));
        let settled = 0;
        for (const call of calls) void call.finally(() => settled++);
        while (settled < calls.length) await clock.tickAsync(10);
        const results = await Promise.all(calls);
        assert.equal(runs, 1);
        assert.deepEqual(results, Array(10).fill(1));
      }));

    it("rejects a duplicate with IdempotencyInProgressError under onInProgress: 'reject'", () =>
      withInstances({}, async ({ a, b, stores, name, clock }) => {
        const gate = deferred();
        let runs = 0;
        const action = async () => {
          runs++;
          await gate.promise;
          return 1;
        };
        const first = a.run({ name }, action);
        await until(() => runs === 1, 'the first run started');
        // In the same process, asked per call.
        await assert.rejects(a.run({ name }, action, { onInProgress: 'reject' }), (error: unknown) => {
          assert.ok(error instanceof IdempotencyInProgressError);
          assert.equal(error.code, 'IDEMPOTENCY_IN_PROGRESS');
          assert.equal(error.key, a.keyOf(name, undefined));
          return true;
        });
        // In another process, asked by the instance's option.
        const rejecting = idempotency(stores.other, { onInProgress: 'reject', clock });
        await assert.rejects(rejecting.run({ name }, action), (error: unknown) => {
          assert.ok(error instanceof IdempotencyInProgressError);
          assert.equal(error.owner, a.owner);
          return true;
        });
        gate.resolve();
        assert.equal(await first, 1);
        assert.equal(await b.run({ name }, action, { onInProgress: 'reject' }), 1);
        assert.equal(runs, 1);
      }));

    it('refuses the same explicit key with different params (IdempotencyConflictError)', () =>
      withInstances({}, async ({ a, b, name }) => {
        const key = `order-${randomUUID()}`;
        assert.equal(await a.run({ name, params: { amount: 10 }, key }, () => 'charged'), 'charged');
        // Same params in another key order: the same request, answered from the store.
        assert.equal(await b.run({ name, params: { amount: 10 }, key }, () => 'again'), 'charged');
        for (const instance of [a, b]) {
          await assert.rejects(
            instance.run({ name, params: { amount: 20 }, key }, () => 'charged twice'),
            (error: unknown) => {
              assert.ok(error instanceof IdempotencyConflictError);
              assert.ok(isIdempotencyConflictError(error));
              assert.equal(error.code, 'IDEMPOTENCY_CONFLICT');
              assert.equal(error.key, key);
              assert.match(error.message, new RegExp(name));
              return true;
            },
          );
        }
        // A different name under the key is a conflict too.
        await assert.rejects(
          a.run({ name: 'other', params: { amount: 10 }, key }, () => 1),
          IdempotencyConflictError,
        );
      }));

    it('refuses a conflicting explicit key while the first run is in progress', () =>
      withInstances({}, async ({ a, b, name }) => {
        const key = `order-${randomUUID()}`;
        const gate = deferred();
        let started = false;
        const first = a.run({ name, params: { amount: 10 }, key }, async () => {
          started = true;
          await gate.promise;
          return 'charged';
        });
        await until(() => started, 'the first run started');
        await assert.rejects(
          a.run({ name, params: { amount: 20 }, key }, () => 0),
          IdempotencyConflictError,
        );
        await assert.rejects(
          b.run({ name, params: { amount: 20 }, key }, () => 0),
          IdempotencyConflictError,
        );
        gate.resolve();
        assert.equal(await first, 'charged');
      }));

    it('releases the key when the action fails, so the next call runs it again', () =>
      withInstances({}, async ({ a, b, name, stores }) => {
        const failure = new Error('payment gateway down');
        let runs = 0;
        await assert.rejects(
          a.run({ name }, () => {
            runs++;
            throw failure;
          }),
          (error) => error === failure,
        );
        await assert.rejects(
          a.run({ name }, async () => {
            runs++;
            throw failure;
          }),
          (error) => error === failure,
        );
        assert.equal(await stores.store.idempotency.get(a.keyOf(name)), undefined);
        assert.equal(await b.run({ name }, () => ++runs), 3);
        assert.equal(await a.run({ name }, () => ++runs), 3);
      }));

    it('gives every waiting duplicate the failure, then lets a new call run', () =>
      withInstances({}, async ({ a, name }) => {
        const gate = deferred();
        let runs = 0;
        const failing = async () => {
          runs++;
          await gate.promise;
          throw new Error('boom');
        };
        const calls = [a.run({ name }, failing)];
        await until(() => runs === 1, 'the run started');
        calls.push(a.run({ name }, failing), a.run({ name }, failing));
        gate.resolve();
        for (const call of calls) await assert.rejects(call, /boom/);
        assert.equal(runs, 1);
        assert.equal(await a.run({ name }, () => 'second try'), 'second try');
      }));

    it("takes over a crashed owner's claim after leaseMs, not before", () =>
      withInstances({ leaseMs: 10_000, pollMs: 1_000 }, async ({ a, name, stores, clock }) => {
        const key = a.keyOf(name, { pod: 'payment' });
        // A process claimed the key, then died without completing or releasing it.
        const crashed = await stores.other.idempotency.claim({
          key,
          name,
          paramsHash: key,
          owner: 'crashed-process',
          now: clock.now(),
          leaseUntil: clock.now() + 10_000,
          expiresAt: clock.now() + IDEMPOTENCY_DEFAULTS.ttlMs,
        });
        assert.deepEqual(crashed, { claimed: true, takenOver: false });

        await assert.rejects(
          a.run({ name, params: { pod: 'payment' } }, () => 'too early', { onInProgress: 'reject' }),
          (error: unknown) =>
            error instanceof IdempotencyInProgressError && error.owner === 'crashed-process',
        );

        let context = undefined as IdempotencyContext | undefined;
        let settled = false;
        const waiting = a
          .run({ name, params: { pod: 'payment' } }, (ctx) => {
            context = ctx;
            return 'recovered';
          })
          .finally(() => (settled = true));
        for (let elapsed = 0; elapsed < 9_000; elapsed += 1_000) {
          await until(() => clock.pendingTimers > 0, 'the waiter polls');
          await clock.tickAsync(1_000);
        }
        assert.ok(context === undefined, 'the action must not run while the lease holds');
        while (!settled) await clock.tickAsync(500);
        assert.equal(await waiting, 'recovered');
        const ran = context as IdempotencyContext | undefined;
        assert.equal(ran?.takenOver, true);
        assert.equal(ran?.key, key);
        assert.ok(clock.now() >= START + 10_000);
        assert.equal((await stores.store.idempotency.get(key))?.owner, a.owner);
      }));

    it('expires a completed record after ttlMs: the next call runs the action again', () =>
      withInstances({ ttlMs: 60_000 }, async ({ a, b, name, clock }) => {
        let runs = 0;
        const action = () => ++runs;
        assert.equal(await a.run({ name }, action), 1);
        clock.advance(59_999);
        assert.equal(await b.run({ name }, action), 1);
        clock.advance(1);
        assert.equal(await b.run({ name }, action), 2);
        assert.equal(await a.run({ name }, action), 2);
        clock.advance(60_000);
        assert.equal(await a.purgeExpired(), 1);
      }));

    it('renews the lease of a long action so that nobody takes it over', () =>
      withInstances({ leaseMs: 3_000, pollMs: 500 }, async ({ a, b, name, stores, clock }) => {
        const gate = deferred();
        let runs = 0;
        let signal: AbortSignal | undefined;
        const action = async (ctx: IdempotencyContext) => {
          runs++;
          signal = ctx.signal;
          await gate.promise;
          return 'long';
        };
        const first = a.run({ name }, action);
        await until(() => runs === 1, 'the action started');
        // Ten leases' worth of time, in steps of a renewal interval, each renewal reaching the store.
        for (let step = 0; step < 30; step++) {
          const before = (await stores.store.idempotency.get(a.keyOf(name)))!.leaseUntil;
          await clock.tickAsync(1_000);
          await until(() => clock.pendingTimers === 1, 'the renewal re-armed');
          const record = (await stores.store.idempotency.get(a.keyOf(name)))!;
          assert.ok(record.leaseUntil > clock.now(), `lease lapsed at step ${step}`);
          assert.ok(record.leaseUntil >= before);
        }
        await assert.rejects(b.run({ name }, action, { onInProgress: 'reject' }), IdempotencyInProgressError);
        assert.equal(signal?.aborted, false);
        gate.resolve();
        assert.equal(await first, 'long');
        assert.equal(runs, 1);
        assert.equal(clock.pendingTimers, 0, 'the renewal timer is cleared when the action ends');
      }));

    it('aborts the running action’s signal when its claim is lost', () =>
      withInstances({ leaseMs: 3_000 }, async ({ a, name, stores, clock }) => {
        const gate = deferred();
        let signal: AbortSignal | undefined;
        const first = a.run({ name }, async (ctx) => {
          signal = ctx.signal;
          await gate.promise;
          return 'finished anyway';
        });
        await until(() => signal !== undefined, 'the action started');
        // Someone removed the claim (as a takeover would): the next renewal finds it gone.
        await stores.other.idempotency.release(a.keyOf(name), a.owner);
        await clock.tickAsync(1_000);
        await until(() => signal!.aborted, 'the signal aborted');
        assert.ok(isIdempotencyLeaseLostError(signal!.reason));
        gate.resolve();
        assert.equal(await first, 'finished anyway');
        assert.equal(clock.pendingTimers, 0);
      }));

    it("lets a caller's abort end its wait, and never runs an action nobody waits for", () =>
      withInstances({ leaseMs: 5_000, pollMs: 1_000 }, async ({ a, name, stores, clock }) => {
        const key = a.keyOf(name);
        await stores.other.idempotency.claim({
          key,
          name,
          paramsHash: key,
          owner: 'crashed-process',
          now: clock.now(),
          leaseUntil: clock.now() + 5_000,
          expiresAt: clock.now() + 60_000,
        });
        const controller = new AbortController();
        let runs = 0;
        const waiting = a.run({ name }, () => ++runs, { signal: controller.signal });
        await until(() => clock.pendingTimers > 0, 'the waiter polls');
        const reason = new Error('caller gave up');
        controller.abort(reason);
        await assert.rejects(waiting, (error) => error === reason);
        await clock.tickAsync(10_000);
        assert.equal(runs, 0);
        assert.equal(clock.pendingTimers, 0);
        assert.equal((await stores.store.idempotency.get(key))?.owner, 'crashed-process');
      }));

    it('passes the abort of the only caller on to the running action', () =>
      withInstances({}, async ({ a, name, stores }) => {
        const controller = new AbortController();
        let signal: AbortSignal | undefined;
        const call = a.run(
          { name },
          (ctx) =>
            new Promise((_, reject) => {
              signal = ctx.signal;
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
            }),
          { signal: controller.signal },
        );
        await until(() => signal !== undefined, 'the action started');
        controller.abort(new Error('stop'));
        await assert.rejects(call, /stop/);
        assert.equal(signal?.aborted, true);
        // The action failed, so its key is released.
        await eventually(
          async () => (await stores.store.idempotency.get(a.keyOf(name))) === undefined,
          'the key was released',
        );
      }));

    it('takes back at once a claim left by an earlier life of the same fixed owner', () =>
      withInstances({}, async ({ name, stores, clock }) => {
        const key = `job-${randomUUID()}`;
        const before = idempotency(stores.store, { owner: 'worker-1', clock });
        await stores.store.idempotency.claim({
          key,
          name,
          paramsHash: before.keyOf(name),
          owner: 'worker-1',
          now: clock.now(),
          leaseUntil: clock.now() + 60_000,
          expiresAt: clock.now() + 120_000,
        });
        const restarted = idempotency(stores.other, { owner: 'worker-1', clock });
        assert.equal(await restarted.run({ name, key }, () => 'resumed'), 'resumed');
      }));

    it('refuses a result JSON cannot store, releasing the key', () =>
      withInstances({}, async ({ a, name, stores }) => {
        await assert.rejects(
          a.run({ name }, () => ({ big: 1n })),
          (error: unknown) => {
            assert.ok(error instanceof TypeError);
            assert.match(error.message, /cannot be stored as JSON/);
            return true;
          },
        );
        assert.equal(await stores.store.idempotency.get(a.keyOf(name)), undefined);
      }));
  });
});

describe('idempotency options', async () => {
  const store: Store = await openStore('memory:');

  it('reports every invalid option at once', () => {
    assert.throws(
      () =>
        idempotency(store, {
          ttlMs: -1,
          leaseMs: 0,
          pollMs: Number.NaN,
          onInProgress: 'queue' as never,
          owner: '',
          clock: {} as never,
        }),
      (error: unknown) => {
        const problems = (error as { problems: string[] }).problems;
        assert.equal((error as { code: string }).code, 'INVALID_OPTIONS');
        for (const path of ['ttlMs', 'leaseMs', 'pollMs', 'onInProgress', 'owner', 'clock.now']) {
          assert.ok(
            problems.some((p) => p.startsWith(`idempotency.${path}`)),
            `${path} in ${problems}`,
          );
        }
        return true;
      },
    );
    assert.throws(() => idempotency({} as Store), /must be a Store/);
  });

  it('checks each request', async () => {
    const idem = idempotency(store);
    await assert.rejects(
      idem.run({ name: '' }, () => 1),
      TypeError,
    );
    await assert.rejects(
      idem.run({ name: 'a', key: '' }, () => 1),
      TypeError,
    );
    await assert.rejects(idem.run({ name: 'a' }, 'not a function' as never), TypeError);
  });

  it('gives each instance its own owner by default', () => {
    assert.notEqual(idempotency(store).owner, idempotency(store).owner);
  });
});
