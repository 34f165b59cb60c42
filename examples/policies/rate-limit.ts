// rateLimit(): several limits at once; a call over any of them is rejected with RateLimitedError
// and the time to wait; tryAcquire() takes a token without a call. A retry can wait instead.

import assert from 'node:assert/strict';
import { isRateLimitedError, manualClock, pipeline, rateLimit, retry } from 'rebound';

const clock = manualClock();
const limiter = rateLimit({
  limits: [
    { max: 3, perMs: 1_000 }, // 3 a second
    { max: 5, perMs: 60_000 }, // and 5 a minute
  ],
  clock,
});

for (let i = 0; i < 3; i++) assert.equal(await limiter.execute(() => 'sent'), 'sent');
await assert.rejects(
  limiter.execute(() => 'sent'),
  (error) => isRateLimitedError(error) && error.retryAfterMs === 1_000,
);
console.log('3 calls in the first second, the 4th told to wait 1 000 ms');

clock.advance(1_000);
assert.ok(limiter.tryAcquire()); // a token without a call
assert.ok(limiter.tryAcquire());
assert.equal(limiter.tryAcquire(), false); // the per-minute limit is spent
assert.deepEqual(limiter.stats(), {
  admitted: 5,
  rejected: 2,
  retryAfterMs: 59_000, // until the oldest of the 5 admissions leaves its minute
  limits: [
    { max: 3, perMs: 1_000, available: 1 },
    { max: 5, perMs: 60_000, available: 0 },
  ],
});
console.log(`per-minute limit spent: ${JSON.stringify(limiter.stats())}`);

// A retry outside the limiter honours retryAfterMs: calls wait for a token instead of failing.
const patient = pipeline(retry({ maxRetries: 5, clock }), limiter);
let settled = false;
const call = patient.execute(() => 'sent at last').finally(() => (settled = true));
while (!settled) await clock.tickAsync(1_000);
assert.equal(await call, 'sent at last');
assert.equal(clock.now(), 60_000);
console.log(`with a retry around it, the call waited until t = ${clock.now()} ms`);
