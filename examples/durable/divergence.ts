// Determinism: a recovered workflow re-runs its function from the top and each ctx.step at a
// recorded position returns the recorded outcome. Values that differ between runs (ids, times,
// random numbers) must come from a step so they replay. Code that asks for another step than the one
// recorded at a position fails the workflow with WorkflowDivergenceError.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type WorkflowEngine, WorkflowDivergenceError, workflows } from 'rebound/durable';
import { openStore } from 'rebound/store';

const store = await openStore('memory:');
const keyIds: string[] = [];

/** Version 1: its last step never finishes in the first process. */
function version1(engine: WorkflowEngine, finish: boolean): void {
  engine.register('rotate-credentials', async (ctx, input: { service: string }) => {
    const keyId = await ctx.step('create_key', () => randomUUID()); // not randomUUID() outside a step
    keyIds.push(keyId);
    await ctx.step('deploy_key', () => `${keyId} deployed to ${input.service}`);
    await ctx.step('revoke_old_key', () => (finish ? 'revoked' : new Promise(() => {})));
    return `${input.service} uses ${keyId}`;
  });
}

/** Starts a workflow and stops its engine once two steps are checkpointed, as a crash would. */
async function interrupted(engine: WorkflowEngine, id: string): Promise<void> {
  await engine.start('rotate-credentials', { service: 'billing' }, { id });
  for (let turn = 0; (await engine.get(id))!.steps.length < 2; turn++) {
    assert.ok(turn < 10_000, 'the steps were never recorded');
    await new Promise((resolve) => setImmediate(resolve));
  }
  await engine.close(); // the running step is abandoned: not recorded, it runs again on recovery
}

// --- the same code recovers: create_key replays, so the key id is the one generated before ---
const first = workflows(store, { executorId: 'first' });
version1(first, false);
await interrupted(first, 'rotation-1');
const restarted = workflows(store, { executorId: 'restarted' });
version1(restarted, true);
await restarted.recover();
assert.equal(await restarted.result('rotation-1'), `billing uses ${keyIds[0]}`);
assert.equal(keyIds[1], keyIds[0]); // replayed, not generated again
console.log(`recovered: create_key replayed the same key id ${keyIds[0]}`);
await restarted.close();

// --- version 2, deployed while a version-1 run was interrupted, inserts a step ---
const old = workflows(store, { executorId: 'old' });
version1(old, false);
await interrupted(old, 'rotation-2');

const v2 = workflows(store, { executorId: 'v2' });
v2.register('rotate-credentials', async (ctx, input: { service: string }) => {
  const keyId = await ctx.step('create_key', () => randomUUID());
  await ctx.step('backup_old_key', () => 'backed up'); // new at position 1, where deploy_key is recorded
  await ctx.step('deploy_key', () => `${keyId} deployed to ${input.service}`);
  await ctx.step('revoke_old_key', () => 'revoked');
  return `${input.service} uses ${keyId}`;
});
await v2.recover();
await assert.rejects(v2.result('rotation-2'), (error) => {
  assert.ok(error instanceof WorkflowDivergenceError && error.code === 'WORKFLOW_DIVERGENCE');
  assert.equal(error.position, 1);
  assert.equal(error.expected, 'deploy_key');
  assert.equal(error.actual, 'backup_old_key');
  return true;
});
const failed = await v2.get('rotation-2');
assert.equal(failed?.status, 'failed'); // for good: let old runs finish before changing their steps
assert.equal(failed?.error?.code, 'WORKFLOW_DIVERGENCE');
console.log(`version 2 diverged: ${failed?.error?.message}`);

await v2.close();
await store.close();
