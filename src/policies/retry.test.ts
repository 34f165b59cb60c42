// Tests for retry(): limits, schedules, rules per error class, retryAfterMs, results, the time budget,
// the shared ratio budget, abort, events, the cheap first attempt and option validation.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { backoffDelays } from './backoff.ts';
import { type Clock, manualClock } from './clock.ts';
import {
  BrokenCircuitError,
  InvalidOptionsError,
  isRetryBudgetExceededError,
  RateLimitedError,
  RetryBudgetExceededError,
} from './errors.ts';
import { isPermanent, permanent } from './permanent.ts';
import { pipeline } from './pipeline.ts';
import { type ExecuteContext, run } from './policy.ts';
import {
  RETRY_DEFAULTS,
  type RetryEvent,
  type RetryGiveUpEvent,
  type RetryOptions,
  RetryPolicy,
  retry,
} from './retry.ts';
import { retryBudget } from './retryBudget.ts';

const half = () => 0.5;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Attaches handlers at once (no unhandled rejection while the clock is driven) and reports how it settled. */
function outcome<T>(promise: Promise<T>): Promise<Outcome<T>> & { settled: boolean } {
  const result = promise.then(
    (value): Outcome<T> => {
      result.settled = true;
      return { ok: true, value };
    },
    (error: unknown): Outcome<T> => {
      result.settled = true;
      return { ok: false, error };
    },
  ) as Promise<Outcome<T>> & { settled: boolean };
  result.settled = false;
  return result;
}

async function rejection(promise: Promise<Outcome<unknown>>): Promise<unknown> {
  const settled = await promise;
  assert.equal(settled.ok, false, 'expected a rejection');
  return (settled as { error: unknown }).error;
}

/** An operation that throws `errors[i]` on call i and then returns `value`; logs each call's context and time. */
function script<T>(clock: Clock, errors: unknown[], value?: T) {
  const calls: Array<{ attempt: number; at: number; signal: AbortSignal }> = [];
  const fn = async (ctx: ExecuteContext): Promise<T> => {
    const index = calls.length;
    calls.push({ attempt: ctx.attempt, at: clock.now(), signal: ctx.signal });
    if (index < errors.length) throw errors[index];
    return value as T;
  };
  return { fn, calls };
}

function alwaysFailing(
  clock: Clock,
  make: (index: number) => unknown = (index) => new Error(`failure ${index}`),
) {
  const calls: Array<{ attempt: number; at: number }> = [];
  const thrown: unknown[] = [];
  const fn = async (ctx: ExecuteContext): Promise<never> => {
    calls.push({ attempt: ctx.attempt, at: clock.now() });
    const error = make(thrown.length);
    thrown.push(error);
    throw error;
  };
  return { fn, calls, thrown };
}

class NetworkError extends Error {}
class ValidationError extends Error {}

describe('retry', { timeout: 10_000 }, () => {
  it('returns a first-attempt success without waiting, with attempt 0', async () => {
    const clock = manualClock();
    const { fn, calls } = script(clock, [], 'ok');
    const policy = retry({ clock, random: half });
    assert.equal(await policy.execute(fn), 'ok');
    assert.deepEqual(
      calls.map((call) => call.attempt),
      [0],
    );
    assert.equal(clock.pendingTimers, 0);
  });

  it('defaults to 3 retries on the default exponential full-jitter schedule', async () => {
    assert.equal(RETRY_DEFAULTS.maxRetries, 3);
    const clock = manualClock();
    const { fn, calls, thrown } = alwaysFailing(clock);
    const result = outcome(retry({ clock, random: half }).execute(fn));
    await clock.tickAsync(10_000);
    const error = await rejection(result);
    assert.equal(error, thrown[3], 'the last error is rethrown unchanged');
    // Full jitter with random 0.5 halves 100, 200, 400.
    assert.deepEqual(
      calls.map((call) => [call.attempt, call.at]),
      [
        [0, 0],
        [1, 50],
        [2, 150],
        [3, 350],
      ],
    );
  });

  it('recovers after failures and passes the caller signal with each attempt number', async () => {
    const clock = manualClock();
    const { fn, calls } = script(clock, [new Error('a'), new Error('b')], 42);
    const controller = new AbortController();
    const result = outcome(
      retry({ clock, backoff: { kind: 'constant', delayMs: 10 } }).execute(fn, controller.signal),
    );
    await clock.tickAsync(20);
    assert.deepEqual(await result, { ok: true, value: 42 });
    assert.deepEqual(
      calls.map((call) => call.attempt),
      [0, 1, 2],
    );
    assert.ok(calls.every((call) => call.signal === controller.signal));
  });

  it('maxRetries limits the attempts; 0 means a single attempt', async () => {
    const clock = manualClock();
    const five = alwaysFailing(clock);
    const result = outcome(
      retry({ clock, maxRetries: 5, backoff: { kind: 'constant', delayMs: 1 } }).execute(five.fn),
    );
    await clock.tickAsync(100);
    await rejection(result);
    assert.equal(five.calls.length, 6);

    const none = alwaysFailing(clock);
    await assert.rejects(retry({ clock, maxRetries: 0 }).execute(none.fn), /failure 0/);
    assert.equal(none.calls.length, 1);
  });

  it('waits each delay of the schedule exactly', async () => {
    const clock = manualClock();
    const { fn, calls } = alwaysFailing(clock);
    const result = outcome(
      retry({
        clock,
        maxRetries: 4,
        backoff: { kind: 'exponential', baseMs: 100, factor: 3, maxMs: 1000, jitter: 'none' },
      }).execute(fn),
    );
    await clock.tickAsync(99);
    assert.equal(calls.length, 1, 'no retry before 100 ms');
    await clock.tickAsync(1);
    assert.equal(calls.length, 2);
    await clock.tickAsync(5_000);
    await rejection(result);
    assert.deepEqual(
      calls.map((call) => call.at),
      [0, 100, 400, 1300, 2300],
    );
  });

  it('waits the same schedule backoffDelays prints, for decorrelated jitter and functions', async () => {
    for (const backoff of [
      { kind: 'exponential', baseMs: 100, maxMs: 1000, jitter: 'decorrelated' },
      (attempt: number, _error: unknown, previous: number) => previous * 2 + attempt,
    ] as const) {
      const clock = manualClock();
      const { fn, calls } = alwaysFailing(clock);
      const result = outcome(retry({ clock, maxRetries: 4, backoff, random: half }).execute(fn));
      await clock.tickAsync(10_000);
      await rejection(result);
      const gaps = calls.slice(1).map((call, index) => call.at - calls[index]!.at);
      assert.deepEqual(gaps, backoffDelays(backoff, 4, half));
    }
  });

  it('retries synchronous throws and plain values', async () => {
    const clock = manualClock();
    let calls = 0;
    const policy = retry({ clock, backoff: { kind: 'constant', delayMs: 0 } });
    const value = await policy.execute(() => {
      calls++;
      if (calls < 3) throw new Error('sync');
      return 'plain';
    });
    assert.equal(value, 'plain');
    assert.equal(calls, 3);
  });

  describe('errors not worth retrying', () => {
    it('never retries an error marked permanent, whatever retryOn says', async () => {
      const clock = manualClock();
      const error = permanent(new ValidationError('bad input'));
      const { fn, calls } = script(clock, [error, error]);
      const rejected = await rejection(outcome(retry({ clock, retryOn: () => true }).execute(fn)));
      assert.equal(rejected, error);
      assert.equal(calls.length, 1);
    });

    it('permanent() marks without an enumerable property and is seen across module copies', () => {
      const error = permanent(new Error('x'));
      assert.equal(isPermanent(error), true);
      assert.deepEqual(Object.keys(error), []);
      assert.equal(JSON.stringify({ ...error }), '{}');
      const fromElsewhere = Object.defineProperty(new Error('y'), Symbol.for('rebound.permanent'), {
        value: true,
      });
      assert.equal(isPermanent(fromElsewhere), true);
      assert.equal(isPermanent(new Error('z')), false);
      assert.equal(isPermanent('string'), false);
      assert.equal(isPermanent(null), false);
      const frozen = permanent(Object.freeze(new Error('frozen')));
      assert.equal(isPermanent(frozen), true);
    });

    it('retryOn decides, given the error and the attempt that failed', async () => {
      const clock = manualClock();
      const seen: Array<[string, number]> = [];
      const { fn, calls } = alwaysFailing(clock, (index) => new Error(index < 2 ? 'transient' : 'fatal'));
      const result = outcome(
        retry({
          clock,
          maxRetries: 10,
          backoff: { kind: 'constant', delayMs: 1 },
          retryOn: (error, attempt) => {
            seen.push([(error as Error).message, attempt]);
            return (error as Error).message === 'transient';
          },
        }).execute(fn),
      );
      await clock.tickAsync(10);
      assert.equal(((await rejection(result)) as Error).message, 'fatal');
      assert.equal(calls.length, 3);
      assert.deepEqual(seen, [
        ['transient', 0],
        ['transient', 1],
        ['fatal', 2],
      ]);
    });
  });

  describe('rules per error class', () => {
    const rules: RetryOptions['rules'] = [
      {
        when: (error) => error instanceof NetworkError,
        maxRetries: 5,
        backoff: { kind: 'exponential', baseMs: 100, jitter: 'none' },
      },
      {
        when: (error) => error instanceof RateLimitedError,
        maxRetries: 3,
        backoff: { kind: 'constant', delayMs: 60_000 },
      },
      { when: (error) => error instanceof ValidationError, maxRetries: 0 },
      { when: (error) => error instanceof Error, maxRetries: 1 }, // shadowed for the classes above
    ];

    it('network errors: 5 retries, exponential', async () => {
      const clock = manualClock();
      const { fn, calls } = alwaysFailing(clock, () => new NetworkError('reset'));
      const result = outcome(retry({ clock, rules }).execute(fn));
      await clock.tickAsync(10_000);
      assert.ok((await rejection(result)) instanceof NetworkError);
      assert.deepEqual(
        calls.map((call) => call.at),
        [0, 100, 300, 700, 1500, 3100],
      );
    });

    it("rate limits: 3 retries, constant 60 s, or the error's retryAfterMs when longer", async () => {
      const clock = manualClock();
      const limited = alwaysFailing(clock, () => new RateLimitedError(1_000));
      const result = outcome(retry({ clock, rules }).execute(limited.fn));
      await clock.tickAsync(200_000);
      await rejection(result);
      assert.deepEqual(
        limited.calls.map((call) => call.at),
        [0, 60_000, 120_000, 180_000],
      );

      const longer = alwaysFailing(clock, () => new RateLimitedError(90_000));
      const start = clock.now();
      const second = outcome(retry({ clock, rules }).execute(longer.fn));
      await clock.tickAsync(300_000);
      await rejection(second);
      assert.deepEqual(
        longer.calls.map((call) => call.at - start),
        [0, 90_000, 180_000, 270_000],
      );
    });

    it('validation errors: no retry (a rule with maxRetries 0)', async () => {
      const clock = manualClock();
      const { fn, calls } = alwaysFailing(clock, () => new ValidationError('no'));
      await rejection(outcome(retry({ clock, rules }).execute(fn)));
      assert.equal(calls.length, 1);
    });

    it('the first matching rule wins; errors no rule matches use the policy defaults', async () => {
      const clock = manualClock();
      const other = alwaysFailing(clock);
      const result = outcome(retry({ clock, rules }).execute(other.fn));
      await clock.tickAsync(60_000);
      await rejection(result);
      assert.equal(other.calls.length, 2, 'the catch-all rule allows 1 retry');

      const plain = alwaysFailing(clock, () => 'not an Error');
      const start = clock.now();
      const second = outcome(
        retry({ clock, rules, maxRetries: 2, backoff: { kind: 'constant', delayMs: 7 } }).execute(plain.fn),
      );
      await clock.tickAsync(100);
      await rejection(second);
      assert.deepEqual(
        plain.calls.map((call) => call.at - start),
        [0, 7, 14],
      );
    });

    it('a rule without maxRetries or backoff inherits them from the policy', async () => {
      const clock = manualClock();
      const { fn, calls } = alwaysFailing(clock, () => new NetworkError('x'));
      const result = outcome(
        retry({
          clock,
          maxRetries: 2,
          backoff: { kind: 'constant', delayMs: 5 },
          rules: [{ when: (error) => error instanceof NetworkError }],
        }).execute(fn),
      );
      await clock.tickAsync(100);
      await rejection(result);
      assert.deepEqual(
        calls.map((call) => call.at),
        [0, 5, 10],
      );
    });
  });

  describe('retryAfterMs', () => {
    it('never retries sooner than an error asks, whatever the schedule', async () => {
      const clock = manualClock();
      const busy = Object.assign(new Error('503'), { retryAfterMs: 5_000 });
      const { fn, calls } = script(clock, [busy, new BrokenCircuitError('db', 2_500)], 'ok');
      const result = outcome(retry({ clock, backoff: { kind: 'constant', delayMs: 100 } }).execute(fn));
      await clock.tickAsync(4_999);
      assert.equal(calls.length, 1);
      await clock.tickAsync(1);
      assert.equal(calls.length, 2);
      await clock.tickAsync(2_500);
      assert.deepEqual(await result, { ok: true, value: 'ok' });
      assert.deepEqual(
        calls.map((call) => call.at),
        [0, 5_000, 7_500],
      );
    });

    it('keeps the scheduled delay when it is the longer one', async () => {
      const clock = manualClock();
      const { fn, calls } = script(clock, [new RateLimitedError(10)], 'ok');
      const result = outcome(retry({ clock, backoff: { kind: 'constant', delayMs: 300 } }).execute(fn));
      await clock.tickAsync(300);
      assert.deepEqual(await result, { ok: true, value: 'ok' });
      assert.equal(calls[1]!.at, 300);
    });
  });

  describe('retryOnResult', () => {
    it('retries results it rejects and returns the first it accepts', async () => {
      const clock = manualClock();
      const results = [{ status: 503 }, { status: 503 }, { status: 200 }];
      let index = 0;
      const retried: RetryEvent[] = [];
      const policy = retry({
        clock,
        backoff: { kind: 'constant', delayMs: 10 },
        retryOnResult: (result) => (result as { status: number }).status >= 500,
      });
      policy.onRetry((event) => retried.push(event));
      const result = outcome(policy.execute(() => results[index++]!));
      await clock.tickAsync(20);
      assert.deepEqual(await result, { ok: true, value: { status: 200 } });
      assert.deepEqual(retried, [
        { attempt: 1, error: undefined, delayMs: 10, result: { status: 503 } },
        { attempt: 2, error: undefined, delayMs: 10, result: { status: 503 } },
      ]);
    });

    it('resolves with the last result when retries run out (as cockatiel does)', async () => {
      const clock = manualClock();
      let calls = 0;
      const gaveUp: RetryGiveUpEvent[] = [];
      const policy = retry({
        clock,
        maxRetries: 2,
        backoff: { kind: 'constant', delayMs: 1 },
        retryOnResult: () => true,
      });
      policy.onGiveUp((event) => gaveUp.push(event));
      const result = outcome(policy.execute(() => ++calls));
      await clock.tickAsync(10);
      assert.deepEqual(await result, { ok: true, value: 3 });
      assert.deepEqual(gaveUp, [{ attempts: 3, error: undefined, result: 3 }]);
    });
  });

  describe('budgetMs', () => {
    it('rejects with RetryBudgetExceededError when the next wait would go over the budget', async () => {
      const clock = manualClock();
      const { fn, calls, thrown } = alwaysFailing(clock);
      const result = outcome(
        retry({
          clock,
          maxRetries: 10,
          budgetMs: 2_500,
          backoff: { kind: 'constant', delayMs: 1_000 },
        }).execute(fn),
      );
      await clock.tickAsync(2_000);
      const error = await rejection(result);
      assert.ok(error instanceof RetryBudgetExceededError);
      assert.ok(isRetryBudgetExceededError(error));
      assert.equal(error.code, 'RETRY_BUDGET_EXCEEDED');
      assert.equal(error.lastError, thrown[2]);
      assert.equal(error.cause, thrown[2]);
      assert.match(error.message, /2500 ms/);
      assert.deepEqual(
        calls.map((call) => call.at),
        [0, 1_000, 2_000],
      );
      assert.equal(clock.pendingTimers, 0);
    });

    it('counts retryAfterMs waits against the budget', async () => {
      const clock = manualClock();
      const { fn, calls } = alwaysFailing(clock, () => new RateLimitedError(60_000));
      const error = await rejection(outcome(retry({ clock, budgetMs: 30_000 }).execute(fn)));
      assert.ok(error instanceof RetryBudgetExceededError);
      assert.ok(error.lastError instanceof RateLimitedError);
      assert.equal(calls.length, 1, 'the over-budget retry is not made, and not waited for');
    });

    it('a wait that fits the budget exactly is made', async () => {
      const clock = manualClock();
      const { fn, calls } = script(clock, [new Error('a'), new Error('b')], 'ok');
      const result = outcome(
        retry({ clock, budgetMs: 200, backoff: { kind: 'constant', delayMs: 100 } }).execute(fn),
      );
      await clock.tickAsync(200);
      assert.deepEqual(await result, { ok: true, value: 'ok' });
      assert.equal(calls.length, 3);
    });
  });

  describe('shared retry budget', () => {
    it('caps retries across every policy that shares it, rethrowing the last error unchanged', async () => {
      const clock = manualClock();
      const budget = retryBudget({ ratio: 0.5, minPerSecond: 0, clock });
      const options: RetryOptions = {
        clock,
        budget,
        maxRetries: 3,
        backoff: { kind: 'constant', delayMs: 0 },
      };
      const first = retry(options);
      const second = retry(options);
      for (let call = 0; call < 4; call++) await second.execute(() => 'ok'); // 4 calls deposit 2 retries

      const a = alwaysFailing(clock);
      const errorA = await rejection(outcome(first.execute(a.fn))); // 5th call: allowance 2.5
      assert.equal(a.calls.length, 3, 'two retries granted, the third refused');
      assert.equal(errorA, a.thrown[2]);

      const b = alwaysFailing(clock);
      const errorB = await rejection(outcome(second.execute(b.fn))); // 6th call: allowance 3, 2 used
      assert.equal(b.calls.length, 2);
      assert.equal(errorB, b.thrown[1]);
      assert.deepEqual(budget.stats(), { calls: 6, retries: 3, allowance: 3, available: 0, refused: 2 });
    });

    it('retries again once the window has slid past the spent retries', async () => {
      const clock = manualClock();
      const budget = retryBudget({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, clock }); // 1 retry per window
      const policy = retry({ clock, budget, backoff: { kind: 'constant', delayMs: 0 } });
      const first = alwaysFailing(clock);
      await rejection(outcome(policy.execute(first.fn)));
      assert.equal(first.calls.length, 2);
      clock.advance(10_000);
      const later = alwaysFailing(clock);
      await rejection(outcome(policy.execute(later.fn)));
      assert.equal(later.calls.length, 2);
    });
  });

  describe('abort', () => {
    it('an abort during a wait rejects at once with the reason and leaves no timer or listener', async () => {
      const clock = manualClock();
      const controller = new AbortController();
      const { fn, calls } = alwaysFailing(clock);
      const result = outcome(
        retry({ clock, backoff: { kind: 'constant', delayMs: 10_000 } }).execute(fn, controller.signal),
      );
      await clock.tickAsync(0);
      assert.equal(clock.pendingTimers, 1, 'waiting for the retry');
      const reason = new Error('caller gave up');
      controller.abort(reason);
      assert.equal(await rejection(result), reason);
      assert.equal(clock.pendingTimers, 0);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
      assert.equal(calls.length, 1);
    });

    it('an abort during a wait inside a pipeline rejects the inner run with the reason', async () => {
      const clock = manualClock();
      const controller = new AbortController();
      const gaveUp: RetryGiveUpEvent[] = [];
      const policy = retry({ clock, backoff: { kind: 'constant', delayMs: 5_000 } });
      policy.onGiveUp((event) => gaveUp.push(event));
      const result = outcome(pipeline(policy).execute(alwaysFailing(clock).fn, controller.signal));
      await clock.tickAsync(0);
      controller.abort('stop');
      assert.equal(await rejection(result), 'stop');
      await clock.tickAsync(0);
      assert.deepEqual(gaveUp, [{ attempts: 1, error: 'stop' }]);
      assert.equal(clock.pendingTimers, 0);
    });

    it('does not retry (nor announce or budget a retry) once the signal is aborted', async () => {
      const clock = manualClock();
      const controller = new AbortController();
      const budget = retryBudget({ ratio: 1, minPerSecond: 0, clock });
      let calls = 0;
      let retries = 0;
      const policy = retry({ clock, budget, backoff: { kind: 'constant', delayMs: 10 } });
      policy.onRetry(() => retries++);
      const result = outcome(
        pipeline(policy).execute(() => {
          calls++;
          controller.abort('cancelled');
          throw new Error('interrupted');
        }, controller.signal),
      );
      assert.equal(await rejection(result), 'cancelled');
      assert.equal(calls, 1);
      assert.equal(retries, 0);
      assert.equal(budget.stats().retries, 0);
      assert.equal(clock.pendingTimers, 0);
    });

    it('a retry listener that aborts stops a zero-delay retry', async () => {
      const clock = manualClock();
      const controller = new AbortController();
      const policy = retry({ clock, backoff: { kind: 'constant', delayMs: 0 } });
      policy.onRetry(() => controller.abort('enough'));
      const { fn, calls } = alwaysFailing(clock);
      // Run inside a pipeline so the policy's own rejection (not executeRoot's race) is observed.
      assert.equal(await rejection(outcome(pipeline(policy).execute(fn, controller.signal))), 'enough');
      assert.equal(calls.length, 1);
    });

    it('a completed wait leaves no abort listener behind', async () => {
      const clock = manualClock();
      const controller = new AbortController();
      const { fn } = script(clock, [new Error('once')], 'ok');
      const result = outcome(
        retry({ clock, backoff: { kind: 'constant', delayMs: 50 } }).execute(fn, controller.signal),
      );
      await clock.tickAsync(50);
      assert.deepEqual(await result, { ok: true, value: 'ok' });
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    });
  });

  describe('events', () => {
    it('onRetry before each wait, onSuccess with the attempts made; unsubscribing stops them', async () => {
      const clock = manualClock();
      const errors = [new Error('a'), new RateLimitedError(700)];
      const { fn } = script(clock, errors, 'ok');
      const policy = retry({ clock, backoff: { kind: 'constant', delayMs: 100 } });
      const retried: RetryEvent[] = [];
      const succeeded: Array<{ attempts: number }> = [];
      const stopRetry = policy.onRetry((event) => retried.push(event));
      policy.onSuccess((event) => succeeded.push(event));
      const result = outcome(policy.execute(fn));
      await clock.tickAsync(800);
      assert.deepEqual(await result, { ok: true, value: 'ok' });
      assert.deepEqual(retried, [
        { attempt: 1, error: errors[0], delayMs: 100 },
        { attempt: 2, error: errors[1], delayMs: 700 },
      ]);
      assert.deepEqual(succeeded, [{ attempts: 3 }]);

      stopRetry();
      await policy.execute(() => 'first try');
      assert.deepEqual(succeeded, [{ attempts: 3 }, { attempts: 1 }]);
      assert.equal(retried.length, 2);
    });

    it('onGiveUp with the attempts made and the error the call rejects with', async () => {
      const clock = manualClock();
      const policy = retry({ clock, maxRetries: 2, backoff: { kind: 'constant', delayMs: 1 } });
      const gaveUp: RetryGiveUpEvent[] = [];
      policy.onGiveUp((event) => gaveUp.push(event));
      const { fn, thrown } = alwaysFailing(clock);
      const result = outcome(policy.execute(fn));
      await clock.tickAsync(10);
      await rejection(result);
      const fatal = permanent(new Error('fatal'));
      await assert.rejects(
        policy.execute(() => {
          throw fatal;
        }),
      );
      assert.deepEqual(gaveUp, [
        { attempts: 3, error: thrown[2] },
        { attempts: 1, error: fatal },
      ]);
    });
  });

  describe('hot path', () => {
    it('a first-attempt success reads no clock and starts no timer', async () => {
      let touched = 0;
      const clock: Clock = {
        now: () => ++touched,
        setTimeout: () => {
          touched++;
          return {};
        },
        clearTimeout: () => {
          touched++;
        },
      };
      const random = () => {
        touched++;
        return 0.5;
      };
      const policy = retry({ clock, random });
      policy.onRetry(() => {});
      for (let call = 0; call < 100; call++) assert.equal(await policy.execute(() => call), call);
      assert.equal(touched, 0);
    });

    it('reuses the context it is given on the first attempt and sets its own attempt numbers', async () => {
      const clock = manualClock();
      const contexts: ExecuteContext[] = [];
      const policy = retry({ clock, backoff: { kind: 'constant', delayMs: 0 } });
      const signal = new AbortController().signal;
      const outer: ExecuteContext = { signal, attempt: 0 };
      const nested: ExecuteContext = { signal, attempt: 4 };
      const record = (ctx: ExecuteContext) => {
        contexts.push(ctx);
        if (contexts.length === 3) throw new Error('retry me');
        return 'ok';
      };
      await pipeline(policy).execute(record, signal);
      // Directly through the internal protocol, as an enclosing policy would call it.
      await policy[run](record, outer);
      await policy[run](record, nested);
      assert.equal(contexts[1], outer, 'attempt-0 context passed on unchanged');
      assert.deepEqual(
        contexts.slice(2).map((ctx) => [ctx.attempt, ctx.signal === signal]),
        [
          [0, true],
          [1, true],
        ],
      );
    });
  });

  describe('options', () => {
    it('is a RetryPolicy exposing its settings', () => {
      const policy = retry({ maxRetries: 7 });
      assert.ok(policy instanceof RetryPolicy);
      assert.equal(policy.maxRetries, 7);
      assert.deepEqual(
        { ...(policy.backoff as object) },
        { kind: 'exponential', baseMs: 100, factor: 2, maxMs: 30_000, jitter: 'full' },
      );
      assert.equal(retry().maxRetries, 3);
    });

    it('lists every invalid option with its path', () => {
      try {
        retry({
          maxRetries: -1,
          backoff: { kind: 'linear', baseMs: -5 },
          budgetMs: Number.NaN,
          budget: {} as never,
          retryOn: 'yes' as never,
          retryOnResult: 1 as never,
          random: 0.5 as never,
          clock: { now: () => 0 } as never,
          rules: [
            { when: undefined as never, maxRetries: 1.5 },
            null as never,
            { when: () => true, backoff: { kind: 'exponential', baseMs: 1, jitter: 'lots' as never } },
          ],
        });
        assert.fail('expected InvalidOptionsError');
      } catch (error) {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'retry.maxRetries must be >= 0, got -1',
          'retry.backoff.baseMs must be >= 0, got -5',
          'retry.budgetMs must be a number, got NaN',
          'retry.budget must be a RetryBudget (from retryBudget())',
          'retry.retryOn must be a function, got "yes"',
          'retry.retryOnResult must be a function, got 1',
          'retry.random must be a function, got 0.5',
          'retry.clock.setTimeout must be a function, got undefined',
          'retry.clock.clearTimeout must be a function, got undefined',
          'retry.rules[0].when must be a function, got undefined',
          'retry.rules[0].maxRetries must be an integer, got 1.5',
          'retry.rules[1] must be an object, got null',
          'retry.rules[2].backoff.jitter must be one of "none", "full", "equal", "decorrelated", got "lots"',
        ]);
      }
      assert.throws(() => retry({ rules: 'x' as never }), /retry\.rules must be an array/);
      assert.throws(() => retry({ maxRetries: 2.5 }), /retry\.maxRetries must be an integer, got 2\.5/);
    });
  });
});

describe('retry with a throwing callback', () => {
  const cases: Array<[string, Parameters<typeof retry>[0]]> = [
    [
      'retryOn',
      {
        retryOn: () => {
          throw new Error('callback broke');
        },
      },
    ],
    [
      'a rule',
      {
        rules: [
          {
            when: () => {
              throw new Error('callback broke');
            },
          },
        ],
      },
    ],
    [
      'a backoff function',
      {
        backoff: () => {
          throw new Error('callback broke');
        },
      },
    ],
  ];
  for (const [name, options] of cases) {
    it(`${name} that throws ends the call with its error and one onGiveUp`, async () => {
      const policy = retry(options);
      const events: string[] = [];
      policy.onGiveUp(() => events.push('give-up'));
      policy.onSuccess(() => events.push('success'));
      await assert.rejects(
        policy.execute(() => {
          throw new Error('work failed');
        }),
        /callback broke/,
      );
      assert.deepEqual(events, ['give-up']);
    });
  }

  it('retryOnResult that throws ends the call with its error and one onGiveUp', async () => {
    const policy = retry({
      retryOnResult: () => {
        throw new Error('callback broke');
      },
    });
    const events: string[] = [];
    policy.onGiveUp(() => events.push('give-up'));
    policy.onSuccess(() => events.push('success'));
    await assert.rejects(
      policy.execute(() => 'value'),
      /callback broke/,
    );
    assert.deepEqual(events, ['give-up']);
  });
});
