// Tests for hedge(): when extra attempts start, which result wins, losers aborted, all-fail, caller abort.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { manualClock } from './clock.ts';
import { InvalidOptionsError } from './errors.ts';
import { HEDGE_DEFAULTS, type HedgeEvent, hedge } from './hedge.ts';
import { type ExecuteContext, run } from './policy.ts';

interface Attempt {
  ctx: ExecuteContext;
  startedAt: number;
  resolve: (value: string) => void;
  reject: (error: unknown) => void;
}

/** An operation whose every attempt is recorded and settled by the test. */
function controllable(clock: { now(): number }) {
  const attempts: Attempt[] = [];
  const fn = (ctx: ExecuteContext) =>
    new Promise<string>((resolve, reject) => {
      attempts.push({ ctx, startedAt: clock.now(), resolve, reject });
    });
  return { attempts, fn };
}

function outcome<T>(promise: Promise<T>) {
  const box: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } = {
    state: 'pending',
  };
  promise.then(
    (value) => {
      box.state = 'fulfilled';
      box.value = value;
    },
    (error: unknown) => {
      box.state = 'rejected';
      box.error = error;
    },
  );
  return box;
}

describe('hedge', () => {
  it('makes one attempt and clears its timer when it settles before delayMs', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, clock });
    const { attempts, fn } = controllable(clock);
    const result = outcome(policy.execute(fn));
    assert.equal(clock.pendingTimers, 1);
    await clock.tickAsync(50);
    attempts[0]!.resolve('first');
    await clock.tickAsync(0);
    assert.equal(result.state, 'fulfilled');
    assert.equal(result.value, 'first');
    assert.equal(clock.pendingTimers, 0);
    await clock.tickAsync(500);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.ctx.signal.aborted, false);
    assert.deepEqual(policy.stats(), { calls: 1, hedges: 0, hedgeWins: 0 });
  });

  it('starts the second attempt exactly at delayMs, with its own signal and attempt number', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, clock });
    const { attempts, fn } = controllable(clock);
    const result = outcome(policy.execute(fn));
    await clock.tickAsync(99);
    assert.equal(attempts.length, 1);
    await clock.tickAsync(1);
    assert.equal(attempts.length, 2);
    assert.deepEqual(
      attempts.map((a) => [a.startedAt, a.ctx.attempt]),
      [
        [0, 0],
        [100, 1],
      ],
    );
    assert.notEqual(attempts[0]!.ctx.signal, attempts[1]!.ctx.signal);
    // maxHedges defaults to 1: no third attempt and no timer left.
    assert.equal(HEDGE_DEFAULTS.maxHedges, 1);
    assert.equal(clock.pendingTimers, 0);
    await clock.tickAsync(1_000);
    assert.equal(attempts.length, 2);
    attempts[0]!.resolve('first');
    await clock.tickAsync(0);
    assert.equal(result.value, 'first');
  });

  it('returns the first success and aborts the attempts still running', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, maxHedges: 2, clock });
    const { attempts, fn } = controllable(clock);
    const result = outcome(policy.execute(fn));
    await clock.tickAsync(200);
    assert.deepEqual(
      attempts.map((a) => a.startedAt),
      [0, 100, 200],
    );
    attempts[1]!.resolve('hedge 1');
    await clock.tickAsync(0);
    assert.equal(result.state, 'fulfilled');
    assert.equal(result.value, 'hedge 1');
    assert.equal(attempts[0]!.ctx.signal.aborted, true);
    assert.equal(attempts[2]!.ctx.signal.aborted, true);
    assert.equal((attempts[0]!.ctx.signal.reason as DOMException).name, 'AbortError');
    assert.equal(attempts[1]!.ctx.signal.aborted, false);
    // A loser that still answers changes nothing.
    attempts[0]!.resolve('late');
    await clock.tickAsync(0);
    assert.equal(result.value, 'hedge 1');
    assert.deepEqual(policy.stats(), { calls: 1, hedges: 2, hedgeWins: 1 });
  });

  it('keeps the first attempt when it wins after a hedge started, aborting the hedge', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, clock });
    const { attempts, fn } = controllable(clock);
    const result = outcome(policy.execute(fn));
    await clock.tickAsync(150);
    attempts[0]!.resolve('first');
    await clock.tickAsync(0);
    assert.equal(result.value, 'first');
    assert.equal(attempts[1]!.ctx.signal.aborted, true);
    assert.deepEqual(policy.stats(), { calls: 1, hedges: 1, hedgeWins: 0 });
  });

  it('starts hedges up to maxHedges, each delayMs after the previous, with one timer at a time', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 30, maxHedges: 3, clock });
    const { attempts, fn } = controllable(clock);
    const result = outcome(policy.execute(fn));
    for (let step = 0; step < 200; step += 10) {
      assert.ok(clock.pendingTimers <= 1);
      await clock.tickAsync(10);
    }
    assert.deepEqual(
      attempts.map((a) => [a.startedAt, a.ctx.attempt]),
      [
        [0, 0],
        [30, 1],
        [60, 2],
        [90, 3],
      ],
    );
    assert.equal(clock.pendingTimers, 0);
    attempts[3]!.resolve('last');
    await clock.tickAsync(0);
    assert.equal(result.value, 'last');
  });

  it('waits for the others when one fails, starting the next hedge at once', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, maxHedges: 2, clock });
    const events: HedgeEvent[] = [];
    policy.onHedge((event) => events.push(event));
    const { attempts, fn } = controllable(clock);
    const controller = new AbortController();
    const result = outcome(policy.execute(fn, controller.signal));
    await clock.tickAsync(10);
    attempts[0]!.reject(new Error('first failed'));
    await clock.tickAsync(0);
    assert.equal(result.state, 'pending');
    // The caller's race, this call's own listener and the running attempt's link; the failed one's is gone.
    assert.equal(getEventListeners(controller.signal, 'abort').length, 3);
    assert.deepEqual(
      attempts.map((a) => a.startedAt),
      [0, 10],
    );
    // The delay before the next hedge counts from the one started on failure.
    await clock.tickAsync(99);
    assert.equal(attempts.length, 2);
    await clock.tickAsync(1);
    assert.deepEqual(
      attempts.map((a) => a.startedAt),
      [0, 10, 110],
    );
    attempts[2]!.reject(new Error('third failed'));
    await clock.tickAsync(0);
    assert.equal(result.state, 'pending');
    attempts[1]!.resolve('second');
    await clock.tickAsync(0);
    assert.equal(result.value, 'second');
    assert.deepEqual(events, [
      { hedge: 1, attempt: 1, reason: 'failure' },
      { hedge: 2, attempt: 2, reason: 'delay' },
    ]);
  });

  it('rejects with the error of the last attempt to fail when all fail', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, clock });
    const { attempts, fn } = controllable(clock);
    const hedgeFirst = outcome(policy.execute(fn));
    await clock.tickAsync(100);
    const primaryError = new Error('primary');
    const hedgeError = new Error('hedge');
    attempts[1]!.reject(hedgeError);
    await clock.tickAsync(20);
    assert.equal(hedgeFirst.state, 'pending');
    attempts[0]!.reject(primaryError);
    await clock.tickAsync(0);
    assert.equal(hedgeFirst.error, primaryError);

    const primaryFirst = outcome(policy.execute(fn));
    await clock.tickAsync(100);
    const later = new Error('hedge, later');
    attempts[2]!.reject(new Error('primary, earlier'));
    await clock.tickAsync(20);
    attempts[3]!.reject(later);
    await clock.tickAsync(0);
    assert.equal(primaryFirst.error, later);
    assert.equal(clock.pendingTimers, 0);
  });

  it('treats a synchronous throw as a failed attempt', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, clock });
    const result = outcome(
      policy.execute((ctx) => {
        if (ctx.attempt === 0) throw new Error('sync');
        return 'hedge';
      }),
    );
    await clock.tickAsync(0);
    assert.equal(result.value, 'hedge');
    assert.equal(clock.pendingTimers, 0);
  });

  it("rejects at once with the caller's reason, aborting every attempt and leaving no timer or listener", async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, maxHedges: 2, clock });
    const { attempts, fn } = controllable(clock);
    const controller = new AbortController();
    const result = outcome(policy.execute(fn, controller.signal));
    await clock.tickAsync(150);
    assert.equal(attempts.length, 2);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await clock.tickAsync(0);
    assert.equal(result.error, reason);
    assert.deepEqual(
      attempts.map((a) => a.ctx.signal.reason),
      [reason, reason],
    );
    assert.equal(clock.pendingTimers, 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    await clock.tickAsync(500);
    assert.equal(attempts.length, 2);
  });

  it('settles by itself when aborted from an enclosing policy', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 100, clock });
    const { attempts, fn } = controllable(clock);
    const controller = new AbortController();
    // Handed down as an enclosing policy would, without executeRoot's race.
    const result = outcome(policy[run](fn, { signal: controller.signal, attempt: 0 }));
    controller.abort(new Error('enclosing timeout'));
    await clock.tickAsync(0);
    assert.equal((result.error as Error).message, 'enclosing timeout');
    assert.equal(attempts[0]!.ctx.signal.aborted, true);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('leaves no listener on the caller signal after a hedged success', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 10, clock });
    const { attempts, fn } = controllable(clock);
    const controller = new AbortController();
    const result = outcome(policy.execute(fn, controller.signal));
    await clock.tickAsync(10);
    attempts[1]!.resolve('hedge');
    await clock.tickAsync(0);
    assert.equal(result.value, 'hedge');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('numbers attempts from the attempt it was given', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 10, clock });
    const { attempts, fn } = controllable(clock);
    const result = outcome(policy[run](fn, { signal: new AbortController().signal, attempt: 2 }));
    await clock.tickAsync(10);
    assert.deepEqual(
      attempts.map((a) => a.ctx.attempt),
      [2, 3],
    );
    attempts[0]!.resolve('done');
    await clock.tickAsync(0);
    assert.equal(result.value, 'done');
  });

  it('passes calls straight through when maxHedges is 0', async () => {
    const clock = manualClock();
    const policy = hedge({ delayMs: 10, maxHedges: 0, clock });
    const { attempts, fn } = controllable(clock);
    const result = outcome(policy.execute(fn));
    assert.equal(clock.pendingTimers, 0);
    await clock.tickAsync(100);
    assert.equal(attempts.length, 1);
    attempts[0]!.resolve('only');
    await clock.tickAsync(0);
    assert.equal(result.value, 'only');
  });

  it('reports every invalid option at once', () => {
    assert.throws(
      () => hedge({ delayMs: -1, maxHedges: 1.5 }),
      (error) =>
        error instanceof InvalidOptionsError &&
        error.problems.join('\n') ===
          ['hedge.delayMs must be >= 0, got -1', 'hedge.maxHedges must be an integer, got 1.5'].join('\n'),
    );
    assert.throws(
      () => hedge({ delayMs: 10, maxHedges: Number.POSITIVE_INFINITY }),
      /hedge.maxHedges must be finite/,
    );
    assert.throws(() => hedge(undefined as never), /hedge.delayMs must be a number, got undefined/);
  });
});
