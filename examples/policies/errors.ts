// rebound's errors: one base class with a stable `code`, the fields to act on, guards that work
// across copies of the package, retryAfterOf(), and InvalidOptionsError listing every problem.

import assert from 'node:assert/strict';
import {
  bulkhead,
  circuitBreaker,
  InvalidOptionsError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isIsolatedCircuitError,
  isRateLimitedError,
  isReboundError,
  isRetryBudgetExceededError,
  isTimeoutError,
  manualClock,
  rateLimit,
  ReboundError,
  retry,
  retryAfterOf,
  timeout,
} from 'rebound';

const failing = () => {
  throw new Error('down');
};

/** The error a call rejects with. */
async function errorOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

const breaker = circuitBreaker({
  name: 'search',
  trip: { kind: 'consecutive', failures: 1 },
  clock: manualClock(), // time stands still: retryAfterMs stays exactly openMs
});
await errorOf(breaker.execute(failing));
const open = await errorOf(breaker.execute(() => 'x'));
breaker.isolate();
const isolated = await errorOf(breaker.execute(() => 'x'));
const timedOut = await errorOf(timeout(1).execute(() => new Promise(() => {})));
const pool = bulkhead({ maxConcurrent: 1 });
void pool.execute(() => new Promise((resolve) => setTimeout(resolve, 5)));
const full = await errorOf(pool.execute(() => 'x'));
const limiter = rateLimit({ limits: [{ max: 1, perMs: 60_000 }] });
await limiter.execute(() => 'x');
const limited = await errorOf(limiter.execute(() => 'x'));
const overBudget = await errorOf(
  retry({ backoff: { kind: 'constant', delayMs: 1_000 }, budgetMs: 500 }).execute(failing),
);

const errors = [
  [open, 'CIRCUIT_OPEN', isBrokenCircuitError],
  [isolated, 'CIRCUIT_ISOLATED', isIsolatedCircuitError],
  [timedOut, 'TIMEOUT', isTimeoutError],
  [full, 'BULKHEAD_FULL', isBulkheadRejectedError],
  [limited, 'RATE_LIMITED', isRateLimitedError],
  [overBudget, 'RETRY_BUDGET_EXCEEDED', isRetryBudgetExceededError],
] as const;
for (const [error, code, guard] of errors) {
  assert.ok(error instanceof ReboundError && isReboundError(error));
  assert.equal(error.code, code);
  assert.ok(guard(error));
  console.log(`${code.padEnd(22)} ${error.name}: ${error.message}`);
}

// The fields to act on.
assert.ok(isBrokenCircuitError(open) && open.circuit === 'search' && open.retryAfterMs === 60_000);
assert.ok(isIsolatedCircuitError(isolated) && isolated.circuit === 'search');
assert.ok(isTimeoutError(timedOut) && timedOut.timeoutMs === 1);
assert.ok(isBulkheadRejectedError(full) && full.reason === 'full' && full.maxConcurrent === 1);
assert.ok(isRateLimitedError(limited) && limited.retryAfterMs > 59_000);
assert.ok(isRetryBudgetExceededError(overBudget) && (overBudget.lastError as Error).message === 'down');

// retryAfterOf(): the wait an error asks for, from rebound's errors or any error with retryAfterMs.
assert.equal(retryAfterOf(open), 60_000);
assert.equal(retryAfterOf(Object.assign(new Error('429'), { retryAfterMs: 2_000 })), 2_000);
assert.equal(retryAfterOf(new Error('500')), undefined);

// Options are checked once, at construction; one error lists every problem with its path.
assert.throws(
  () => retry({ maxRetries: -1, backoff: { kind: 'exponential', baseMs: 100, factor: 0.5 } }),
  (error) => {
    assert.ok(error instanceof InvalidOptionsError && error.code === 'INVALID_OPTIONS');
    assert.deepEqual(error.problems, [
      'retry.maxRetries must be >= 0, got -1',
      'retry.backoff.factor must be >= 1, got 0.5',
    ]);
    console.log(error.message);
    return true;
  },
);
