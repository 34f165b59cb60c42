// ctx.sleep() is durable: its wake-up time is checkpointed, so a workflow whose process stopped
// mid-sleep waits, after recovery, only the time that was left. A manual clock (the engine's
// `clock` option) plays the minutes; leave it out in production.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from 'rebound';
import { type WorkflowEngine, workflows } from 'rebound/durable';
import { openStore } from 'rebound/store';

const directory = mkdtempSync(join(tmpdir(), 'rebound-sleep-'));
const url = `sqlite:${join(directory, 'state.db')}`;
const clock = manualClock(Date.parse('2025-06-01T12:00:00Z'));
const done: string[] = [];

function defineRollout(engine: WorkflowEngine): void {
  engine.register('canary', async (ctx) => {
    await ctx.step('deploy_canary', () => done.push('deploy_canary'));
    await ctx.sleep('bake', 10 * 60_000); // let the canary take traffic for 10 minutes
    await ctx.step('promote', () => done.push('promote'));
    return 'promoted';
  });
}

/** Lets the engine's promise chains and store writes run until `condition` holds. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let turn = 0; !(await condition()); turn++) {
    assert.ok(turn < 10_000, 'the condition never held');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// --- the first process starts the rollout and stops 4 minutes into the sleep ---
const firstStore = await openStore(url);
const first = workflows(firstStore, { executorId: 'worker-1', clock });
defineRollout(first);
await first.start('canary', null, { id: 'canary-1' });
await until(async () => (await first.get('canary-1'))!.steps.length === 2);
const [, bake] = (await first.get('canary-1'))!.steps;
assert.equal(bake?.name, 'bake');
assert.equal(bake?.endedAt, clock.now() + 10 * 60_000); // a sleep's checkpoint holds its wake-up time
await clock.tickAsync(4 * 60_000);
assert.deepEqual(done, ['deploy_canary']);
await first.close(); // the process stops (a kill -9 leaves the same checkpoints behind)
await firstStore.close();

// --- a new process on the same file: recover() resumes the sleep where it was ---
const store = await openStore(url);
const engine = workflows(store, { executorId: 'worker-2', clock });
defineRollout(engine);
await engine.recover();
const result = engine.result('canary-1');
await clock.tickAsync(6 * 60_000 - 1);
await new Promise((resolve) => setTimeout(resolve, 20)); // time for anything wrongly woken to run
assert.deepEqual(done, ['deploy_canary'], 'still asleep 1 ms before the recorded wake-up time');
await clock.tickAsync(1);
assert.equal(await result, 'promoted');
assert.deepEqual(done, ['deploy_canary', 'promote']); // deploy_canary was not run again
console.log('slept 4 min, restarted, slept the remaining 6 min (not 10), then promoted');

await engine.close();
await store.close();
rmSync(directory, { recursive: true, force: true });
