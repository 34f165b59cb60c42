// The durable workflow engine (SPEC 3.2) on every store: start and result, ids that run once, replay
// without re-running, divergence, corrupted checkpoints, step retry and timeout, durable sleep.
// Cancel, close, recovery and executors sharing a store: workflowRecovery.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deferred,
  forEachBackend,
  T0,
  threeSteps,
  until,
  withWorkflowStore,
} from '../../test/support/workflowBackends.ts';
import {
  type ExecuteContext,
  InvalidOptionsError,
  isTimeoutError,
  type ManualClock,
  manualClock,
  permanent,
  TimeoutError,
} from '../policies/index.ts';
import { openStore } from '../store/index.ts';
import { CheckpointCorruptedError, WorkflowDivergenceError } from './errors.ts';
import { checksumOf } from './serialize.ts';
import {
  UnknownWorkflowError,
  WorkflowAlreadyRegisteredError,
  WorkflowConflictError,
  WorkflowSerializationError,
} from './workflowErrors.ts';
import { type WorkflowEngine, workflows } from './workflows.ts';

forEachBackend((fixture) => {
  const { open, reopen, engineOn, crashedInStepC } = fixture;
  const backend = fixture;

  describe(`workflows on ${backend.name}: start, result, ids`, () => {
    it('runs a workflow and answers its output; get() shows it succeeded with its steps', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const engine = engineOn(store, { clock });
      const counts = new Map<string, number>();
      threeSteps(engine, counts);
      const handle = await engine.start('three', { base: 1 }, { id: 'wf-1' });
      assert.equal(handle.id, 'wf-1');
      assert.equal(handle.name, 'three');
      assert.deepEqual(await handle.result(), { a: 2, b: 20, c: 21 });

      const info = await engine.get('wf-1');
      assert.equal(info?.status, 'succeeded');
      assert.deepEqual(info?.input, { base: 1 });
      assert.deepEqual(info?.output, { a: 2, b: 20, c: 21 });
      assert.equal(info?.owner, engine.executorId);
      assert.deepEqual(
        info?.steps.map(({ position, name, status, attempts, startedAt, endedAt }) => ({
          position,
          name,
          status,
          attempts,
          startedAt,
          endedAt,
        })),
        ['a', 'b', 'c'].map((name, position) => ({
          position,
          name,
          status: 'succeeded',
          attempts: 1,
          startedAt: T0,
          endedAt: T0,
        })),
      );
      const steps = await store.workflows.steps('wf-1');
      for (const step of steps) assert.equal(step.checksum, checksumOf(step.output));
      assert.equal(await engine.get('nope'), undefined);
    });

    it('gives a started workflow a UUID when no id is given: version 7, ordered by start time', async () => {
      const engine = engineOn(await open());
      engine.register('noop', async () => 'done');
      const before = Date.now();
      const handle = await engine.start('noop');
      const later = await engine.start('noop');
      const after = Date.now();
      const version7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      assert.match(handle.id, version7);
      assert.match(later.id, version7);
      assert.notEqual(handle.id, later.id);
      // The first 48 bits are the start time in milliseconds: ids of workflows started together sort together.
      const timeOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
      assert.ok(timeOf(handle.id) >= before && timeOf(handle.id) <= timeOf(later.id));
      assert.ok(timeOf(later.id) <= after);
      assert.equal(await handle.result(), 'done');
      assert.equal(await later.result(), 'done');
    });

    it('takes a step answer given synchronously, as a promise, or as any thenable', async () => {
      const engine = engineOn(await open());
      const thenable = { then: (resolve: (value: string) => void) => resolve('from a thenable') };
      engine.register('answers', async (ctx) => [
        await ctx.step('sync', () => 'at once'),
        await ctx.step('promise', async () => 'later'),
        await ctx.step('thenable', () => thenable as unknown as PromiseLike<string>),
        await ctx
          .step('sync-throw', () => {
            throw new Error('thrown at once');
          })
          .catch((error: Error) => error.message),
      ]);
      const handle = await engine.start('answers', undefined, { id: 'answers' });
      assert.deepEqual(await handle.result(), ['at once', 'later', 'from a thenable', 'thrown at once']);
      const info = await engine.get('answers');
      assert.deepEqual(
        info?.steps.map((step) => step.status),
        ['succeeded', 'succeeded', 'succeeded', 'failed'],
      );
    });

    it('runs one id once: starting it again (at once or later) answers the same workflow', async () => {
      const store = await open();
      const engine = engineOn(store);
      const counts = new Map<string, number>();
      threeSteps(engine, counts);
      const handles = await Promise.all(
        Array.from({ length: 5 }, () => engine.start('three', { base: 1 }, { id: 'same' })),
      );
      const results = await Promise.all(handles.map((handle) => handle.result()));
      for (const result of results) assert.deepEqual(result, { a: 2, b: 20, c: 21 });
      const later = await engine.start('three', { base: 100 }, { id: 'same' });
      assert.deepEqual(await later.result(), { a: 2, b: 20, c: 21 });
      assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1, c: 1 });
      // From another engine on the same store too.
      const other = engineOn(await reopen(store));
      threeSteps(other, counts);
      assert.deepEqual(await (await other.start('three', { base: 5 }, { id: 'same' })).result(), {
        a: 2,
        b: 20,
        c: 21,
      });
      assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1, c: 1 });
      assert.equal((await engine.list()).length, 1);
    });

    it('refuses an id used by a workflow of another name, and names it has no function for', async () => {
      const engine = engineOn(await open());
      engine.register('first', async () => 1);
      engine.register('second', async () => 2);
      await (await engine.start('first', null, { id: 'taken' })).result();
      await assert.rejects(engine.start('second', null, { id: 'taken' }), WorkflowConflictError);
      await assert.rejects(engine.start('third'), UnknownWorkflowError);
      assert.throws(() => engine.register('first', async () => 3), WorkflowAlreadyRegisteredError);
      assert.throws(() => engine.register('', async () => 3), InvalidOptionsError);
    });

    it('a typed registration starts its workflow', async () => {
      const engine = engineOn(await open());
      const double = engine.register('double', async (ctx, input: number) => ctx.step('x2', () => input * 2));
      assert.equal(await (await double.start(21)).result(), 42);
    });

    it('keeps undefined, marker-like objects and nested values through checkpoints', async () => {
      const store = await open();
      const engine = engineOn(store, { executorId: 'e' });
      const values: unknown[] = [];
      const gate = deferred();
      engine.register('values', async (ctx) => {
        values.push(await ctx.step('nothing', () => undefined));
        values.push(await ctx.step('marker', () => ({ $rebound: 'undefined' })));
        values.push(await ctx.step('nested', () => ({ list: [1, 'two', null, { deep: true }] })));
        await gate.promise;
        return values.length;
      });
      await engine.start('values', undefined, { id: 'v' });
      await until(async () => (await store.workflows.steps('v')).length === 3);
      // A second engine with the same executor id (a restart of the same executor) replays them.
      const restarted = engineOn(await reopen(store), { executorId: 'e' });
      const replayed: unknown[] = [];
      restarted.register('values', async (ctx) => {
        replayed.push(await ctx.step('nothing', () => 'ran again'));
        replayed.push(await ctx.step('marker', () => 'ran again'));
        replayed.push(await ctx.step('nested', () => 'ran again'));
        return replayed.length;
      });
      assert.deepEqual((await restarted.recover()).resumed, ['v']);
      assert.equal(await (await restarted.start('values', undefined, { id: 'v' })).result(), 3);
      assert.deepEqual(replayed, values);
      assert.deepEqual(replayed, [
        undefined,
        { $rebound: 'undefined' },
        { list: [1, 'two', null, { deep: true }] },
      ]);
      assert.equal((await restarted.get('v'))?.input, undefined);
      gate.resolve();
    });

    it('fails a step whose output JSON cannot hold, and refuses such an input', async () => {
      const engine = engineOn(await open());
      engine.register('bigint', async (ctx) => ctx.step('big', () => 10n));
      await assert.rejects(
        (await engine.start('bigint', null, { id: 'b' })).result(),
        WorkflowSerializationError,
      );
      const info = await engine.get('b');
      assert.equal(info?.status, 'failed');
      assert.equal(info?.steps[0]?.status, 'failed');
      assert.equal(info?.steps[0]?.error?.code, 'WORKFLOW_SERIALIZATION');
      await assert.rejects(engine.start('bigint', { n: 1n }), WorkflowSerializationError);
    });
  });

  describe(`workflows on ${backend.name}: replay`, () => {
    it('replays recorded steps after a crash without running them again', async () => {
      const store = await open();
      const counts = new Map<string, number>();
      await crashedInStepC(store, counts);
      assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1 });

      const engine = engineOn(await reopen(store), { executorId: 'successor' });
      threeSteps(engine, counts);
      const recovered = await engine.recover();
      assert.deepEqual(recovered, { resumed: ['wf-1'], unknown: [] });
      const handle = await engine.start('three', { base: 1 }, { id: 'wf-1' });
      assert.deepEqual(await handle.result(), { a: 2, b: 20, c: 21 });
      assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1, c: 1 });
      const info = await engine.get('wf-1');
      assert.equal(info?.status, 'succeeded');
      assert.equal(info?.owner, 'successor');
      assert.equal(info?.steps.length, 3);
    });

    it('starting an interrupted workflow again resumes it when its owner is gone', async () => {
      const store = await open();
      const counts = new Map<string, number>();
      await crashedInStepC(store, counts);
      const engine = engineOn(await reopen(store));
      threeSteps(engine, counts);
      const handle = await engine.start('three', { base: 1 }, { id: 'wf-1' });
      assert.deepEqual(await handle.result(), { a: 2, b: 20, c: 21 });
      assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1, c: 1 });
    });

    it('replays a recorded failed step by throwing its error again, so a caught failure is not retried', async () => {
      const store = await open();
      const runs = { flaky: 0, compensate: 0 };
      const gate = deferred();
      const define = (engine: WorkflowEngine, block: Promise<void>) =>
        engine.register('saga', async (ctx) => {
          try {
            await ctx.step('flaky', () => {
              runs.flaky++;
              const error = new RangeError('out of range') as RangeError & { code: string; detail: unknown };
              error.code = 'E_RANGE';
              error.detail = { limit: 3 };
              throw error;
            });
          } catch (error) {
            await block;
            const caught = error as RangeError & { code: string; detail: unknown };
            return ctx.step('compensate', () => {
              runs.compensate++;
              return {
                undone: caught.message,
                code: caught.code,
                detail: caught.detail,
                range: caught instanceof RangeError,
              };
            });
          }
          return 'unreachable';
        });
      const first = engineOn(store, { executorId: 'first', clock: manualClock(T0) });
      define(first, gate.promise);
      await first.start('saga', null, { id: 's' });
      await until(async () => (await store.workflows.steps('s')).length === 1);
      await store.workflows.removeExecutor('first');

      const second = engineOn(await reopen(store));
      define(second, Promise.resolve());
      await second.recover();
      assert.deepEqual(await (await second.start('saga', null, { id: 's' })).result(), {
        undone: 'out of range',
        code: 'E_RANGE',
        detail: { limit: 3 },
        range: true,
      });
      assert.deepEqual(runs, { flaky: 1, compensate: 1 });
      gate.resolve();
    });

    it('records parallel steps at their own positions and replays each', async () => {
      const store = await open();
      const gate = deferred();
      let executions = 0;
      const define = (engine: WorkflowEngine, block: Promise<void>) =>
        engine.register('fan-out', async (ctx) => {
          const parts = await Promise.all(
            [0, 1, 2, 3].map((n) =>
              ctx.step(`part-${n}`, async () => {
                executions++;
                if (n === 3) await block;
                return n * n;
              }),
            ),
          );
          return parts;
        });
      const first = engineOn(store, { executorId: 'first', clock: manualClock(T0) });
      define(first, gate.promise);
      await first.start('fan-out', null, { id: 'f' });
      await until(async () => (await store.workflows.steps('f')).length === 3);
      await store.workflows.removeExecutor('first');
      const second = engineOn(await reopen(store));
      define(second, Promise.resolve());
      await second.recover();
      assert.deepEqual(await (await second.start('fan-out', null, { id: 'f' })).result(), [0, 1, 4, 9]);
      assert.equal(executions, 5); // four first, then only the unrecorded one again
      assert.deepEqual(
        (await store.workflows.steps('f')).map((step) => step.name),
        ['part-0', 'part-1', 'part-2', 'part-3'],
      );
      gate.resolve();
    });

    it('a step name other than the recorded one is a WorkflowDivergenceError and fails the workflow', async () => {
      const store = await open();
      await crashedInStepC(store, new Map());
      const engine = engineOn(await reopen(store));
      let afterwards = 0;
      engine.register('three', async (ctx) => {
        await ctx.step('a', () => 'not run');
        try {
          await ctx.step('renamed', () => 'not run');
        } catch {
          // Swallowing it does not save the run: the workflow fails anyway, and steps refuse to run.
          await ctx.step('c', () => afterwards++).catch(() => undefined);
        }
        return 'done';
      });
      await engine.recover();
      const rejection = await (
        await engine.start('three', null, { id: 'wf-1' })
      )
        .result()
        .catch((error) => error);
      assert.ok(rejection instanceof WorkflowDivergenceError);
      assert.equal(rejection.position, 1);
      assert.equal(rejection.expected, 'b');
      assert.equal(rejection.actual, 'renamed');
      assert.equal(afterwards, 0);
      const info = await engine.get('wf-1');
      assert.equal(info?.status, 'failed');
      assert.equal(info?.error?.code, 'WORKFLOW_DIVERGENCE');
      // Read back from the store by another engine, it is still that error.
      const reader = engineOn(await reopen(store));
      await assert.rejects(reader.result('wf-1'), WorkflowDivergenceError);
    });

    it('a workflow that ends before its recorded steps diverges too', async () => {
      const store = await open();
      await crashedInStepC(store, new Map());
      const engine = engineOn(await reopen(store));
      engine.register('three', async (ctx) => ctx.step('a', () => 'not run'));
      await engine.recover();
      const rejection = await engine.result('wf-1').catch((error) => error);
      assert.ok(rejection instanceof WorkflowDivergenceError, String(rejection));
      assert.equal(rejection.position, 1);
      assert.equal((await engine.get('wf-1'))?.status, 'failed');
    });

    it('a checkpoint altered in the store is a CheckpointCorruptedError and fails the workflow', async () => {
      const store = await open();
      const counts = new Map<string, number>();
      await crashedInStepC(store, counts);
      const [, recorded] = await store.workflows.steps('wf-1');
      assert.equal(recorded?.output, '20');
      const damaged = await backend.tamper(await reopen(store), 'wf-1', 1, '21');
      const engine = engineOn(damaged);
      threeSteps(engine, counts);
      await engine.recover();
      const rejection = await engine.result('wf-1').catch((error) => error);
      assert.ok(rejection instanceof CheckpointCorruptedError, String(rejection));
      assert.equal(rejection.position, 1);
      assert.equal(rejection.step, 'b');
      assert.equal((await engine.get('wf-1'))?.status, 'failed');
      assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1 });
    });

    it('a checkpoint that is not JSON any more is corrupted too, even with its checksum fixed up', async () => {
      const store = await open();
      await crashedInStepC(store, new Map());
      const broken = '{not json';
      const damaged = withWorkflowStore(await reopen(store), (inner) => ({
        steps: async (id) =>
          (await inner.steps(id)).map((step) =>
            step.position === 0 ? { ...step, output: broken, checksum: checksumOf(broken) } : step,
          ),
      }));
      const engine = engineOn(damaged);
      threeSteps(engine, new Map());
      await engine.recover();
      await assert.rejects(engine.result('wf-1'), CheckpointCorruptedError);
    });
  });

  describe(`workflows on ${backend.name}: step policies and failures`, () => {
    it('retries a step under its retry options and records how many attempts it took', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const engine = engineOn(store, { clock });
      const attempts: number[] = [];
      engine.register('retrying', async (ctx) =>
        ctx.step(
          'flaky',
          (context: ExecuteContext) => {
            attempts.push(context.attempt);
            if (attempts.length < 3) throw new Error(`attempt ${context.attempt} failed`);
            return 'third time';
          },
          { retry: { maxRetries: 5, backoff: { kind: 'constant', delayMs: 1_000 } } },
        ),
      );
      const handle = await engine.start('retrying', null, { id: 'r' });
      let settled = false;
      const result = handle.result().finally(() => (settled = true));
      await until(() => attempts.length === 1);
      await clock.tickAsync(999);
      assert.equal(attempts.length, 1, 'the backoff runs on the engine clock');
      await clock.tickAsync(1);
      await until(() => attempts.length === 2);
      await clock.tickAsync(1_000);
      assert.equal(await result, 'third time');
      assert.ok(settled);
      assert.deepEqual(attempts, [0, 1, 2]);
      const [step] = (await engine.get('r'))!.steps;
      assert.equal(step?.attempts, 3);
      assert.equal(step?.startedAt, T0);
      assert.equal(step?.endedAt, T0 + 2_000);
    });

    it('times a step out under timeoutMs: the result rejects with TimeoutError and the step shows failed', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const engine = engineOn(store, { clock });
      const signals: AbortSignal[] = [];
      engine.register('slow', async (ctx) => {
        await ctx.step('quick', () => 1);
        return ctx.step(
          'hangs',
          (context) => {
            signals.push(context.signal);
            return new Promise(() => {});
          },
          { timeoutMs: 5_000, retry: { maxRetries: 1, backoff: { kind: 'constant', delayMs: 0 } } },
        );
      });
      const handle = await engine.start('slow', null, { id: 't' });
      const outcome = handle.result().catch((error) => error);
      await until(() => signals.length === 1);
      await clock.tickAsync(4_999);
      assert.equal(signals[0]?.aborted, false);
      await clock.tickAsync(1);
      await until(() => signals.length === 2);
      assert.ok(signals[0]?.reason instanceof TimeoutError, "the attempt's signal aborts at its deadline");
      await clock.tickAsync(5_000);
      const error = await outcome;
      assert.ok(isTimeoutError(error), String(error));
      assert.ok(error instanceof TimeoutError);
      const info = await engine.get('t');
      assert.equal(info?.status, 'failed');
      assert.equal(info?.error?.code, 'TIMEOUT');
      assert.deepEqual(
        info?.steps.map((step) => [step.name, step.status, step.attempts, step.error?.name]),
        [
          ['quick', 'succeeded', 1, undefined],
          ['hangs', 'failed', 2, 'TimeoutError'],
        ],
      );
    });

    it('a failing step fails the workflow with that very error; another engine rethrows its like', async () => {
      const store = await open();
      const engine = engineOn(store);
      class PaymentError extends Error {
        readonly code = 'PAYMENT_DECLINED';
        readonly amount = 42;
      }
      const thrown = permanent(new PaymentError('card declined'));
      let after = 0;
      engine.register('pay', async (ctx) => {
        await ctx.step('reserve', () => 'ok');
        await ctx.step(
          'charge',
          () => {
            throw thrown;
          },
          { retry: { maxRetries: 3 } },
        );
        after++;
      });
      const handle = await engine.start('pay', null, { id: 'p' });
      await assert.rejects(handle.result(), (error) => error === thrown);
      assert.equal(after, 0);
      const info = await engine.get('p');
      assert.equal(info?.status, 'failed');
      assert.equal(info?.steps[1]?.name, 'charge');
      assert.equal(info?.steps[1]?.status, 'failed');
      assert.equal(info?.steps[1]?.attempts, 1, 'a permanent error is not retried');
      assert.equal(info?.steps[1]?.error?.message, 'card declined');
      assert.equal(info?.error?.code, 'PAYMENT_DECLINED');

      const reader = engineOn(await reopen(store));
      const error = (await reader.result('p').catch((e) => e)) as Error & { code: string; amount: number };
      assert.ok(error instanceof Error);
      assert.equal(error.name, 'Error');
      assert.equal(error.message, 'card declined');
      assert.equal(error.code, 'PAYMENT_DECLINED');
      assert.equal(error.amount, 42);
      assert.match(error.stack ?? '', /card declined/);
    });

    it('a workflow that throws outside any step fails with that error', async () => {
      const engine = engineOn(await open());
      engine.register('broken', async () => {
        throw new TypeError('bug in the workflow');
      });
      const error = await (await engine.start('broken', null, { id: 'x' })).result().catch((e) => e);
      assert.ok(error instanceof TypeError);
      assert.equal((await engine.get('x'))?.error?.name, 'TypeError');
    });
  });

  describe(`workflows on ${backend.name}: durable sleep`, () => {
    it('sleeps on the engine clock and, after a restart, waits only the time that was left', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const order: string[] = [];
      const define = (engine: WorkflowEngine) =>
        engine.register('nap', async (ctx) => {
          await ctx.step('before', () => order.push('before'));
          await ctx.sleep('settle', 10_000);
          await ctx.step('after', () => order.push('after'));
          return 'rested';
        });
      const first = engineOn(store, { executorId: 'first', clock });
      define(first);
      await first.start('nap', null, { id: 'n' });
      await until(async () => (await store.workflows.steps('n')).length === 2);
      const [, sleep] = await store.workflows.steps('n');
      assert.equal(sleep?.name, 'settle');
      assert.equal(sleep?.output, String(T0 + 10_000));
      assert.equal(sleep?.endedAt, T0 + 10_000);
      await clock.tickAsync(4_000);
      assert.deepEqual(order, ['before']);
      await first.close(); // the process stops mid-sleep

      const second = engineOn(await reopen(store), { executorId: 'second', clock });
      define(second);
      await second.recover();
      const result = second.result('n');
      await clock.tickAsync(5_999);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(order, ['before'], 'still asleep 1 ms before the recorded wake-up');
      await clock.tickAsync(1);
      assert.equal(await result, 'rested');
      assert.deepEqual(order, ['before', 'after']);
    });

    it('a sleep whose wake-up time passed while nobody ran it does not wait again', async () => {
      const store = await open();
      const clock = manualClock(T0);
      const define = (engine: WorkflowEngine) =>
        engine.register('nap', async (ctx) => {
          await ctx.sleep('long', 60_000);
          return clock.now();
        });
      const first = engineOn(store, { executorId: 'first', clock });
      define(first);
      await first.start('nap', null, { id: 'n' });
      await until(async () => (await store.workflows.steps('n')).length === 1);
      await first.close();
      clock.advance(120_000);
      const second = engineOn(await reopen(store), { clock });
      define(second);
      await second.recover();
      assert.equal(await second.result('n'), T0 + 120_000);
    });

    it('refuses a negative sleep', async () => {
      const engine = engineOn(await open());
      engine.register('bad', async (ctx) => ctx.sleep('oops', -1));
      await assert.rejects((await engine.start('bad')).result(), InvalidOptionsError);
    });
  });
});

describe('workflows: options', () => {
  it('lists every problem with the options at once', async () => {
    const store = await openStore('memory:');
    assert.throws(
      () =>
        workflows(store, {
          executorId: '',
          leaseMs: -1,
          heartbeatMs: 0,
          pollMs: Number.NaN,
          recoverEveryMs: -5,
          clock: {} as ManualClock,
        }),
      (error: InvalidOptionsError) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'workflows.executorId must be a non-empty string, got ""',
          'workflows.leaseMs must be > 0, got -1',
          'workflows.heartbeatMs must be > 0, got 0',
          'workflows.recoverEveryMs must be >= 0, got -5',
          'workflows.pollMs must be a number, got NaN',
          'workflows.heartbeatMs must be < leaseMs (-1), got 0',
          'workflows.clock.now must be a function, got undefined',
          'workflows.clock.setTimeout must be a function, got undefined',
          'workflows.clock.clearTimeout must be a function, got undefined',
        ]);
        return true;
      },
    );
    const engine = workflows(store);
    assert.equal(engine.leaseMs, 30_000);
    assert.equal(engine.heartbeatMs, 10_000);
    assert.equal(engine.recoverEveryMs, 30_000);
    assert.equal(engine.pollMs, 100);
    assert.match(engine.executorId, /:\d+:[0-9a-f]{8}$/);
    await store.close();
  });

  it('an engine nobody started writes nothing and leaves no timer', async () => {
    const store = await openStore('memory:');
    const clock = manualClock(T0);
    const engine = workflows(store, { clock });
    engine.register('x', async () => 1);
    assert.equal(await engine.get('x'), undefined);
    assert.deepEqual(await engine.list(), []);
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(await store.workflows.executors(), []);
    await engine.close();
    await store.close();
  });
});
