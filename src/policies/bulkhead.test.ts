// Tests for bulkhead(): concurrency cap, FIFO queue, queue full and queue timeout, abort while queued.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { BULKHEAD_DEFAULTS, type BulkheadRejectedEvent, bulkhead } from './bulkhead.ts';
import { manualClock } from './clock.ts';
import { BulkheadRejectedError, InvalidOptionsError, isBulkheadRejectedError } from './errors.ts';
import { type ExecuteContext, run } from './policy.ts';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An operation that records when it starts and finishes only when told to. */
function gate(name: string, started: string[]) {
  const done = deferred<string>();
  const fn = () => {
    started.push(name);
    return done.promise;
  };
  return { fn, finish: () => done.resolve(name), fail: (error: unknown) => done.reject(error) };
}

function settledState(promise: Promise<unknown>): { state: 'pending' | 'fulfilled' | 'rejected' } {
  const box: { state: 'pending' | 'fulfilled' | 'rejected' } = { state: 'pending' };
  promise.then(
    () => {
      box.state = 'fulfilled';
    },
    () => {
      box.state = 'rejected';
    },
  );
  return box;
}

describe('bulkhead', () => {
  it('runs up to maxConcurrent calls at once and reports them', async () => {
    const policy = bulkhead({ maxConcurrent: 2, maxQueue: 5 });
    const started: string[] = [];
    const a = gate('a', started);
    const b = gate('b', started);
    const c = gate('c', started);
    const results = [policy.execute(a.fn), policy.execute(b.fn), policy.execute(c.fn)];
    assert.deepEqual(started, ['a', 'b']);
    assert.deepEqual(policy.stats(), { active: 2, queued: 1, rejected: 0, executed: 2 });
    a.finish();
    await flush();
    assert.deepEqual(started, ['a', 'b', 'c']);
    assert.deepEqual(policy.stats(), { active: 2, queued: 0, rejected: 0, executed: 3 });
    b.finish();
    c.finish();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
    assert.deepEqual(policy.stats(), { active: 0, queued: 0, rejected: 0, executed: 3 });
  });

  it('serves the queue in arrival order', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 3 });
    const started: string[] = [];
    const gates = ['a', 'b', 'c', 'd'].map((name) => gate(name, started));
    const results = gates.map((g) => policy.execute(g.fn));
    assert.deepEqual(started, ['a']);
    for (const [index, g] of gates.entries()) {
      g.finish();
      await flush();
      assert.deepEqual(started, ['a', 'b', 'c', 'd'].slice(0, Math.min(index + 2, 4)));
    }
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd']);
  });

  it('hands a freed slot to the head of the queue, not to a call arriving at the same moment', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const started: string[] = [];
    const a = gate('a', started);
    const b = gate('b', started);
    const c = gate('c', started);
    const first = policy.execute(a.fn);
    const second = policy.execute(b.fn);
    let third: Promise<string> | undefined;
    // Runs in the same microtask turn as the bulkhead's own release handler, right after it.
    first.then(() => {
      third = policy.execute(c.fn);
    });
    a.finish();
    await flush();
    assert.deepEqual(started, ['a', 'b']);
    assert.deepEqual(policy.stats(), { active: 1, queued: 1, rejected: 0, executed: 2 });
    b.finish();
    await flush();
    assert.deepEqual(started, ['a', 'b', 'c']);
    c.finish();
    assert.deepEqual(await Promise.all([first, second, third]), ['a', 'b', 'c']);
  });

  it('rejects at once with BulkheadRejectedError when the queue is full', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const events: BulkheadRejectedEvent[] = [];
    policy.onRejected((event) => events.push(event));
    const started: string[] = [];
    const a = gate('a', started);
    const running = policy.execute(a.fn);
    const queued = policy.execute(() => 'queued');
    let called = false;
    const refused = policy.execute(() => {
      called = true;
    });
    const error = await refused.catch((e: unknown) => e);
    assert.ok(error instanceof BulkheadRejectedError);
    assert.equal(error.code, 'BULKHEAD_FULL');
    assert.equal(error.maxConcurrent, 1);
    assert.equal(error.maxQueue, 1);
    assert.equal(called, false);
    assert.deepEqual(events, [{ reason: 'full', active: 1, queued: 1 }]);
    assert.deepEqual(policy.stats(), { active: 1, queued: 1, rejected: 1, executed: 1 });
    a.finish();
    assert.equal(await running, 'a');
    assert.equal(await queued, 'queued');
  });

  it('has no queue by default', async () => {
    assert.equal(BULKHEAD_DEFAULTS.maxQueue, 0);
    const policy = bulkhead({ maxConcurrent: 1 });
    assert.equal(policy.maxQueue, 0);
    const a = gate('a', []);
    const running = policy.execute(a.fn);
    await assert.rejects(
      policy.execute(() => 'x'),
      isBulkheadRejectedError,
    );
    a.finish();
    assert.equal(await running, 'a');
    assert.equal(await policy.execute(() => 'free again'), 'free again');
  });

  it('rejects a call that waited queueTimeoutMs, and clears the timer of one served in time', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2, queueTimeoutMs: 100, clock });
    const events: BulkheadRejectedEvent[] = [];
    policy.onRejected((event) => events.push(event));
    const a = gate('a', []);
    const running = policy.execute(a.fn);
    let called = false;
    const waiting = policy.execute(() => {
      called = true;
    });
    const state = settledState(waiting);
    assert.equal(clock.pendingTimers, 1);
    clock.advance(99);
    await flush();
    assert.equal(state.state, 'pending');
    clock.advance(1);
    const error = await waiting.catch((e: unknown) => e);
    assert.ok(isBulkheadRejectedError(error));
    assert.match((error as Error).message, /queue wait timed out/);
    assert.equal(called, false);
    assert.deepEqual(events, [{ reason: 'queue-timeout', active: 1, queued: 0 }]);
    assert.deepEqual(policy.stats(), { active: 1, queued: 0, rejected: 1, executed: 1 });

    const served = policy.execute(() => 'served');
    assert.equal(clock.pendingTimers, 1);
    clock.advance(50);
    a.finish();
    assert.equal(await served, 'served');
    assert.equal(clock.pendingTimers, 0);
    assert.equal(await running, 'a');
  });

  it('removes a queued call at once when its caller aborts, leaving no listener', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 3, queueTimeoutMs: 1_000, clock });
    const started: string[] = [];
    const a = gate('a', started);
    const b = gate('b', started);
    const c = gate('c', started);
    const controller = new AbortController();
    const running = policy.execute(a.fn);
    const abandoned = policy.execute(b.fn, controller.signal);
    const next = policy.execute(c.fn);
    assert.equal(policy.stats().queued, 2);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 2);

    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.equal(policy.stats().queued, 1);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    await assert.rejects(abandoned, (error) => error === reason);

    a.finish();
    await flush();
    assert.deepEqual(started, ['a', 'c']);
    c.finish();
    assert.equal(await next, 'c');
    assert.equal(await running, 'a');
    assert.deepEqual(policy.stats(), { active: 0, queued: 0, rejected: 0, executed: 2 });
    assert.equal(clock.pendingTimers, 0);
  });

  it('leaves no listener behind once a queued call is served', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const controller = new AbortController();
    const a = gate('a', []);
    const running = policy.execute(a.fn, controller.signal);
    const queued = policy.execute((ctx) => ctx.signal === controller.signal, controller.signal);
    a.finish();
    assert.equal(await running, 'a');
    assert.equal(await queued, true);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('rejects a call that must queue under an already aborted signal without queueing it', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const a = gate('a', []);
    const running = policy.execute(a.fn);
    const controller = new AbortController();
    const reason = new Error('already aborted');
    controller.abort(reason);
    // As an enclosing policy would hand it down: executeRoot's own early check is not in the way.
    const refused = policy[run](() => 'never', { signal: controller.signal, attempt: 0 });
    let error: unknown;
    refused.catch((e: unknown) => {
      error = e;
    });
    await flush();
    assert.equal(error, reason);
    assert.equal(policy.stats().queued, 0);
    a.finish();
    await running;
  });

  it('releases the slot after success, rejection and a synchronous throw', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    assert.equal(await policy.execute(() => 'value'), 'value');
    const failure = new Error('async failure');
    await assert.rejects(
      policy.execute(async () => {
        throw failure;
      }),
      (error) => error === failure,
    );
    const thrown = new Error('sync throw');
    await assert.rejects(
      policy.execute(() => {
        throw thrown;
      }),
      (error) => error === thrown,
    );
    assert.deepEqual(policy.stats(), { active: 0, queued: 0, rejected: 0, executed: 3 });
    assert.equal(await policy.execute(() => 'still free'), 'still free');
  });

  it('passes the context on to the operation', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const controller = new AbortController();
    let seen: ExecuteContext | undefined;
    await policy.execute((ctx) => {
      seen = ctx;
    }, controller.signal);
    assert.equal(seen?.signal, controller.signal);
    assert.equal(seen?.attempt, 0);
  });

  it('owns no timer when queueTimeoutMs is not set', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    const a = gate('a', []);
    const running = policy.execute(a.fn);
    const queued = policy.execute(() => 'b');
    assert.equal(clock.pendingTimers, 0);
    a.finish();
    assert.deepEqual(await Promise.all([running, queued]), ['a', 'b']);
  });

  it('reports every invalid option at once', () => {
    assert.throws(
      () => bulkhead({ maxConcurrent: 0, maxQueue: -1, queueTimeoutMs: -5 }),
      (error) =>
        error instanceof InvalidOptionsError &&
        error.problems.length === 3 &&
        error.problems[0] === 'bulkhead.maxConcurrent must be >= 1, got 0' &&
        error.problems[1] === 'bulkhead.maxQueue must be >= 0, got -1' &&
        error.problems[2] === 'bulkhead.queueTimeoutMs must be >= 0, got -5',
    );
    assert.throws(() => bulkhead({ maxConcurrent: 1.5 }), /bulkhead.maxConcurrent must be an integer/);
    assert.throws(
      () => bulkhead(undefined as never),
      /bulkhead.maxConcurrent must be a number, got undefined/,
    );
  });
});
