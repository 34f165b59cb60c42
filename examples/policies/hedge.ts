// hedge(): when an attempt is slow, start another beside it; the first success wins and the
// others are aborted. Attempt n sees ctx.attempt n, e.g. to pick another replica. Manual clock.

import assert from 'node:assert/strict';
import { hedge, manualClock } from 'rebound';

const clock = manualClock();
const replicas = ['eu-west-1', 'eu-west-2', 'us-east-1'];
const latencyMs: Record<string, number> = { 'eu-west-1': 900, 'eu-west-2': 40, 'us-east-1': 120 };
const aborted: string[] = [];

/** A query answered after the replica's latency; it stops when its signal aborts. */
function query({ attempt, signal }: { attempt: number; signal: AbortSignal }): Promise<string> {
  const replica = replicas[attempt]!;
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => resolve(`rows from ${replica}`), latencyMs[replica]!);
    signal.addEventListener('abort', () => {
      clock.clearTimeout(timer);
      aborted.push(`${replica}: ${(signal.reason as Error).name}`);
      reject(signal.reason);
    });
  });
}

const hedged = hedge({ delayMs: 100, maxHedges: 2, clock });
hedged.onHedge(({ hedge, attempt, reason }) =>
  console.log(`hedge ${hedge}: attempt ${attempt}, reason '${reason}'`),
);

// eu-west-1 is slow: after 100 ms a hedge goes to eu-west-2, which answers 40 ms later.
let settled = false;
const result = hedged.execute(query).finally(() => (settled = true));
while (!settled) await clock.tickAsync(10);
assert.equal(await result, 'rows from eu-west-2');
assert.equal(clock.now(), 140);
assert.deepEqual(aborted, ['eu-west-1: AbortError']); // the loser was aborted
assert.deepEqual(hedged.stats(), { calls: 1, hedges: 1, hedgeWins: 1 });
console.log(`answered at t = ${clock.now()} ms by the hedge; the slow attempt was aborted`);

// A failed attempt starts the next one at once (reason 'failure'), without waiting for delayMs.
const failFirst = hedge({ delayMs: 100, clock });
const answer = await failFirst.execute(({ attempt }) => {
  if (attempt === 0) throw new Error('connection reset');
  return 'second attempt';
});
assert.equal(answer, 'second attempt');

// When every attempt fails, the call rejects with the error of the last to fail.
await assert.rejects(
  failFirst.execute(({ attempt }) => {
    throw new Error(`attempt ${attempt} failed`);
  }),
  /attempt 1 failed/,
);
console.log('failed attempts start the next at once; all failed: the last error is rethrown');
