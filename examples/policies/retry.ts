// retry(): attempts and ctx.attempt, events, which errors and results are retried, permanent
// errors and Retry-After floors. Delays of a few milliseconds keep it fast.

import assert from 'node:assert/strict';
import { permanent, retry } from 'rebound';

const policy = retry({ maxRetries: 3, backoff: { kind: 'constant', delayMs: 5 } });
const log: string[] = [];
policy.onRetry(({ attempt, delayMs, error }) =>
  log.push(`retry ${attempt} in ${delayMs} ms: ${String(error)}`),
);
policy.onSuccess(({ attempts }) => log.push(`success after ${attempts} attempts`));
policy.onGiveUp(({ attempts, error }) => log.push(`gave up after ${attempts} attempts: ${String(error)}`));

// Each attempt sees its number in ctx.attempt: 0 for the first try, 1 for the first retry.
const seen: number[] = [];
const answer = await policy.execute(({ attempt }) => {
  seen.push(attempt);
  if (attempt < 2) throw new Error(`flaky ${attempt}`);
  return 'answer';
});
assert.equal(answer, 'answer');
assert.deepEqual(seen, [0, 1, 2]);

// Out of retries: the last error is rethrown unchanged (maxRetries 3: 4 attempts).
const last = new Error('still down');
await assert.rejects(
  policy.execute(() => {
    throw last;
  }),
  (error) => error === last,
);
assert.deepEqual(log, [
  'retry 1 in 5 ms: Error: flaky 0',
  'retry 2 in 5 ms: Error: flaky 1',
  'success after 3 attempts',
  'retry 1 in 5 ms: Error: still down',
  'retry 2 in 5 ms: Error: still down',
  'retry 3 in 5 ms: Error: still down',
  'gave up after 4 attempts: Error: still down',
]);
console.log(log.join('\n'));

// retryOn chooses the errors to retry; it gets the attempt that failed (0 = the first try).
class HttpError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}
const idempotentOnly = retry({
  backoff: { kind: 'constant', delayMs: 1 },
  retryOn: (error) => error instanceof HttpError && error.status >= 500,
});
let calls = 0;
await assert.rejects(
  idempotentOnly.execute(() => {
    calls++;
    throw new HttpError(404);
  }),
  /HTTP 404/,
);
assert.equal(calls, 1);

// permanent() wins over everything, even a retryOn that says yes.
calls = 0;
await assert.rejects(
  idempotentOnly.execute(() => {
    calls++;
    throw permanent(new HttpError(501));
  }),
  /HTTP 501/,
);
assert.equal(calls, 1);
console.log('retryOn: a 404 was not retried; permanent(): a 501 was not retried either');

// retryOnResult retries results; when retries run out, the last result is returned.
const polling = retry({
  maxRetries: 2,
  backoff: { kind: 'constant', delayMs: 1 },
  retryOnResult: (job) => (job as { status: string }).status === 'pending',
});
const statuses = ['pending', 'pending', 'done'];
assert.deepEqual(await polling.execute(({ attempt }) => ({ status: statuses[attempt] })), { status: 'done' });
assert.deepEqual(await polling.execute(() => ({ status: 'pending' })), { status: 'pending' });
console.log('retryOnResult: polled until done; out of retries, the last result is returned');

// An error carrying retryAfterMs (a 429's Retry-After) is never retried sooner than that.
const delays: number[] = [];
policy.onRetry(({ delayMs }) => delays.push(delayMs));
const tooMany = Object.assign(new Error('429 Too Many Requests'), { retryAfterMs: 30 });
const started = Date.now();
assert.equal(
  await policy.execute(({ attempt }) => {
    if (attempt === 0) throw tooMany;
    return 'admitted';
  }),
  'admitted',
);
assert.deepEqual(delays, [30]); // the schedule said 5 ms; the server said 30 ms
assert.ok(Date.now() - started >= 29);
console.log('retryAfterMs: waited 30 ms instead of the scheduled 5 ms');
