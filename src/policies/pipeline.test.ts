import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from './clock.ts';
import { TimeoutError } from './errors.ts';
import { Pipeline, pipeline } from './pipeline.ts';
import type { ExecuteContext, Operation, Policy } from './policy.ts';
import { timeout } from './timeout.ts';

/** A user's own policy that only implements `execute`, recording the order it runs in. */
function tracing(name: string, log: string[]): Policy {
  return {
    async execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
      log.push(`${name}:enter`);
      try {
        return await fn({ signal: signal ?? new AbortController().signal, attempt: 0 });
      } finally {
        log.push(`${name}:exit`);
      }
    },
  };
}

/** A policy that retries once and reports the attempt to the work, like rebound's retry. */
function twice(): Policy {
  return {
    async execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
      const s = signal ?? new AbortController().signal;
      try {
        return await fn({ signal: s, attempt: 0 });
      } catch {
        return await fn({ signal: s, attempt: 1 });
      }
    },
  };
}

describe('pipeline', () => {
  it('runs the first policy outermost', async () => {
    const log: string[] = [];
    const result = await pipeline(tracing('a', log), tracing('b', log)).execute(() => {
      log.push('work');
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(log, ['a:enter', 'b:enter', 'work', 'b:exit', 'a:exit']);
  });

  it('keeps the composed list inspectable and flattens nested pipelines', () => {
    const log: string[] = [];
    const a = tracing('a', log);
    const b = tracing('b', log);
    const c = tracing('c', log);
    const composed = pipeline(a, pipeline(b, c));
    assert.ok(composed instanceof Pipeline);
    assert.deepEqual(composed.policies, [a, b, c]);
  });

  it('hands the outer attempt number down to the work', async () => {
    const attempts: number[] = [];
    await pipeline(twice(), timeout(1_000, { clock: manualClock() })).execute((ctx: ExecuteContext) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt === 0) throw new Error('first try fails');
      return 'ok';
    });
    assert.deepEqual(attempts, [0, 1]);
  });

  it('lets an inner timeout abort the work through ctx.signal', async () => {
    const clock = manualClock();
    const log: string[] = [];
    let signal: AbortSignal | undefined;
    const call = pipeline(tracing('outer', log), timeout(20, { clock })).execute((ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    });
    const rejected = assert.rejects(call, TimeoutError);
    await clock.tickAsync(20);
    await rejected;
    assert.equal(signal?.aborted, true);
    assert.deepEqual(log, ['outer:enter', 'outer:exit']);
  });

  it('rejects at once when the caller aborts, with the caller reason', async () => {
    const controller = new AbortController();
    const call = pipeline(tracing('a', [])).execute(() => new Promise(() => {}), controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(call, /stop/);
  });

  it('rejects without running the work when the signal is already aborted', async () => {
    let ran = false;
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await assert.rejects(
      pipeline(tracing('a', [])).execute(() => {
        ran = true;
      }, controller.signal),
      /too late/,
    );
    assert.equal(ran, false);
  });

  it('runs the work directly when empty', async () => {
    assert.equal(await pipeline().execute(({ attempt }) => attempt + 1), 1);
  });
});
