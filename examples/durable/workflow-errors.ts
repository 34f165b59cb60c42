// The workflow engine's errors: each extends ReboundError with a stable `code` and has a guard.
// A workflow that failed rejects result() with its step's error: the very object in the process
// that ran it, an equivalent one (same class for rebound's errors, same name, message, code and
// fields) anywhere else, since errors are stored as JSON.

import assert from 'node:assert/strict';
import { isReboundError, isTimeoutError, ReboundError, TimeoutError } from 'rebound';
import {
  isUnknownWorkflowError,
  isWorkflowAlreadyRegisteredError,
  isWorkflowConflictError,
  isWorkflowEngineClosedError,
  isWorkflowNotFoundError,
  isWorkflowSerializationError,
  workflows,
} from 'rebound/durable';
import { openStore } from 'rebound/store';

const store = await openStore('memory:');
const engine = workflows(store, { executorId: 'worker-1' });
const noop = async () => 'done';

engine.register('backup', noop);
assert.throws(() => engine.register('backup', noop), isWorkflowAlreadyRegisteredError);
await assert.rejects(engine.start('restore'), isUnknownWorkflowError); // nothing registered as 'restore'

engine.register('cleanup', noop);
await (await engine.start('backup', null, { id: 'nightly' })).result();
await assert.rejects(engine.start('cleanup', null, { id: 'nightly' }), (error) => {
  assert.ok(isWorkflowConflictError(error) && error.code === 'WORKFLOW_CONFLICT');
  assert.deepEqual([error.existingName, error.requestedName], ['backup', 'cleanup']);
  return true;
});
await assert.rejects(engine.result('no-such-id'), isWorkflowNotFoundError);
assert.equal(await engine.get('no-such-id'), undefined);
console.log('registered twice, unknown name, id of another workflow, unknown id: each its own error');

// Inputs, outputs and step results are stored as JSON; what JSON cannot hold is refused.
await assert.rejects(engine.start('backup', { size: 10n }), isWorkflowSerializationError);
engine.register('count', async (ctx) => ctx.step('count_rows', () => 10n));
await assert.rejects((await engine.start('count')).result(), isWorkflowSerializationError);
// A step's result is what JSON makes of its value, on the first run as on a replay: a Date becomes a string.
engine.register('stamp', async (ctx) => ctx.step('now', () => new Date(Date.UTC(2025, 5, 1))));
assert.equal(await (await engine.start('stamp')).result(), '2025-06-01T00:00:00.000Z');

// A failing step fails the workflow with its error.
engine.register('probe', async (ctx) => ctx.step('ping', () => new Promise(() => {}), { timeoutMs: 20 }));
const probe = await engine.start('probe', null, { id: 'probe-1' });
const thrown = await probe.result().catch((error: unknown) => error);
assert.ok(thrown instanceof TimeoutError);

// Another engine (another process) reads it back from the store as an equivalent error.
await engine.close();
await assert.rejects(engine.start('backup'), isWorkflowEngineClosedError);
const other = workflows(store, { executorId: 'worker-2' });
const reread = await other.result('probe-1').catch((error: unknown) => error);
assert.notEqual(reread, thrown);
assert.ok(reread instanceof TimeoutError && reread instanceof ReboundError && isReboundError(reread));
assert.ok(isTimeoutError(reread));
assert.equal(reread.message, (thrown as Error).message);
assert.equal(reread.timeoutMs, 20);
console.log(
  `probe-1 failed; read back by another engine: ${reread.name} (${reread.code}): ${reread.message}`,
);

await other.close();
await store.close();
