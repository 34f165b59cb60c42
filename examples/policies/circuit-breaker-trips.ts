// What opens a breaker: each trip kind, slow calls, and which errors and results count as failures.
// A manual clock drives time; an operation advances it to take a given time.

import assert from 'node:assert/strict';
import { type CircuitBreaker, circuitBreaker, manualClock } from 'rebound';

const clock = manualClock();
const boom = () => {
  throw new Error('boom');
};
const ok = () => 'ok';

/** Runs one call that fails or succeeds, ignoring its outcome. */
async function call(breaker: CircuitBreaker, fn: () => string): Promise<void> {
  await breaker.execute(fn).catch(() => undefined);
}

function opened(breaker: CircuitBreaker): string[] {
  const reasons: string[] = [];
  breaker.onStateChange(({ to, reason }) => {
    if (to === 'open') reasons.push(reason);
  });
  return reasons;
}

// consecutive (the default, failures: 5): N failures in a row; a success starts the count again.
const consecutive = circuitBreaker({ trip: { kind: 'consecutive', failures: 3 }, clock });
for (const fn of [boom, boom, ok, boom, boom]) await call(consecutive, fn);
assert.equal(consecutive.state, 'closed');
await call(consecutive, boom);
assert.equal(consecutive.state, 'open');
console.log('consecutive: opened on the 3rd failure in a row');

// window: N failures within a sliding time window, whatever the successes between them.
const window = circuitBreaker({ trip: { kind: 'window', windowMs: 10_000, failures: 3 }, clock });
const windowReasons = opened(window);
await call(window, boom); // t = 0
clock.advance(6_000);
await call(window, boom); // t = 6 s
clock.advance(4_000);
await call(window, boom); // t = 10 s: the first failure is exactly 10 s old and has left the window
assert.equal(window.state, 'closed');
clock.advance(1_000);
await call(window, ok);
await call(window, boom); // t = 11 s: 3 failures within the last 10 s
assert.deepEqual(windowReasons, ['window-failures']);
console.log('window: opened on 3 failures within 10 s');

// rate: a failure share over a time window, once it holds minimumCalls calls.
const rate = circuitBreaker({
  trip: { kind: 'rate', windowMs: 60_000, minimumCalls: 10, failureRate: 0.5 },
  clock,
});
for (let i = 0; i < 9; i++) await call(rate, i < 5 ? boom : ok); // 5 of 9 failed: too few calls yet
assert.equal(rate.state, 'closed');
await call(rate, ok); // 5 of 10: 50%
assert.equal(rate.state, 'open');
console.log('rate: opened at 50% failures once 10 calls were in the window (on a success)');

// count: a failure share over the last `size` calls, once there are minimumCalls.
const count = circuitBreaker({
  trip: { kind: 'count', size: 20, minimumCalls: 10, failureRate: 0.3 },
  clock,
});
for (let i = 0; i < 20; i++) await call(count, i % 4 === 3 ? boom : ok); // never over 25%
assert.equal(count.state, 'closed');
await call(count, boom); // the oldest call (a success) leaves: 6 of the last 20 failed, 30%
assert.equal(count.state, 'open');
console.log('count: opened at 30% failures over the last 20 calls');

// slowCall: successes slower than ms count towards tripping at that share (reason 'slow-calls').
const slow = circuitBreaker({
  trip: { kind: 'consecutive', failures: 5 },
  slowCall: { ms: 1_000, rate: 0.5 },
  clock,
});
const slowReasons = opened(slow);
const takes = (ms: number) => () => {
  clock.advance(ms);
  return 'answer';
};
for (const ms of [1_000, 200, 1_500, 3_000]) await call(slow, takes(ms)); // exactly 1 000 ms is not slow
assert.equal(slow.state, 'closed'); // fewer than `failures` (5) calls: not judged yet
await call(slow, takes(2_000)); // 3 slow of 5
assert.deepEqual(slowReasons, ['slow-calls']);
console.log('slowCall: opened when 3 of 5 calls took longer than 1 s');

// isFailure: errors that say nothing about the dependency's health count as successes.
class NotFoundError extends Error {}
const lookups = circuitBreaker({
  trip: { kind: 'consecutive', failures: 2 },
  isFailure: (error) => !(error instanceof NotFoundError),
  clock,
});
for (let i = 0; i < 5; i++) {
  await assert.rejects(
    lookups.execute(() => {
      throw new NotFoundError('no such user');
    }),
    NotFoundError, // still rethrown unchanged
  );
}
assert.equal(lookups.state, 'closed');
assert.equal(lookups.stats().successes, 5);
console.log('isFailure: 5 NotFoundErrors rethrown, counted as successes, breaker closed');

// isResultFailure: results that count as failures; the call still resolves with them.
const http = circuitBreaker({
  trip: { kind: 'consecutive', failures: 2 },
  isResultFailure: (response) => (response as { status: number }).status >= 500,
  clock,
});
const failures: unknown[] = [];
http.onFailure(({ error }) => failures.push(error));
for (let i = 0; i < 2; i++) assert.deepEqual(await http.execute(() => ({ status: 503 })), { status: 503 });
assert.equal(http.state, 'open');
assert.deepEqual(failures, [{ status: 503 }, { status: 503 }]); // onFailure's `error` holds the result
console.log('isResultFailure: two 503 responses returned, and they opened the breaker');
