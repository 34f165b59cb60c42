// Several executors on one store (in production: processes or machines on one PostgreSQL). Each
// workflow runs on one executor at a time: its owner, kept alive by heartbeats. When an owner stops
// heartbeating for leaseMs, another executor takes its workflows over; if the old owner comes back,
// its next checkpoint is refused and its ctx.signal aborts with WorkflowOwnershipLostError.
// Two manual clocks: executor A's stands still, as if its machine had hung.

import assert from 'node:assert/strict';
import { manualClock } from 'rebound';
import { isWorkflowOwnershipLostError, type WorkflowEngine, workflows } from 'rebound/durable';
import { openStore } from 'rebound/store';

const T0 = Date.parse('2025-06-01T12:00:00Z');
const store = await openStore('memory:'); // stands in for 'postgres://…'
const sent: string[] = [];
let releaseA!: () => void;
const aHangs = new Promise<void>((resolve) => (releaseA = resolve));
let aLostBecause: unknown;

function defineReport(engine: WorkflowEngine): void {
  engine.register('weekly-report', async (ctx) => {
    ctx.signal.addEventListener('abort', () => {
      if (engine.executorId === 'A') aLostBecause = ctx.signal.reason;
    });
    const figures = await ctx.step('collect', () => ({ incidents: 3, availability: 99.95 }));
    await ctx.step('send', async () => {
      if (engine.executorId === 'A') await aHangs;
      sent.push(engine.executorId);
      return 'sent';
    });
    return figures;
  });
}

const clockA = manualClock(T0);
const clockB = manualClock(T0);
// recoverEveryMs (default leaseMs): how often an executor looks for workflows of gone executors.
const a = workflows(store, { executorId: 'A', leaseMs: 30_000, clock: clockA });
const b = workflows(store, { executorId: 'B', leaseMs: 30_000, clock: clockB });
defineReport(a);
defineReport(b);

await a.start('weekly-report', null, { id: 'report-w23' });
const onB = await b.start('weekly-report', null, { id: 'report-w23' }); // same id: A's workflow, not a second one
assert.deepEqual(await b.recover(), { resumed: [], unknown: [] }); // A is alive: nothing to take over
assert.equal((await b.get('report-w23'))?.owner, 'A');

// A stops heartbeating. Once its last heartbeat is older than leaseMs, B's periodic recovery takes
// the workflow over and runs it from its checkpoints: 'collect' is replayed, 'send' runs on B.
await clockB.tickAsync(60_000);
assert.deepEqual(await onB.result(), { incidents: 3, availability: 99.95 });
assert.deepEqual(sent, ['B']);
assert.equal((await b.get('report-w23'))?.owner, 'B');
console.log('A stopped heartbeating; after leaseMs, B took report-w23 over and finished it');

// A comes back and finishes its 'send': the store refuses the checkpoint, A stops the workflow.
releaseA();
for (let turn = 0; aLostBecause === undefined; turn++) {
  assert.ok(turn < 10_000, 'A never noticed that it lost the workflow');
  await new Promise((resolve) => setImmediate(resolve));
}
assert.ok(isWorkflowOwnershipLostError(aLostBecause));
assert.deepEqual(sent, ['B', 'A']); // A's send did run: make such side effects idempotent
const steps = (await b.get('report-w23'))!.steps;
assert.deepEqual(
  steps.map((step) => step.name),
  ['collect', 'send'],
); // one checkpoint per step: A's late 'send' was not recorded
console.log(`A came back: ${(aLostBecause as Error).message}`);

await Promise.all([a.close(), b.close()]);
await store.close();
