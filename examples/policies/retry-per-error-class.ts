// Retry schedules per error class with `rules`: network errors get 5 exponential retries, rate
// limits 3 retries 60 s apart (or after the server's Retry-After), validation errors none. The
// real delays are kept: a manual clock moves time on, so the file runs in milliseconds.

import assert from 'node:assert/strict';
import { manualClock, permanent, retry, retryAfterOf } from 'rebound';

class NetworkError extends Error {}
class ValidationError extends Error {}
/** What an HTTP client might throw for a 429: `retryAfterMs` from the Retry-After header, if any. */
class RateLimitError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(retryAfterSeconds?: number) {
    super('429 Too Many Requests');
    this.retryAfterMs = retryAfterSeconds === undefined ? undefined : retryAfterSeconds * 1_000;
  }
}

const clock = manualClock(); // leave `clock` out in production: the system clock is the default

const policy = retry({
  rules: [
    // Validation errors: trying again cannot help.
    { when: (error) => error instanceof ValidationError, maxRetries: 0 },
    // Network errors: 5 retries, exponential from 500 ms (doubling, capped at 30 s, full jitter).
    {
      when: (error) => error instanceof NetworkError,
      maxRetries: 5,
      backoff: { kind: 'exponential', baseMs: 500, maxMs: 30_000 },
    },
    // Rate limits: 3 retries, after the server's Retry-After when it sent one, else 60 s.
    {
      when: (error) => error instanceof RateLimitError,
      maxRetries: 3,
      backoff: (_attempt, error) => retryAfterOf(error) ?? 60_000,
    },
  ],
  // Any other error: the policy's own maxRetries (default 3) and backoff (default exponential).
  clock,
});

const waits: number[] = [];
policy.onRetry(({ delayMs }) => waits.push(delayMs));

/** Runs a call to the end, moving the manual clock on (in production, time just passes). */
async function settle<T>(call: Promise<T>): Promise<T> {
  let settled = false;
  call.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) await clock.tickAsync(1_000);
  return call;
}

/** An operation that throws each of `errors` in turn, then answers 'ok'. */
function failingWith(...errors: Error[]): { calls: number; run: () => Promise<string> } {
  const state = {
    calls: 0,
    run: async () => {
      const error = errors[state.calls++];
      if (error !== undefined) throw error;
      return 'ok';
    },
  };
  return state;
}

// --- network errors: up to 5 retries on an exponential schedule ---
let operation = failingWith(...Array.from({ length: 5 }, () => new NetworkError('ECONNRESET')));
assert.equal(await settle(policy.execute(operation.run)), 'ok');
assert.equal(operation.calls, 6);
// Full jitter: each wait is uniform in [0, min(500 × 2ⁿ, 30 000)], n = 0 for the first retry.
waits.forEach((ms, n) => assert.ok(ms <= Math.min(500 * 2 ** n, 30_000)));
console.log(`network: 6 attempts, waits ${waits.map((ms) => Math.round(ms)).join(', ')} ms`);

operation = failingWith(...Array.from({ length: 7 }, () => new NetworkError('ECONNRESET')));
await assert.rejects(settle(policy.execute(operation.run)), NetworkError);
assert.equal(operation.calls, 6);
console.log('network: gave up after 5 retries with the network error itself');

// --- rate limits without Retry-After: 3 retries, 60 s apart ---
waits.length = 0;
let startedAt = clock.now();
operation = failingWith(
  new RateLimitError(),
  new RateLimitError(),
  new RateLimitError(),
  new RateLimitError(),
);
await assert.rejects(settle(policy.execute(operation.run)), RateLimitError);
assert.equal(operation.calls, 4);
assert.deepEqual(waits, [60_000, 60_000, 60_000]);
assert.equal(clock.now() - startedAt, 180_000);
console.log('rate limit: 3 retries 60 s apart, then the 429 is rethrown');

// --- rate limits with Retry-After: the server's delay is used ---
waits.length = 0;
startedAt = clock.now();
operation = failingWith(new RateLimitError(5), new RateLimitError(90));
assert.equal(await settle(policy.execute(operation.run)), 'ok');
assert.deepEqual(waits, [5_000, 90_000]);
assert.equal(clock.now() - startedAt, 95_000);
console.log('rate limit: waited the Retry-After of 5 s, then of 90 s');

// --- validation errors: never retried, by a rule or by marking them permanent ---
operation = failingWith(new ValidationError('prompt too long'));
await assert.rejects(settle(policy.execute(operation.run)), ValidationError);
assert.equal(operation.calls, 1);

operation = failingWith(permanent(new Error('400 Bad Request: unknown model')));
await assert.rejects(settle(policy.execute(operation.run)), /400 Bad Request/);
assert.equal(operation.calls, 1);
console.log('validation: 1 attempt, no retry (rule with maxRetries 0, or permanent())');
