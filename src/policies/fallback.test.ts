// Tests for fallback(): substitute value or function, the `on` filter, and a caller's abort kept intact.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bulkhead } from './bulkhead.ts';
import { InvalidOptionsError, isBulkheadRejectedError } from './errors.ts';
import { type FallbackEvent, fallback } from './fallback.ts';
import { pipeline } from './pipeline.ts';
import { run } from './policy.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('fallback', () => {
  it('returns the result of a call that succeeds', async () => {
    const policy = fallback('substitute');
    assert.equal(await policy.execute(() => 'real'), 'real');
    assert.equal(await policy.execute(async () => 'real async'), 'real async');
  });

  it('answers a failure with the value', async () => {
    const policy = fallback('substitute');
    assert.equal(await policy.execute(() => Promise.reject(new Error('down'))), 'substitute');
    assert.equal(
      await policy.execute(() => {
        throw new Error('sync throw');
      }),
      'substitute',
    );
  });

  it('answers a failure with the result of the function, given the error', async () => {
    const failure = new Error('down');
    const seen: unknown[] = [];
    const policy = fallback((error) => {
      seen.push(error);
      return `after ${(error as Error).message}`;
    });
    assert.equal(await policy.execute(() => Promise.reject(failure)), 'after down');
    assert.deepEqual(seen, [failure]);
    const asynchronous = fallback(async (error) => `cached for ${(error as Error).message}`);
    assert.equal(await asynchronous.execute(() => Promise.reject(failure)), 'cached for down');
  });

  it('does not call the function when the call succeeds', async () => {
    let called = false;
    const policy = fallback(() => {
      called = true;
      return 'substitute';
    });
    assert.equal(await policy.execute(() => 'real'), 'real');
    assert.equal(called, false);
  });

  it('substitutes a function returned from a function', async () => {
    const handler = () => 'default handler';
    const policy = fallback(() => handler);
    assert.equal(
      await policy.execute((): typeof handler => Promise.reject(new Error('x')) as never),
      handler,
    );
  });

  it('rethrows, unchanged, errors that `on` does not accept', async () => {
    const policy = fallback('substitute', { on: (error) => (error as Error).message === 'transient' });
    assert.equal(await policy.execute(() => Promise.reject(new Error('transient'))), 'substitute');
    const permanent = new Error('permanent');
    await assert.rejects(
      policy.execute(() => Promise.reject(permanent)),
      (error) => error === permanent,
    );
  });

  it('rejects with the error of a failing fallback function', async () => {
    const secondary = new Error('fallback also failed');
    const policy = fallback(async () => {
      throw secondary;
    });
    await assert.rejects(
      policy.execute(() => Promise.reject(new Error('primary'))),
      (error) => error === secondary,
    );
  });

  it("keeps the caller's abort: it rejects with the signal's reason and runs no substitute", async () => {
    let called = false;
    const policy = fallback(() => {
      called = true;
      return 'substitute';
    });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const result = policy.execute(
      (ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
      controller.signal,
    );
    controller.abort(reason);
    await assert.rejects(result, (error) => error === reason);
    await flush();
    assert.equal(called, false);
  });

  it('rethrows any failure once the context handed down by an enclosing policy is aborted', async () => {
    const policy = fallback('substitute');
    const controller = new AbortController();
    const failure = new Error('failed after the enclosing timeout fired');
    const result = policy[run](
      () => {
        controller.abort(new Error('enclosing timeout'));
        return Promise.reject(failure);
      },
      { signal: controller.signal, attempt: 0 },
    );
    await assert.rejects(result, (error) => error === failure);
  });

  it('answers for the policies it encloses in a pipeline', async () => {
    const busy = bulkhead({ maxConcurrent: 1 });
    const policy = pipeline(
      fallback((error) => (isBulkheadRejectedError(error) ? 'busy' : 'other')),
      busy,
    );
    let release!: () => void;
    const first = policy.execute(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    assert.equal(await policy.execute(() => 'second'), 'busy');
    release();
    assert.equal(await first, 'first');
  });

  it('emits onFallback with the replaced error', async () => {
    const policy = fallback(0);
    const events: FallbackEvent[] = [];
    const unsubscribe = policy.onFallback((event) => events.push(event));
    const failure = new Error('down');
    assert.equal(await policy.execute(() => Promise.reject(failure)), 0);
    assert.equal(await policy.execute(() => 1), 1);
    unsubscribe();
    await policy.execute(() => Promise.reject(failure));
    assert.deepEqual(events, [{ error: failure }]);
  });

  it('rejects an `on` that is not a function', () => {
    assert.throws(
      () => fallback('x', { on: 'all' as never }),
      (error) =>
        error instanceof InvalidOptionsError &&
        error.problems[0] === 'fallback.on must be a function, got "all"',
    );
  });
});
