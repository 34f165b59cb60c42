import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isIsolatedCircuitError,
  isRateLimitedError,
  hasErrorCode,
  isReboundError,
  isRetryBudgetExceededError,
  isTimeoutError,
  RateLimitedError,
  ReboundError,
  RetryBudgetExceededError,
  retryAfterOf,
  TimeoutError,
} from './errors.ts';

describe('errors', () => {
  const cases = [
    [new BrokenCircuitError('payments', 500), 'CIRCUIT_OPEN', isBrokenCircuitError],
    [new IsolatedCircuitError('payments'), 'CIRCUIT_ISOLATED', isIsolatedCircuitError],
    [new TimeoutError(100), 'TIMEOUT', isTimeoutError],
    [new BulkheadRejectedError(4, 0), 'BULKHEAD_FULL', isBulkheadRejectedError],
    [new RateLimitedError(250), 'RATE_LIMITED', isRateLimitedError],
    [
      new RetryBudgetExceededError(1_000, new Error('last')),
      'RETRY_BUDGET_EXCEEDED',
      isRetryBudgetExceededError,
    ],
  ] as const;

  for (const [error, code, guard] of cases) {
    it(`${error.name} has code ${code}, its own name, and only its guard answers true`, () => {
      assert.ok(error instanceof ReboundError);
      assert.equal(error.code, code);
      assert.equal(error.name, error.constructor.name);
      assert.ok(isReboundError(error));
      for (const [, , other] of cases) assert.equal(other(error), other === guard);
    });
  }

  it('hasErrorCode compares the code of anything object-like, and is false for anything else', () => {
    assert.equal(hasErrorCode(new TimeoutError(5), 'TIMEOUT'), true);
    assert.equal(hasErrorCode({ code: 'TIMEOUT' }, 'TIMEOUT'), true);
    assert.equal(hasErrorCode({ code: 'TIMEOUT' }, 'BULKHEAD_FULL'), false);
    for (const value of [null, undefined, 'TIMEOUT', 42, {}])
      assert.equal(hasErrorCode(value, 'TIMEOUT'), false);
  });

  it('isReboundError is false for other errors that carry a code, such as Node system errors', () => {
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    assert.equal(isReboundError(enoent), false);
    assert.equal(isReboundError({ code: 'TIMEOUT' }), false);
    assert.equal(isReboundError(null), false);
  });

  it('guards compare codes, so an error from another copy of the module is recognised', () => {
    assert.ok(isTimeoutError(Object.assign(new Error('copy'), { code: 'TIMEOUT' })));
  });

  it('retryAfterOf reads a positive retryAfterMs from any error', () => {
    assert.equal(retryAfterOf(new BrokenCircuitError('x', 1_500)), 1_500);
    assert.equal(retryAfterOf(Object.assign(new Error('429'), { retryAfterMs: 60_000 })), 60_000);
    assert.equal(retryAfterOf(new Error('plain')), undefined);
    assert.equal(retryAfterOf(new RateLimitedError(0)), undefined);
    assert.equal(retryAfterOf('not an error'), undefined);
  });

  it('RetryBudgetExceededError keeps the last error as lastError and cause', () => {
    const last = new Error('last');
    const error = new RetryBudgetExceededError(1_000, last);
    assert.equal(error.lastError, last);
    assert.equal(error.cause, last);
  });
});
