// timeout(): at the deadline the call rejects with TimeoutError at once and ctx.signal aborts,
// whether or not the work honours the signal. Inside a retry it bounds each attempt.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTimeoutError, pipeline, retry, timeout } from 'rebound';

const deadline = timeout(20);
let timeouts = 0;
deadline.onTimeout(({ timeoutMs }) => {
  timeouts++;
  console.log(`  timed out after ${timeoutMs} ms`);
});

// Work that ignores the signal: the caller still gets TimeoutError at the deadline.
let started = Date.now();
await assert.rejects(
  deadline.execute(() => sleep(10_000, 'too late', { ref: false })), // ref: false lets the process exit
  (error) => isTimeoutError(error) && error.timeoutMs === 20,
);
assert.ok(Date.now() - started < 1_000); // long before the work would end
console.log(`work that ignores its signal: rejected after ${Date.now() - started} ms`);

// Work that honours the signal stops too: the signal's reason is the same TimeoutError.
let reason: unknown;
await assert.rejects(
  deadline.execute(
    ({ signal }) =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          reason = signal.reason;
          reject(signal.reason);
        }),
      ),
  ),
  (error) => error === reason && isTimeoutError(error),
);
console.log('work that honours its signal: aborted with the TimeoutError as reason');

// Inside a retry, each attempt gets its own 20 ms; outside, the whole call would share them.
started = Date.now();
const perAttempt = pipeline(retry({ maxRetries: 2, backoff: { kind: 'constant', delayMs: 0 } }), deadline);
const answer = await perAttempt.execute(async ({ attempt, signal }) => {
  if (attempt < 2) await sleep(10_000, undefined, { signal }); // the first two attempts hang
  return `answered on attempt ${attempt}`;
});
assert.equal(answer, 'answered on attempt 2');
assert.equal(timeouts, 4);
console.log(`${answer} after ${Date.now() - started} ms`);
