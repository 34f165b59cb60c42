// Tests for the shared ratio retry budget: allowance, reserve, sliding window, stats and validation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from './clock.ts';
import { InvalidOptionsError } from './errors.ts';
import { RETRY_BUDGET_DEFAULTS, RetryBudget, retryBudget } from './retryBudget.ts';

function recordCalls(budget: RetryBudget, count: number): void {
  for (let call = 0; call < count; call++) budget.recordCall();
}

function withdrawAll(budget: RetryBudget, limit = 10_000): number {
  let granted = 0;
  while (granted < limit && budget.tryWithdraw()) granted++;
  return granted;
}

describe('retryBudget', () => {
  it('allows retries up to ratio × calls', () => {
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 0, clock: manualClock() });
    recordCalls(budget, 10);
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.tryWithdraw(), false);
    assert.deepEqual(budget.stats(), { calls: 10, retries: 2, allowance: 2, available: 0, refused: 1 });
  });

  it('refuses every retry when there were no calls and no reserve', () => {
    const budget = retryBudget({ ratio: 0.5, minPerSecond: 0, clock: manualClock() });
    assert.equal(budget.canRetry(), false);
    assert.equal(budget.tryWithdraw(), false);
  });

  it('adds minPerSecond × window seconds whatever the traffic', () => {
    const budget = retryBudget({ ratio: 0, minPerSecond: 3, windowMs: 10_000, clock: manualClock() });
    assert.equal(withdrawAll(budget), 30);
    const withCalls = retryBudget({ ratio: 0.2, minPerSecond: 3, windowMs: 2_000, clock: manualClock() });
    recordCalls(withCalls, 20);
    assert.equal(withdrawAll(withCalls), 4 + 6);
  });

  it('defaults: 10 retries a second over a 10 s window', () => {
    assert.deepEqual(RETRY_BUDGET_DEFAULTS, { minPerSecond: 10, windowMs: 10_000 });
    const budget = retryBudget({ ratio: 0.2, clock: manualClock() });
    assert.equal(budget.minPerSecond, 10);
    assert.equal(budget.windowMs, 10_000);
    assert.equal(budget.stats().allowance, 100);
  });

  it('canRetry takes nothing', () => {
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, clock: manualClock() });
    budget.recordCall();
    assert.equal(budget.canRetry(), true);
    assert.equal(budget.canRetry(), true);
    assert.equal(budget.stats().retries, 0);
    assert.equal(budget.tryWithdraw(), true);
    assert.equal(budget.canRetry(), false);
  });

  it('forgets calls and retries once they leave the sliding window', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, windowMs: 10_000, clock });
    recordCalls(budget, 5);
    assert.equal(withdrawAll(budget, 2), 2);
    clock.advance(5_000);
    recordCalls(budget, 5);
    clock.advance(4_999);
    assert.deepEqual(budget.stats(), { calls: 10, retries: 2, allowance: 10, available: 8, refused: 0 });
    clock.advance(1); // t = 10 000: the first second's bucket leaves the window
    assert.deepEqual(budget.stats(), { calls: 5, retries: 0, allowance: 5, available: 5, refused: 0 });
    clock.advance(5_000);
    assert.deepEqual(budget.stats(), { calls: 0, retries: 0, allowance: 0, available: 0, refused: 0 });
    assert.equal(budget.tryWithdraw(), false);
  });

  it('a long idle period empties the window at once', () => {
    const clock = manualClock(1_000_000);
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, clock });
    recordCalls(budget, 50);
    clock.advance(1e12);
    assert.equal(budget.stats().calls, 0);
    budget.recordCall();
    assert.equal(budget.stats().calls, 1);
  });

  it('a ratio product that lands a hair under a whole number still grants that number', () => {
    const budget = retryBudget({ ratio: 0.57, minPerSecond: 0, clock: manualClock() });
    recordCalls(budget, 100); // 0.57 × 100 = 56.99999999999999 in floating point
    assert.equal(withdrawAll(budget), 57);
    assert.equal(budget.stats().available, 0);
  });

  it('counts refusals over its lifetime', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0, clock });
    budget.tryWithdraw();
    clock.advance(60_000);
    budget.tryWithdraw();
    assert.equal(budget.stats().refused, 2);
  });

  it('is a RetryBudget', () => {
    assert.ok(retryBudget({ ratio: 0.1 }) instanceof RetryBudget);
  });

  it('lists every invalid option with its path', () => {
    try {
      retryBudget({ ratio: -1, minPerSecond: 'x' as never, windowMs: 0, clock: {} as never });
      assert.fail('expected InvalidOptionsError');
    } catch (error) {
      assert.ok(error instanceof InvalidOptionsError);
      assert.deepEqual(error.problems, [
        'retryBudget.ratio must be >= 0, got -1',
        'retryBudget.minPerSecond must be a number, got "x"',
        'retryBudget.windowMs must be > 0, got 0',
        'retryBudget.clock.now must be a function, got undefined',
        'retryBudget.clock.setTimeout must be a function, got undefined',
        'retryBudget.clock.clearTimeout must be a function, got undefined',
      ]);
    }
    assert.throws(() => retryBudget(undefined as never), InvalidOptionsError);
    assert.throws(() => retryBudget({} as never), /retryBudget\.ratio must be a number, got undefined/);
  });
});
