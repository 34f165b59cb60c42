import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartBudget, restartDelayMs } from './restartBackoff.ts';

describe('restartDelayMs', () => {
  const backoff = { initialMs: 100, factor: 2, maxMs: 1_000 };

  it('restarts at once a replica that ran long enough', () => {
    assert.equal(restartDelayMs(backoff, 0), 0);
  });

  it('backs off initialMs × factor^(n−1) for the n-th quick failure, capped at maxMs', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((n) => restartDelayMs(backoff, n)),
      [100, 200, 400, 800, 1_000, 1_000],
    );
    assert.equal(restartDelayMs({ initialMs: 50, factor: 1, maxMs: 1_000 }, 7), 50);
  });
});

describe('RestartBudget', () => {
  const limits = { maxRestarts: 3, windowMs: 1_000 };

  it('allows maxRestarts within the window and refuses the next, counting it', () => {
    const budget = new RestartBudget();
    assert.deepEqual(
      [0, 10, 20].map((at) => budget.take(at, limits)),
      [{ allowed: true }, { allowed: true }, { allowed: true }],
    );
    assert.deepEqual(budget.take(30, limits), { allowed: false, restarts: 4 });
    assert.equal(budget.count(30, limits), 3, 'a refused restart takes nothing');
  });

  it('forgets restarts older than the window', () => {
    const budget = new RestartBudget();
    for (const at of [0, 500, 900]) budget.take(at, limits);
    assert.deepEqual(budget.take(999, limits), { allowed: false, restarts: 4 });
    assert.deepEqual(budget.take(1_000, limits), { allowed: true }, 'the one at 0 left the window');
    assert.equal(budget.count(1_950, limits), 1);
  });

  it('refuses every restart with maxRestarts 0, and reset() forgives', () => {
    const budget = new RestartBudget();
    assert.deepEqual(budget.take(0, { maxRestarts: 0, windowMs: 1_000 }), { allowed: false, restarts: 1 });
    for (const at of [0, 1, 2]) budget.take(at, limits);
    budget.reset();
    assert.equal(budget.count(3, limits), 0);
    assert.deepEqual(budget.take(3, limits), { allowed: true });
  });
});
