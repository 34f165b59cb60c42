// A durable workflow: each ctx.step's outcome is checkpointed in the store, a step can retry and
// time out through rebound's policies, an id runs once ever, and get()/list()/cancel() look at and
// steer workflows wherever they run.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTimeoutError } from 'rebound';
import { isWorkflowCancelledError, workflows } from 'rebound/durable';
import { openStore } from 'rebound/store';

const directory = mkdtempSync(join(tmpdir(), 'rebound-workflow-'));
const store = await openStore(`sqlite:${join(directory, 'state.db')}`);
const engine = workflows(store, { executorId: 'worker-1' }); // leaseMs 30 s by default

const calls = { analyze: 0, page: 0, restart: 0 };

engine.register('incident-response', async (ctx, input: { service: string }) => {
  // Retried under rebound's retry(): two connection resets, then an answer.
  const logs = await ctx.step(
    'analyze_logs',
    async () => {
      if (++calls.analyze < 3) throw new Error('ECONNRESET');
      return { service: input.service, errors: 42 };
    },
    { retry: { maxRetries: 3, backoff: { kind: 'constant', delayMs: 10 } } },
  );
  // Each attempt limited to 50 ms; this pager hangs. The failure is checkpointed too, and caught here.
  const paged = await ctx
    .step(
      'page_oncall',
      () => {
        calls.page++;
        return new Promise<string>(() => {});
      },
      { timeoutMs: 50 },
    )
    .catch((error: unknown) => (isTimeoutError(error) ? 'pager timed out' : Promise.reject(error)));
  const restarted = await ctx.step('restart', () => {
    calls.restart++;
    return `${input.service} restarted`;
  });
  return { logs, paged, restarted };
});

const handle = await engine.start('incident-response', { service: 'payment-api' }, { id: 'incident-42' });
const output = await handle.result();
assert.deepEqual(output, {
  logs: { service: 'payment-api', errors: 42 },
  paged: 'pager timed out',
  restarted: 'payment-api restarted',
});
console.log('incident-42:', JSON.stringify(output));

// The same id again (a retried request, a second replica): the same workflow, nothing runs again.
const again = await engine.start('incident-response', { service: 'payment-api' }, { id: 'incident-42' });
assert.deepEqual(await again.result(), output);
assert.deepEqual(calls, { analyze: 3, page: 1, restart: 1 });

// What the store recorded: one checkpoint per step, with its attempts and, for a failure, its error.
const info = await engine.get('incident-42');
assert.equal(info?.status, 'succeeded');
assert.equal(info?.owner, 'worker-1');
assert.deepEqual(
  info?.steps.map(({ name, status, attempts }) => [name, status, attempts]),
  [
    ['analyze_logs', 'succeeded', 3],
    ['page_oncall', 'failed', 1],
    ['restart', 'succeeded', 1],
  ],
);
assert.equal(info?.steps[1]?.error?.code, 'TIMEOUT');
for (const step of info!.steps)
  console.log(`  ${step.position} ${step.name}: ${step.status}, ${step.attempts} attempt(s)`);

// Cancelling: the workflow's ctx.signal aborts (a step given it stops), and result() rejects.
engine.register('await-approval', async (ctx) => {
  await ctx.step('notify', () => 'asked #ops for approval');
  await ctx.step(
    'wait',
    ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  );
  return 'approved';
});
const approval = await engine.start('await-approval', null, { id: 'approval-7' });
assert.equal(await engine.cancel('approval-7'), true);
await assert.rejects(approval.result(), (error) => isWorkflowCancelledError(error));
assert.equal(await engine.cancel('incident-42'), false); // finished workflows stay as they are

// list(): newest first, without steps; filter by status (one or several), name, limit.
const listed = await engine.list({ status: ['succeeded', 'cancelled'] });
assert.deepEqual(
  listed.map(({ id, status }) => `${id} ${status}`),
  ['approval-7 cancelled', 'incident-42 succeeded'],
);
console.log('list():', listed.map(({ id, status }) => `${id} ${status}`).join(', '));

await engine.close();
await store.close();
rmSync(directory, { recursive: true, force: true });
