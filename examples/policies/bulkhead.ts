// bulkhead(): at most maxConcurrent calls run; maxQueue more wait in FIFO order; the rest, and
// those that wait longer than queueTimeoutMs, are rejected. Manual clock for the queue timeout.

import assert from 'node:assert/strict';
import { bulkhead, isBulkheadRejectedError, manualClock } from 'rebound';

const clock = manualClock();
const pool = bulkhead({ maxConcurrent: 2, maxQueue: 2, queueTimeoutMs: 5_000, clock });
const refusals: string[] = [];
pool.onRejected(({ reason, active, queued }) =>
  refusals.push(`${reason} (${active} active, ${queued} queued)`),
);

/** A call that runs until `finish` is called. */
function slowCall(label: string) {
  let finish!: () => void;
  const done = new Promise<string>((resolve) => (finish = () => resolve(label)));
  return { finish, promise: pool.execute(() => done) };
}

const a = slowCall('a');
const b = slowCall('b');
const c = slowCall('c'); // queued
const d = slowCall('d'); // queued
await assert.rejects(
  pool.execute(() => 'e'),
  (error) => isBulkheadRejectedError(error) && error.reason === 'full',
);
assert.deepEqual(pool.stats(), { active: 2, queued: 2, rejected: 1, executed: 2 });
console.log(`2 running, 2 queued, 1 refused: ${JSON.stringify(pool.stats())}`);

// A slot that frees goes to the head of the queue.
a.finish();
assert.equal(await a.promise, 'a');
assert.deepEqual(pool.stats(), { active: 2, queued: 1, rejected: 1, executed: 3 });

// A call waiting longer than queueTimeoutMs is rejected with reason 'queue-timeout'.
const timedOut = assert.rejects(
  d.promise,
  (error) => isBulkheadRejectedError(error) && error.reason === 'queue-timeout',
);
await clock.tickAsync(5_000);
await timedOut;

// A caller's abort takes its call out of the queue at once, with the signal's reason (not counted).
const controller = new AbortController();
const waiting = pool.execute(() => 'f', controller.signal);
controller.abort(new Error('user left'));
await assert.rejects(waiting, /user left/);

b.finish();
c.finish();
assert.deepEqual(await Promise.all([b.promise, c.promise]), ['b', 'c']);
assert.deepEqual(pool.stats(), { active: 0, queued: 0, rejected: 2, executed: 3 });
assert.deepEqual(refusals, ['full (2 active, 2 queued)', 'queue-timeout (2 active, 0 queued)']);
console.log(`refusals: ${refusals.join('; ')}`);
