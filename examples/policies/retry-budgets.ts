// Limits on retrying: budgetMs caps the total time one call spends waiting; a shared retryBudget
// caps retries at a share of all calls, across every policy that uses it (no retry storms).

import assert from 'node:assert/strict';
import { isRetryBudgetExceededError, retry, retryBudget } from 'rebound';

// budgetMs: waits of 10 ms within 25 ms: two retries fit (20 ms), the third wait would not.
const bounded = retry({ maxRetries: 10, backoff: { kind: 'constant', delayMs: 10 }, budgetMs: 25 });
let attempts = 0;
const lastError = new Error('upstream 503');
await assert.rejects(
  bounded.execute(() => {
    attempts++;
    throw lastError;
  }),
  (error) => isRetryBudgetExceededError(error) && error.lastError === lastError && error.cause === lastError,
);
assert.equal(attempts, 3);
console.log('budgetMs: 3 attempts, then RetryBudgetExceededError carrying the last error');

// retryBudget: retries may add 20% to the calls of the last 10 s (minPerSecond: 0 here, so that
// the arithmetic shows; the default 10 per second lets a quiet service retry anyway).
const budget = retryBudget({ ratio: 0.2, minPerSecond: 0 });
const search = retry({ maxRetries: 1, backoff: { kind: 'constant', delayMs: 0 }, budget });
const recommend = retry({ maxRetries: 1, backoff: { kind: 'constant', delayMs: 0 }, budget });

let tries = 0;
const outage = () => {
  tries++;
  throw new Error('outage');
};
for (let call = 0; call < 5; call++) {
  await assert.rejects(search.execute(outage), /outage/); // a refused retry rethrows the error unchanged
  await assert.rejects(recommend.execute(outage), /outage/);
}
// 10 calls: 0.2 × 10 = 2 retries granted in all, 8 refused: 12 tries instead of 20.
assert.equal(tries, 12);
assert.deepEqual(budget.stats(), { calls: 10, retries: 2, allowance: 2, available: 0, refused: 8 });
console.log(`retryBudget: ${JSON.stringify(budget.stats())}`);
