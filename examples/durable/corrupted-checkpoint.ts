// Checksums: every checkpoint is written with the sha256 of its JSON text, in the same commit, and
// checked when it is replayed. A checkpoint changed behind rebound's back (a hand edit, a damaged
// disk) is never replayed: the workflow fails with CheckpointCorruptedError.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { CheckpointCorruptedError, type WorkflowEngine, workflows } from 'rebound/durable';
import { openStore } from 'rebound/store';

const directory = mkdtempSync(join(tmpdir(), 'rebound-checkpoint-'));
const path = join(directory, 'state.db');

const applied: number[] = [];

function defineScale(engine: WorkflowEngine, hang: boolean): void {
  engine.register('scale', async (ctx) => {
    const plan = await ctx.step('plan', () => ({ deployment: 'api', replicas: 6 }));
    await ctx.step('apply', () => (hang ? new Promise(() => {}) : applied.push(plan.replicas)));
    return plan;
  });
}

// A first process records 'plan', then stops during 'apply'.
const firstStore = await openStore(`sqlite:${path}`);
const first = workflows(firstStore, { executorId: 'first' });
defineScale(first, true);
await first.start('scale', null, { id: 'scale-1' });
for (let turn = 0; (await firstStore.workflows.steps('scale-1')).length < 1; turn++) {
  assert.ok(turn < 10_000, 'plan was never recorded');
  await new Promise((resolve) => setImmediate(resolve));
}
const [plan] = await firstStore.workflows.steps('scale-1');
assert.equal(plan?.output, '{"deployment":"api","replicas":6}');
assert.equal(plan?.checksum, createHash('sha256').update(plan!.output).digest('hex'));
await first.close();
await firstStore.close();

// Someone edits the recorded plan in the database.
const db = new DatabaseSync(path);
db.prepare('UPDATE rebound_steps SET output = ? WHERE workflow_id = ? AND position = 0').run(
  '{"deployment":"api","replicas":600}',
  'scale-1',
);
db.close();

// The next process refuses to replay it.
const store = await openStore(`sqlite:${path}`);
const engine = workflows(store, { executorId: 'second' });
defineScale(engine, false);
await engine.recover();
await assert.rejects(engine.result('scale-1'), (error) => {
  assert.ok(error instanceof CheckpointCorruptedError && error.code === 'CHECKPOINT_CORRUPTED');
  assert.equal(error.position, 0);
  assert.equal(error.step, 'plan');
  return true;
});
assert.equal((await engine.get('scale-1'))?.status, 'failed');
assert.deepEqual(applied, []);
console.log('an edited checkpoint: CheckpointCorruptedError, workflow failed, nothing scaled to 600');

await engine.close();
await store.close();
rmSync(directory, { recursive: true, force: true });
