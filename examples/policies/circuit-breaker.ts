// The circuit breaker's life cycle: trip, fail fast, half-open trials, open backoff, isolate and
// reset, events, statistics, and saving its state to restore it elsewhere. Manual clock.

import assert from 'node:assert/strict';
import { circuitBreaker, isBrokenCircuitError, isIsolatedCircuitError, manualClock } from 'rebound';

const clock = manualClock(Date.parse('2025-01-01T00:00:00Z'));
const breaker = circuitBreaker({
  name: 'payments',
  trip: { kind: 'consecutive', failures: 3 },
  openMs: 10_000,
  openBackoff: { factor: 2, maxMs: 60_000 }, // each failed trial doubles the next open period
  halfOpen: { maxCalls: 1, successes: 2 }, // one trial at a time; 2 successes in a row close it
  clock,
});

const transitions: string[] = [];
breaker.onStateChange(({ from, to, reason }) => transitions.push(`${from} -> ${to} (${reason})`));
const unsubscribe = breaker.onRejected(({ retryAfterMs }) =>
  console.log(`  rejected, retry after ${retryAfterMs} ms`),
);

const fail = () =>
  breaker.execute(() => {
    throw new Error('503 Service Unavailable');
  });
const succeed = () => breaker.execute(() => 'charged');

// Closed: failures are counted; the third in a row opens the breaker for openMs.
for (let i = 0; i < 3; i++) await assert.rejects(fail(), /503/);
assert.equal(breaker.state, 'open');
await assert.rejects(succeed(), (error) => isBrokenCircuitError(error) && error.retryAfterMs === 10_000);

// After openMs the next call is a trial. It fails: open again, for openMs × 2.
clock.advance(10_000);
await assert.rejects(fail(), /503/);
assert.equal(breaker.stats().retryAfterMs, 20_000);

// After 20 s: two successful trials in a row close it (and the backoff starts over).
clock.advance(20_000);
assert.equal(await succeed(), 'charged');
assert.equal(breaker.state, 'half-open');
assert.equal(await succeed(), 'charged');
assert.equal(breaker.state, 'closed');
unsubscribe();

assert.deepEqual(transitions, [
  'closed -> open (consecutive-failures)',
  'open -> half-open (open-elapsed)',
  'half-open -> open (trial-failed)',
  'open -> half-open (open-elapsed)',
  'half-open -> closed (trial-succeeded)',
]);
console.log(transitions.join('\n'));

const stats = breaker.stats();
assert.deepEqual(
  { calls: stats.calls, successes: stats.successes, failures: stats.failures, rejected: stats.rejected },
  { calls: 6, successes: 2, failures: 4, rejected: 1 },
);
assert.equal(stats.successRate, 2 / 6);
assert.equal(stats.tripCount, 2);
assert.equal(stats.lastTripAt, Date.parse('2025-01-01T00:00:10Z'));
console.log(`stats: ${JSON.stringify(stats)}`);

// isolate() holds it open (IsolatedCircuitError, no trial ever) until reset().
breaker.isolate();
clock.advance(3_600_000);
await assert.rejects(succeed(), isIsolatedCircuitError);
breaker.reset();
assert.equal(breaker.state, 'closed');
assert.equal(breaker.stats().calls, 0); // reset() zeroes every statistic
console.log('isolated, then reset to closed with clean counters');

// toJSON() is plain JSON; `initialState` restores it, e.g. in another process.
for (let i = 0; i < 3; i++) await assert.rejects(fail(), /503/);
const saved = JSON.stringify(breaker);
const restored = circuitBreaker({
  name: 'payments',
  trip: { kind: 'consecutive', failures: 3 },
  openMs: 10_000,
  initialState: JSON.parse(saved),
  clock,
});
assert.equal(restored.state, 'open');
assert.equal(restored.stats().retryAfterMs, 10_000);
console.log(`restored from ${saved.length} bytes of JSON: ${restored.state}`);
