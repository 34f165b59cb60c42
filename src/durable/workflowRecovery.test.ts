// The durable workflow engine (SPEC 3.2) on every store: cancel, close, recover (only the
// workflows of gone owners, or its own), list, executors sharing one store (one run at a time,
// lease takeover, periodic recovery), a failing store, and the one write per step.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deadPid,
  deferred,
  forEachBackend,
  T0,
  threeSteps,
  until,
  withWorkflowStore,
} from '../../test/support/workflowBackends.ts';
import { manualClock } from '../policies/index.ts';
import type { WorkflowRecord, WorkflowStore } from '../store/index.ts';
import {
  WorkflowCancelledError,
  WorkflowEngineClosedError,
  WorkflowOwnershipLostError,
} from './workflowErrors.ts';
import type { WorkflowEngine } from './workflows.ts';

forEachBackend((fixture) => {
  const { open, reopen, engineOn, crashedInStepC } = fixture;
  const backend = fixture;

  describe(`workflows on ${backend.name}: cancel, close, recover, list`, () => {
    it('cancel aborts a running workflow: its signal aborts, nothing more runs, result() rejects', async () => {
      const store = await open();
      const engine = engineOn(store);
      let stepSignal: AbortSignal | undefined;
      let ranAfter = false;
      engine.register('long', async (ctx) => {
        await ctx.step('wait', (context) => {
          stepSignal = context.signal;
          return new Promise((_, reject) =>
            context.signal.addEventListener('abort', () => reject(context.signal.reason)),
          );
        });
        ranAfter = true;
      });
      const handle = await engine.start('long', null, { id: 'c' });
      await until(() => stepSignal !== undefined);
      assert.equal(await engine.cancel('c'), true);
      const error = await handle.result().catch((e) => e);
      assert.ok(error instanceof WorkflowCancelledError, String(error));
      assert.equal(stepSignal?.aborted, true);
      assert.equal(ranAfter, false);
      assert.equal((await engine.get('c'))?.status, 'cancelled');
      assert.deepEqual(await store.workflows.steps('c'), []);
      assert.equal(await engine.cancel('c'), false);
      // Another engine's result() of it rejects the same way.
      await assert.rejects(engineOn(await reopen(store)).result('c'), WorkflowCancelledError);
    });

    it('a cancel made through another engine stops the run at its next checkpoint', async () => {
      const store = await open();
      const engine = engineOn(store);
      const gate = deferred();
      const ran: string[] = [];
      engine.register('two', async (ctx) => {
        await ctx.step('one', async () => {
          await gate.promise;
          ran.push('one');
        });
        await ctx.step('two', () => ran.push('two'));
      });
      const handle = await engine.start('two', null, { id: 'c2' });
      const other = engineOn(await reopen(store));
      assert.equal(await other.cancel('c2'), true);
      gate.resolve();
      await assert.rejects(handle.result(), WorkflowCancelledError);
      assert.deepEqual(ran, ['one']);
      assert.deepEqual(await store.workflows.steps('c2'), []);
    });

    it('cancel of a finished workflow answers false and changes nothing', async () => {
      const engine = engineOn(await open());
      engine.register('quick', async () => 'ok');
      await (await engine.start('quick', null, { id: 'q' })).result();
      assert.equal(await engine.cancel('q'), false);
      assert.equal((await engine.get('q'))?.status, 'succeeded');
      assert.equal(await engine.cancel('never-existed'), false);
    });

    it('close() stops local runs, removes the executor record, and refuses further starts', async () => {
      const store = await open();
      const engine = engineOn(store, { executorId: 'closing' });
      let signal: AbortSignal | undefined;
      engine.register('forever', async (ctx) => {
        signal = ctx.signal;
        await ctx.step('hang', () => new Promise(() => {}));
      });
      const handle = await engine.start('forever', null, { id: 'f' });
      await until(() => signal !== undefined);
      assert.deepEqual(
        (await store.workflows.executors()).map((executor) => executor.id),
        ['closing'],
      );
      await engine.close();
      assert.ok(signal?.aborted);
      assert.ok(signal?.reason instanceof WorkflowEngineClosedError);
      assert.deepEqual(await store.workflows.executors(), []);
      assert.equal((await store.workflows.get('f'))?.status, 'running');
      await assert.rejects(handle.result(), WorkflowEngineClosedError);
      await assert.rejects(engine.start('forever'), WorkflowEngineClosedError);
      await assert.rejects(engine.recover(), WorkflowEngineClosedError);
      await engine.close(); // twice is fine
    });

    it('recover() takes over only unfinished workflows whose owner is gone, or its own', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const engine = engineOn(store, { executorId: 'me', clock, leaseMs: 10_000 });
      const ran: string[] = [];
      engine.register('job', async (ctx) =>
        ctx.step('work', () => {
          ran.push(ctx.workflowId);
          return 'done';
        }),
      );
      const now = clock.now();
      const record = (
        id: string,
        owner: string | null,
        status: WorkflowRecord['status'] = 'running',
        name = 'job',
      ) =>
        store.workflows.create({
          id,
          name,
          status,
          input: 'null',
          output: null,
          error: null,
          owner,
          createdAt: now,
          updatedAt: now,
        });
      const beat = (id: string, host: string, pid: number, heartbeatAt: number) =>
        store.workflows.heartbeat({ id, host, pid, heartbeatAt });
      await record('unclaimed', null, 'pending');
      await record('own', 'me');
      await record('dead-pid', 'ghost');
      await beat('ghost', engine.host, deadPid(), now);
      await record('lapsed', 'silent');
      await beat('silent', 'elsewhere', 1, now - 10_001);
      await record('no-record', 'vanished');
      await record('alive-elsewhere', 'busy');
      await beat('busy', 'elsewhere', 1, now - 9_000);
      await record('alive-here', 'neighbour');
      await beat('neighbour', engine.host, process.ppid, now);
      await record('finished', null, 'succeeded');
      await record('cancelled', 'vanished', 'cancelled');
      await record('unregistered', null, 'pending', 'mystery');
      await record('unregistered-live', 'busy', 'running', 'mystery');

      const recovered = await engine.recover();
      assert.deepEqual(recovered.resumed.sort(), ['dead-pid', 'lapsed', 'no-record', 'own', 'unclaimed']);
      assert.deepEqual(recovered.unknown, [{ id: 'unregistered', name: 'mystery' }]);
      for (const id of recovered.resumed) assert.equal(await engine.result(id), 'done');
      assert.deepEqual(ran.sort(), ['dead-pid', 'lapsed', 'no-record', 'own', 'unclaimed']);
      const list = async (status: WorkflowRecord['status']) =>
        (await engine.list({ status })).map((workflow) => workflow.id).sort();
      assert.deepEqual(await list('running'), ['alive-elsewhere', 'alive-here', 'unregistered-live']);
      assert.deepEqual(await list('pending'), ['unregistered']);
      assert.deepEqual(await list('succeeded'), [
        'dead-pid',
        'finished',
        'lapsed',
        'no-record',
        'own',
        'unclaimed',
      ]);
      assert.deepEqual(await list('cancelled'), ['cancelled']);
      assert.equal((await store.workflows.get('alive-elsewhere'))?.owner, 'busy');
      // Once the busy executor's lease lapses, the next pass takes its workflow.
      clock.advance(1_001);
      assert.deepEqual((await engine.recover()).resumed, ['alive-elsewhere']);
    });

    it('list() filters by status (one or several) and name, newest first, without steps', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const engine = engineOn(store, { clock });
      engine.register('ok', async (ctx) => ctx.step('s', () => 'fine'));
      engine.register('ko', async () => {
        throw new Error('no');
      });
      engine.register('hang', async (ctx) => ctx.step('s', () => new Promise(() => {})));
      for (const [name, id] of [
        ['ok', 'ok-1'],
        ['ko', 'ko-1'],
        ['ok', 'ok-2'],
        ['hang', 'hang-1'],
        ['hang', 'hang-2'],
      ] as const) {
        const handle = await engine.start(name, null, { id });
        if (name !== 'hang') await handle.result().catch(() => undefined);
        clock.advance(1);
      }
      await engine.cancel('hang-1');
      const ids = async (options: Parameters<WorkflowEngine['list']>[0]) =>
        (await engine.list(options)).map((workflow) => workflow.id);
      assert.deepEqual(await ids({ status: 'succeeded' }), ['ok-2', 'ok-1']);
      assert.deepEqual(await ids({ status: 'failed' }), ['ko-1']);
      assert.deepEqual(await ids({ status: 'running' }), ['hang-2']);
      assert.deepEqual(await ids({ status: 'cancelled' }), ['hang-1']);
      assert.deepEqual(await ids({ status: ['failed', 'running'] }), ['hang-2', 'ko-1']);
      assert.deepEqual(await ids({ name: 'ok', limit: 1 }), ['ok-2']);
      assert.deepEqual(await ids({}), ['hang-2', 'hang-1', 'ok-2', 'ko-1', 'ok-1']);
      const [summary] = await engine.list({ status: 'failed' });
      assert.equal(summary?.error?.message, 'no');
      assert.equal('steps' in summary!, false);
    });
  });

  describe(`workflows on ${backend.name}: executors sharing one store`, () => {
    it('two engines recovering the same workflows at once run each exactly once', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const running = new Map<string, number>();
      const executions = new Map<string, string[]>();
      let overlap = false;
      const define = (engine: WorkflowEngine) =>
        engine.register('shared', async (ctx) => {
          for (let n = 0; n < 3; n++) {
            await ctx.step(`s${n}`, async () => {
              const now = (running.get(ctx.workflowId) ?? 0) + 1;
              running.set(ctx.workflowId, now);
              if (now > 1) overlap = true;
              await new Promise((resolve) => setImmediate(resolve));
              running.set(ctx.workflowId, now - 1);
              executions.set(ctx.workflowId, [...(executions.get(ctx.workflowId) ?? []), engine.executorId]);
              return n;
            });
          }
          return engine.executorId;
        });
      const ids = Array.from({ length: 20 }, (_, n) => `w${n}`);
      for (const id of ids) {
        await store.workflows.create({
          id,
          name: 'shared',
          status: 'pending',
          input: 'null',
          output: null,
          error: null,
          owner: null,
          createdAt: T0,
          updatedAt: T0,
        });
      }
      const left = engineOn(store, { executorId: 'left', clock });
      const right = engineOn(await reopen(store), { executorId: 'right', clock });
      define(left);
      define(right);
      const [fromLeft, fromRight] = await Promise.all([left.recover(), right.recover()]);
      assert.deepEqual([...fromLeft.resumed, ...fromRight.resumed].sort(), [...ids].sort());
      const owners = await Promise.all(ids.map((id) => left.result(id)));
      assert.equal(overlap, false);
      for (const [index, id] of ids.entries()) {
        assert.deepEqual(executions.get(id), [owners[index], owners[index], owners[index]], id);
        assert.equal(fromLeft.resumed.includes(id), owners[index] === 'left');
      }
    });

    it('a live executor whose lease lapsed loses its workflow: the taker runs it, the loser records nothing', async () => {
      const store = await open();
      const slowClock = manualClock(T0);
      const clock = manualClock(T0);
      const gate = deferred();
      const executions: string[] = [];
      let loserSignal: AbortSignal | undefined;
      const define = (engine: WorkflowEngine, block: Promise<void>) =>
        engine.register('leased', async (ctx) => {
          await ctx.step('first', () => executions.push(`first@${engine.executorId}`));
          await ctx.step('second', async (context) => {
            if (engine.executorId === 'slow') loserSignal = context.signal;
            await block;
            executions.push(`second@${engine.executorId}`);
          });
          await ctx.step('third', () => executions.push(`third@${engine.executorId}`));
          return engine.executorId;
        });
      const slow = engineOn(store, { executorId: 'slow', clock: slowClock, leaseMs: 3_000 });
      define(slow, gate.promise);
      const slowHandle = await slow.start('leased', null, { id: 'l' });
      await until(() => loserSignal !== undefined);

      const taker = engineOn(await reopen(store), { executorId: 'taker', clock, leaseMs: 3_000 });
      define(taker, Promise.resolve());
      assert.deepEqual((await taker.recover()).resumed, [], 'not while its lease holds');
      clock.advance(3_001);
      assert.deepEqual((await taker.recover()).resumed, ['l']);
      assert.equal(await taker.result('l'), 'taker');

      // The slow executor wakes up: its heartbeat's lease check sees the loss and aborts the step.
      await slowClock.tickAsync(1_000);
      await until(() => loserSignal?.aborted === true, 'the loser notices');
      assert.ok(loserSignal?.reason instanceof WorkflowOwnershipLostError);
      gate.resolve();
      assert.equal(await slowHandle.result(), 'taker');
      assert.deepEqual(executions, ['first@slow', 'second@taker', 'third@taker', 'second@slow']);
      assert.deepEqual(
        (await store.workflows.steps('l')).map((step) => step.output),
        ['1', '{"$rebound":"undefined"}', '3'],
      );
    });

    it('a surviving engine takes over a gone executor by itself, with periodic recovery', async () => {
      const store = await open();
      const counts = new Map<string, number>();
      await crashedInStepC(store, counts);
      const clock = manualClock(T0);
      const survivor = engineOn(await reopen(store), {
        executorId: 'survivor',
        clock,
        leaseMs: 3_000,
        recoverEveryMs: 1_000,
      });
      threeSteps(survivor, counts);
      survivor.register('other', async () => 'x');
      const recovered: string[][] = [];
      survivor.onRecover((result) => recovered.push(result.resumed));
      await (await survivor.start('other')).result();
      assert.equal((await store.workflows.get('wf-1'))?.owner, 'crashed');
      await clock.tickAsync(1_000);
      await until(() => recovered.length > 0, 'periodic recovery');
      assert.deepEqual(recovered, [['wf-1']]);
      assert.deepEqual(await survivor.result('wf-1'), { a: 2, b: 20, c: 21 });
      assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1, c: 1 });
    });

    it('heartbeats on its clock, and result() polls the store while another executor runs the workflow', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const runner = engineOn(store, { executorId: 'runner', clock, leaseMs: 3_000 });
      const gate = deferred();
      runner.register('wait', async (ctx) => ctx.step('gate', () => gate.promise.then(() => 'opened')));
      await runner.start('wait', null, { id: 'w' });
      const beats = async () =>
        (await store.workflows.executors()).find((e) => e.id === 'runner')?.heartbeatAt;
      assert.equal(await beats(), T0);
      await clock.tickAsync(1_000);
      await until(async () => (await beats()) === T0 + 1_000, 'a heartbeat');

      let answer: unknown;
      let polls = 0;
      const watched = withWorkflowStore(await reopen(store), (inner) => ({
        get: (id) => {
          polls++;
          return inner.get(id);
        },
      }));
      const polling = engineOn(watched, { clock, pollMs: 20 });
      polling.register('wait', async () => 'never runs here');
      const watching = polling.result('w').then((value) => (answer = value));
      await until(() => polls >= 3, 'result() polls in real time, whatever the engine clock');
      assert.equal(answer, undefined);
      gate.resolve();
      await watching;
      assert.equal(answer, 'opened');
    });
  });

  describe(`workflows on ${backend.name}: a failing store`, () => {
    it('a step record the store fails to write stops the run; recovery resumes it from its checkpoints', async () => {
      const base = await open();
      let failNext = false;
      const flaky = withWorkflowStore(base, (inner) => ({
        recordStep: (step, owner) => {
          if (!failNext) return inner.recordStep(step, owner);
          failNext = false;
          return Promise.reject(new Error('connection reset'));
        },
      }));
      const engine = engineOn(flaky, { pollMs: 5 });
      const runs = { a: 0, b: 0 };
      let signal: AbortSignal | undefined;
      engine.register('fragile', async (ctx) => {
        signal = ctx.signal;
        await ctx.step('a', () => ++runs.a);
        failNext = runs.b === 0;
        try {
          await ctx.step('b', () => ++runs.b);
        } catch {
          // Catching the store's failure does not let the run go on past an unrecorded step.
        }
        return ctx.step('c', () => 'finished');
      });
      const handle = await engine.start('fragile', null, { id: 'fr' });
      const result = handle.result();
      await until(() => signal?.aborted === true, 'the run stops');
      assert.equal((signal?.reason as Error).message, 'connection reset');
      assert.equal((await base.workflows.get('fr'))?.status, 'running');
      assert.deepEqual(
        (await base.workflows.steps('fr')).map((step) => step.name),
        ['a'],
      );
      // Still this executor's: its own recover() (or the periodic one) picks it up again.
      assert.deepEqual((await engine.recover()).resumed, ['fr']);
      assert.equal(await result, 'finished');
      assert.deepEqual(runs, { a: 1, b: 2 });
    });

    it('a failing heartbeat is reported through onError and tried again next period', async () => {
      const base = await open();
      const clock = manualClock(T0);
      let failing = false;
      const flaky = withWorkflowStore(base, (inner) => ({
        heartbeat: (executor) =>
          failing ? Promise.reject(new Error('store down')) : inner.heartbeat(executor),
      }));
      const engine = engineOn(flaky, { executorId: 'beating', clock, leaseMs: 3_000 });
      const errors: string[] = [];
      engine.onError((event) => errors.push(`${event.during}: ${(event.error as Error).message}`));
      engine.register('noop', async () => 'ok');
      await (await engine.start('noop')).result();
      failing = true;
      await clock.tickAsync(1_000);
      await until(() => errors.length === 1, 'the failure is reported');
      assert.deepEqual(errors, ['heartbeat: store down']);
      failing = false;
      await clock.tickAsync(1_000);
      await until(
        async () => (await base.workflows.executors())[0]?.heartbeatAt === T0 + 2_000,
        'the next heartbeat',
      );
      assert.equal(errors.length, 1);
    });

    it('result() stops waiting when its signal aborts; the workflow goes on', async () => {
      const engine = engineOn(await open());
      const gate = deferred();
      engine.register('slow', async (ctx) => ctx.step('wait', () => gate.promise.then(() => 'late')));
      const handle = await engine.start('slow', null, { id: 'sl' });
      const controller = new AbortController();
      const waiting = handle.result({ signal: controller.signal });
      controller.abort(new Error('gave up'));
      await assert.rejects(waiting, /gave up/);
      gate.resolve();
      assert.equal(await handle.result(), 'late');
    });
  });

  describe(`workflows on ${backend.name}: the hot path`, () => {
    it('writes one recordStep per step and nothing else per step', async () => {
      const base = await open();
      const writes: string[] = [];
      const counted = withWorkflowStore(base, (inner) => {
        const wrapped: Partial<WorkflowStore> = {};
        for (const method of [
          'create',
          'recordStep',
          'finish',
          'cancel',
          'claim',
          'heartbeat',
          'removeExecutor',
        ] as const) {
          (wrapped as Record<string, unknown>)[method] = (...args: unknown[]) => {
            writes.push(method);
            return (inner[method] as (...a: unknown[]) => unknown).apply(inner, args);
          };
        }
        return wrapped;
      });
      const engine = engineOn(counted);
      engine.register('ten', async (ctx) => {
        let total = 0;
        for (let n = 0; n < 10; n++) total += await ctx.step(`step-${n}`, () => n);
        return total;
      });
      assert.equal(await (await engine.start('ten')).result(), 45);
      assert.deepEqual(writes, ['heartbeat', 'create', ...Array(10).fill('recordStep'), 'finish']);
      writes.length = 0;
      assert.equal(await (await engine.start('ten')).result(), 45);
      assert.deepEqual(writes, ['create', ...Array(10).fill('recordStep'), 'finish']);
    });
  });
});
