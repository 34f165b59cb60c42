// The store contract, workflow part: idempotent create, listing, owner CAS, fenced step records,
// finish and cancel, executor heartbeats.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameText, EXACT_VALUES, largeJson, type OpenStore, withStore } from './contractSupport.ts';
import type { StepRecord, Store, WorkflowRecord } from './types.ts';

function workflowOf(overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  return {
    id: 'wf-1',
    name: 'incident-response',
    status: 'pending',
    input: '{"pod":"payment"}',
    output: null,
    error: null,
    owner: null,
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  };
}

function stepOf(position: number, overrides: Partial<StepRecord> = {}): StepRecord {
  return {
    workflowId: 'wf-1',
    position,
    name: `step-${position}`,
    status: 'succeeded',
    output: `{"position":${position}}`,
    checksum: `checksum-${position}`,
    attempts: 1,
    startedAt: 2_000 + position,
    endedAt: 2_100 + position,
    ...overrides,
  };
}

/** Creates wf-1 (or the given workflow) and claims it for `owner`. */
async function running(store: Store, owner = 'exec-a', workflow = workflowOf()): Promise<void> {
  await store.workflows.create(workflow);
  assert.equal(await store.workflows.claim(workflow.id, owner, null, 1_500), true);
}

export function workflowContract(open: OpenStore): void {
  describe('workflows: create, get, list', () => {
    it('creates a workflow once: the same id answers the stored record, unchanged', () =>
      withStore(open, async (store) => {
        assert.equal(await store.workflows.get('wf-1'), undefined);
        assert.deepEqual(await store.workflows.create(workflowOf()), {
          created: true,
          workflow: workflowOf(),
        });
        assert.deepEqual(await store.workflows.get('wf-1'), workflowOf());
        const again = await store.workflows.create(
          workflowOf({ name: 'other', input: '2', createdAt: 9_000 }),
        );
        assert.deepEqual(again, { created: false, workflow: workflowOf() });
        assert.deepEqual(await store.workflows.get('wf-1'), workflowOf());
      }));

    it('creates exactly once under concurrent creates of one id', () =>
      withStore(open, async (store) => {
        const attempts = Array.from({ length: 10 }, (_, index) => workflowOf({ input: `${index}` }));
        const outcomes = await Promise.all(attempts.map((workflow) => store.workflows.create(workflow)));
        const created = outcomes.filter((outcome) => outcome.created);
        assert.equal(created.length, 1);
        const stored = await store.workflows.get('wf-1');
        for (const outcome of outcomes) assert.deepEqual(outcome.workflow, stored);
      }));

    it('stores every field as given, including a running workflow with output and error', () =>
      withStore(open, async (store) => {
        const workflow = workflowOf({
          status: 'failed',
          output: '{"partial":true}',
          error: '{"name":"Error","message":"boom"}',
          owner: 'exec-z',
          createdAt: 1_700_000_000_000,
          updatedAt: 1_700_000_000_123,
        });
        await store.workflows.create(workflow);
        assert.deepEqual(await store.workflows.get('wf-1'), workflow);
      }));

    it('lists newest first (same createdAt: last created first), filtered by status, name, owner, limit', () =>
      withStore(open, async (store) => {
        const records = [
          workflowOf({ id: 'wf-a', createdAt: 1_000, name: 'deploy' }),
          workflowOf({ id: 'wf-d', createdAt: 3_000, name: 'rollback', status: 'running', owner: 'exec-b' }),
          workflowOf({
            id: 'wf-c',
            createdAt: 2_000,
            name: 'rollback',
            status: 'succeeded',
            owner: 'exec-b',
          }),
          workflowOf({ id: 'wf-b', createdAt: 3_000, name: 'deploy', status: 'running', owner: 'exec-a' }),
          workflowOf({ id: 'wf-e', createdAt: 500, name: 'deploy', status: 'cancelled' }),
        ];
        for (const record of records) await store.workflows.create(record);
        const ids = async (filter?: Parameters<Store['workflows']['list']>[0]) =>
          (await store.workflows.list(filter)).map((workflow) => workflow.id);

        assert.deepEqual(await ids(), ['wf-b', 'wf-d', 'wf-c', 'wf-a', 'wf-e']);
        assert.deepEqual(await ids({}), ['wf-b', 'wf-d', 'wf-c', 'wf-a', 'wf-e']);
        assert.deepEqual(await ids({ status: 'running' }), ['wf-b', 'wf-d']);
        assert.deepEqual(await ids({ status: ['pending', 'cancelled'] }), ['wf-a', 'wf-e']);
        assert.deepEqual(await ids({ status: [] }), []);
        assert.deepEqual(await ids({ name: 'deploy' }), ['wf-b', 'wf-a', 'wf-e']);
        assert.deepEqual(await ids({ owner: 'exec-b' }), ['wf-d', 'wf-c']);
        assert.deepEqual(await ids({ name: 'rollback', status: 'running', owner: 'exec-b' }), ['wf-d']);
        assert.deepEqual(await ids({ limit: 2 }), ['wf-b', 'wf-d']);
        assert.deepEqual(await ids({ name: 'deploy', limit: 10 }), ['wf-b', 'wf-a', 'wf-e']);
        assert.deepEqual(await ids({ limit: 0 }), []);
        assert.deepEqual(await ids({ name: 'absent' }), []);
        const listed = await store.workflows.list({ owner: 'exec-a' });
        assert.deepEqual(listed, [records[3]]);
      }));
  });

  describe('workflows: claim, finish, cancel', () => {
    it('claims by compare-and-set of the owner, setting running and updatedAt', () =>
      withStore(open, async (store) => {
        assert.equal(await store.workflows.claim('wf-1', 'exec-a', null, 1_500), false);
        await store.workflows.create(workflowOf());
        assert.equal(await store.workflows.claim('wf-1', 'exec-a', 'exec-x', 1_500), false);
        assert.equal(await store.workflows.claim('wf-1', 'exec-a', null, 1_500), true);
        assert.deepEqual(
          await store.workflows.get('wf-1'),
          workflowOf({ status: 'running', owner: 'exec-a', updatedAt: 1_500 }),
        );
        assert.equal(await store.workflows.claim('wf-1', 'exec-b', null, 1_600), false);
        assert.equal(await store.workflows.claim('wf-1', 'exec-b', 'exec-a', 1_700), true);
        const taken = await store.workflows.get('wf-1');
        assert.equal(taken?.owner, 'exec-b');
        assert.equal(taken?.updatedAt, 1_700);
        assert.equal(await store.workflows.claim('wf-1', 'exec-a', 'exec-a', 1_800), false);
      }));

    it('lets exactly one of many concurrent claims win', () =>
      withStore(open, async (store) => {
        await store.workflows.create(workflowOf());
        const owners = Array.from({ length: 10 }, (_, index) => `exec-${index}`);
        const outcomes = await Promise.all(
          owners.map((owner) => store.workflows.claim('wf-1', owner, null, 1_500)),
        );
        assert.equal(outcomes.filter(Boolean).length, 1);
        assert.equal((await store.workflows.get('wf-1'))?.owner, owners[outcomes.indexOf(true)]);
      }));

    it('finishes only for the owner of an unfinished workflow, storing output or error', () =>
      withStore(open, async (store) => {
        assert.equal(
          await store.workflows.finish('wf-1', 'exec-a', { status: 'succeeded', output: '1' }, 2),
          false,
        );
        await store.workflows.create(workflowOf());
        assert.equal(
          await store.workflows.finish('wf-1', 'exec-a', { status: 'succeeded', output: '1' }, 2),
          false,
        );
        await store.workflows.claim('wf-1', 'exec-a', null, 1_500);
        assert.equal(
          await store.workflows.finish('wf-1', 'exec-b', { status: 'succeeded', output: '1' }, 2),
          false,
        );
        assert.equal(
          await store.workflows.finish(
            'wf-1',
            'exec-a',
            { status: 'succeeded', output: '{"logs":[]}' },
            3_000,
          ),
          true,
        );
        assert.deepEqual(
          await store.workflows.get('wf-1'),
          workflowOf({ status: 'succeeded', owner: 'exec-a', output: '{"logs":[]}', updatedAt: 3_000 }),
        );
        assert.equal(
          await store.workflows.finish('wf-1', 'exec-a', { status: 'failed', error: '"x"' }, 4_000),
          false,
        );
        assert.equal(await store.workflows.claim('wf-1', 'exec-b', 'exec-a', 4_000), false);
        assert.equal((await store.workflows.get('wf-1'))?.status, 'succeeded');

        await running(store, 'exec-a', workflowOf({ id: 'wf-2' }));
        const error = '{"name":"TimeoutError","message":"operation timed out after 5 ms","code":"TIMEOUT"}';
        assert.equal(
          await store.workflows.finish('wf-2', 'exec-a', { status: 'failed', error }, 5_000),
          true,
        );
        assert.deepEqual(
          await store.workflows.get('wf-2'),
          workflowOf({ id: 'wf-2', status: 'failed', owner: 'exec-a', error, updatedAt: 5_000 }),
        );
      }));

    it('cancels any unfinished workflow once; a cancelled one refuses steps, finish and claims', () =>
      withStore(open, async (store) => {
        assert.equal(await store.workflows.cancel('wf-1', 2_000), false);
        await store.workflows.create(workflowOf({ id: 'wf-pending' }));
        assert.equal(await store.workflows.cancel('wf-pending', 2_000), true);
        assert.deepEqual(
          await store.workflows.get('wf-pending'),
          workflowOf({ id: 'wf-pending', status: 'cancelled', updatedAt: 2_000 }),
        );
        assert.equal(await store.workflows.cancel('wf-pending', 2_100), false);
        assert.equal(await store.workflows.claim('wf-pending', 'exec-a', null, 2_200), false);

        await running(store);
        assert.equal(await store.workflows.cancel('wf-1', 3_000), true);
        const cancelled = await store.workflows.get('wf-1');
        assert.equal(cancelled?.status, 'cancelled');
        assert.equal(cancelled?.updatedAt, 3_000);
        assert.equal(await store.workflows.recordStep(stepOf(0), 'exec-a'), false);
        assert.equal(
          await store.workflows.finish('wf-1', 'exec-a', { status: 'succeeded', output: '1' }, 4),
          false,
        );
        assert.equal(await store.workflows.claim('wf-1', 'exec-b', 'exec-a', 4_000), false);
        assert.deepEqual(await store.workflows.steps('wf-1'), []);

        await running(store, 'exec-a', workflowOf({ id: 'wf-done' }));
        await store.workflows.finish('wf-done', 'exec-a', { status: 'failed', error: '"e"' }, 5_000);
        assert.equal(await store.workflows.cancel('wf-done', 6_000), false);
        assert.equal((await store.workflows.get('wf-done'))?.status, 'failed');
      }));
  });

  describe('workflows: steps', () => {
    it('records a step only for the owner of a running workflow', () =>
      withStore(open, async (store) => {
        assert.equal(await store.workflows.recordStep(stepOf(0), 'exec-a'), false);
        await store.workflows.create(workflowOf());
        assert.equal(await store.workflows.recordStep(stepOf(0), 'exec-a'), false, 'pending, unowned');
        await store.workflows.claim('wf-1', 'exec-a', null, 1_500);
        assert.equal(await store.workflows.recordStep(stepOf(0), 'exec-b'), false, 'not the owner');
        assert.equal(await store.workflows.recordStep(stepOf(0), 'exec-a'), true);
        assert.deepEqual(await store.workflows.steps('wf-1'), [stepOf(0)]);
        await store.workflows.claim('wf-1', 'exec-b', 'exec-a', 1_600);
        assert.equal(await store.workflows.recordStep(stepOf(1), 'exec-a'), false, 'taken over');
        assert.equal(await store.workflows.recordStep(stepOf(1), 'exec-b'), true);
        await store.workflows.finish('wf-1', 'exec-b', { status: 'succeeded', output: 'null' }, 3_000);
        assert.equal(await store.workflows.recordStep(stepOf(2), 'exec-b'), false, 'finished');
        assert.deepEqual(await store.workflows.steps('wf-1'), [stepOf(0), stepOf(1)]);
      }));

    it('refuses a second record at one position, keeping the first', () =>
      withStore(open, async (store) => {
        await running(store);
        assert.equal(await store.workflows.recordStep(stepOf(0), 'exec-a'), true);
        const other = stepOf(0, { name: 'other', output: '"second"', checksum: 'c2', attempts: 3 });
        assert.equal(await store.workflows.recordStep(other, 'exec-a'), false);
        assert.deepEqual(await store.workflows.steps('wf-1'), [stepOf(0)]);
      }));

    it('lets exactly one of many concurrent records at one position win', () =>
      withStore(open, async (store) => {
        await running(store);
        const attempts = Array.from({ length: 6 }, (_, index) => stepOf(0, { output: `${index}` }));
        const outcomes = await Promise.all(
          attempts.map((step) => store.workflows.recordStep(step, 'exec-a')),
        );
        assert.equal(outcomes.filter(Boolean).length, 1);
        assert.deepEqual(await store.workflows.steps('wf-1'), [attempts[outcomes.indexOf(true)]]);
      }));

    it('answers steps in position order, per workflow', () =>
      withStore(open, async (store) => {
        await running(store);
        await running(store, 'exec-a', workflowOf({ id: 'wf-2' }));
        for (const position of [2, 0, 3, 1]) await store.workflows.recordStep(stepOf(position), 'exec-a');
        await store.workflows.recordStep(stepOf(0, { workflowId: 'wf-2', name: 'only' }), 'exec-a');
        assert.deepEqual(await store.workflows.steps('wf-1'), [stepOf(0), stepOf(1), stepOf(2), stepOf(3)]);
        assert.deepEqual(await store.workflows.steps('wf-2'), [
          stepOf(0, { workflowId: 'wf-2', name: 'only' }),
        ]);
        assert.deepEqual(await store.workflows.steps('absent'), []);
      }));

    it('records failed steps with their serialised error', () =>
      withStore(open, async (store) => {
        await running(store);
        const failed = stepOf(0, {
          status: 'failed',
          output: '{"name":"Error","message":"no"}',
          attempts: 4,
        });
        assert.equal(await store.workflows.recordStep(failed, 'exec-a'), true);
        assert.deepEqual(await store.workflows.steps('wf-1'), [failed]);
      }));

    it('records many concurrent steps of many workflows, each answered for itself', () =>
      withStore(open, async (store) => {
        const ids = Array.from({ length: 8 }, (_, index) => `wf-${index}`);
        for (const id of ids) await running(store, 'exec-a', workflowOf({ id }));
        await store.workflows.cancel('wf-7', 1_900);
        const outcomes = await Promise.all(
          ids.flatMap((id) =>
            [0, 1, 2].map((position) =>
              store.workflows.recordStep(
                stepOf(position, { workflowId: id }),
                id === 'wf-6' ? 'exec-x' : 'exec-a',
              ),
            ),
          ),
        );
        assert.deepEqual(
          outcomes,
          ids.flatMap((id) => [0, 1, 2].map(() => id !== 'wf-6' && id !== 'wf-7')),
        );
        for (const id of ids.slice(0, 6)) {
          assert.deepEqual(
            await store.workflows.steps(id),
            [0, 1, 2].map((position) => stepOf(position, { workflowId: id })),
          );
        }
        assert.deepEqual(await store.workflows.steps('wf-6'), []);
        assert.deepEqual(await store.workflows.steps('wf-7'), []);
      }));
  });

  describe('workflows: values and executors', () => {
    it('keeps input, output, error and step outputs byte for byte, including unicode and 1 MB', () =>
      withStore(open, async (store) => {
        const values = [...EXACT_VALUES, { label: '1 MB', text: largeJson() }];
        for (const [index, { text }] of values.entries()) {
          const id = `wf-${index}`;
          await running(store, 'exec-a', workflowOf({ id, input: text }));
          assert.equal(
            await store.workflows.recordStep(stepOf(0, { workflowId: id, output: text }), 'exec-a'),
            true,
          );
          const outcome =
            index % 2 === 0
              ? { status: 'succeeded' as const, output: text }
              : { status: 'failed' as const, error: text };
          assert.equal(await store.workflows.finish(id, 'exec-a', outcome, 9_000), true);
        }
        for (const [index, { label, text }] of values.entries()) {
          const workflow = await store.workflows.get(`wf-${index}`);
          assertSameText(workflow?.input, text, `${label} (input)`);
          assertSameText(index % 2 === 0 ? workflow?.output : workflow?.error, text, `${label} (outcome)`);
          assertSameText((await store.workflows.steps(`wf-${index}`))[0]?.output, text, `${label} (step)`);
        }
      }));

    it('answers copies: changing a returned record changes nothing stored', () =>
      withStore(open, async (store) => {
        const given = workflowOf();
        const { workflow } = await store.workflows.create(given);
        given.status = 'failed';
        workflow.owner = 'mallory';
        (await store.workflows.get('wf-1'))!.status = 'succeeded';
        (await store.workflows.list())[0]!.name = 'changed';
        assert.deepEqual(await store.workflows.get('wf-1'), workflowOf());
        await store.workflows.claim('wf-1', 'exec-a', null, 1_500);
        const step = stepOf(0);
        await store.workflows.recordStep(step, 'exec-a');
        step.output = 'changed';
        (await store.workflows.steps('wf-1'))[0]!.output = 'changed';
        assert.deepEqual(await store.workflows.steps('wf-1'), [stepOf(0)]);
      }));

    it('upserts executor heartbeats, lists them by id, and forgets removed ones', () =>
      withStore(open, async (store) => {
        assert.deepEqual(await store.workflows.executors(), []);
        await store.workflows.heartbeat({ id: 'exec-b', host: 'host-1', pid: 42, heartbeatAt: 1_000 });
        await store.workflows.heartbeat({ id: 'exec-a', host: 'host-2', pid: 7, heartbeatAt: 1_100 });
        await store.workflows.heartbeat({ id: 'exec-b', host: 'host-1', pid: 43, heartbeatAt: 2_000 });
        assert.deepEqual(await store.workflows.executors(), [
          { id: 'exec-a', host: 'host-2', pid: 7, heartbeatAt: 1_100 },
          { id: 'exec-b', host: 'host-1', pid: 43, heartbeatAt: 2_000 },
        ]);
        await store.workflows.removeExecutor('exec-b');
        await store.workflows.removeExecutor('absent');
        assert.deepEqual(await store.workflows.executors(), [
          { id: 'exec-a', host: 'host-2', pid: 7, heartbeatAt: 1_100 },
        ]);
      }));
  });
}
