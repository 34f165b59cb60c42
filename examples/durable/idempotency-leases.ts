// Idempotency when an owner dies: its claim holds for leaseMs (renewed every leaseMs / 3 while the
// action runs), then another caller takes the key over. An owner that lost its claim is told through
// ctx.signal. Results expire after ttlMs. Manual clocks stand in for minutes passing.

import assert from 'node:assert/strict';
import { manualClock } from 'rebound';
import { idempotency, isIdempotencyLeaseLostError } from 'rebound/durable';
import { openStore } from 'rebound/store';

const T0 = Date.parse('2025-06-01T12:00:00Z');
const store = await openStore('memory:');
const request = { name: 'drain_node', params: { node: 'worker-7' } };

// A worker claims the key and then hangs, as if its process had died: its clock (and so its lease
// renewal) never moves again.
const frozen = manualClock(T0);
const crashed = idempotency(store, { clock: frozen, leaseMs: 60_000 });
let lostBecause: unknown;
const crashedRun = crashed.run(
  request,
  ({ signal }) =>
    new Promise((_, reject) =>
      signal.addEventListener('abort', () => {
        lostBecause = signal.reason;
        reject(signal.reason);
      }),
    ),
);

// Another worker asks for the same key a second later: it waits, polling, until the lease runs out.
const clock = manualClock(T0 + 1_000);
const survivor = idempotency(store, { clock, ttlMs: 60 * 60_000 });
let takenOver: boolean | undefined;
const answer = survivor.run(request, (ctx) => {
  takenOver = ctx.takenOver; // true: the action may have partly run before, under the dead owner
  return 'drained';
});
await clock.tickAsync(58_999);
assert.equal(takenOver, undefined, 'still waiting 1 ms before the lease ends');
await clock.tickAsync(1);
assert.equal(await answer, 'drained');
assert.equal(takenOver, true);
console.log('the dead owner held the key for leaseMs (60 s); then the waiting worker took it over');

// The first worker comes back to life: its next renewal (leaseMs / 3 later) finds the key taken,
// and its action's signal aborts with IdempotencyLeaseLostError.
frozen.advance(20_000);
await assert.rejects(crashedRun, (error) => isIdempotencyLeaseLostError(error));
assert.ok(isIdempotencyLeaseLostError(lostBecause));
assert.equal((lostBecause as { code: string }).code, 'IDEMPOTENCY_LEASE_LOST');
console.log('the old owner woke up: ctx.signal aborted with IdempotencyLeaseLostError');

// A fixed `owner` (a worker's stable name) takes back its own claim at once after a restart.
const stuck = idempotency(store, { owner: 'worker-a', clock: frozen });
void stuck.run({ name: 'rotate_keys' }, () => new Promise(() => {})); // dies mid-action
const restarted = idempotency(store, { owner: 'worker-a', clock: frozen });
assert.equal(await restarted.run({ name: 'rotate_keys' }, () => 'rotated'), 'rotated');
console.log("owner 'worker-a' restarted: took back its own claim without waiting for the lease");

// Results live ttlMs (here 1 h) from completion; afterwards the key is free again.
let drains = 0;
await clock.tickAsync(59 * 60_000);
assert.equal(await survivor.run(request, () => `drained again (${++drains})`), 'drained');
await clock.tickAsync(60_000);
assert.equal(await survivor.run(request, () => `drained again (${++drains})`), 'drained again (1)');
// Expired records already count as absent; purgeExpired() frees their space (nothing does it for you).
await clock.tickAsync(60 * 60_000);
assert.equal(await survivor.purgeExpired(), 1);
console.log('after ttlMs the stored result expired and the action ran again; purgeExpired() removed 1');
await store.close();
