// 10,000 calls made with one long-lived caller signal leave no abort listener behind, through every
// policy and through a pipeline of them, whether or not the work reads ctx.signal.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import {
  bulkhead,
  circuitBreaker,
  type ExecuteContext,
  fallback,
  hedge,
  type Policy,
  pipeline,
  rateLimit,
  retry,
  timeout,
} from 'rebound';

const CALLS = 10_000;

const policies: Record<string, () => Policy> = {
  circuitBreaker: () => circuitBreaker(),
  retry: () => retry({ maxRetries: 2, backoff: { kind: 'constant', delayMs: 0 } }),
  timeout: () => timeout(5_000),
  bulkhead: () => bulkhead({ maxConcurrent: 4, maxQueue: 100 }),
  rateLimit: () => rateLimit({ limits: [{ max: 1_000_000, perMs: 1_000 }] }),
  fallback: () => fallback('fallback value'),
  hedge: () => hedge({ delayMs: 5_000 }),
  pipeline: () =>
    pipeline(
      fallback('fallback value'),
      retry({ maxRetries: 2, backoff: { kind: 'constant', delayMs: 0 } }),
      circuitBreaker(),
      timeout(5_000),
      bulkhead({ maxConcurrent: 4, maxQueue: 100 }),
    ),
};

const readsSignal = async (ctx: ExecuteContext) => (ctx.signal.aborted ? 'aborted' : 'ok');

describe('no abort listener is left behind', () => {
  for (const [name, make] of Object.entries(policies)) {
    it(`${name}: ${CALLS} calls with one caller signal`, async () => {
      const policy = make();
      const controller = new AbortController();
      for (let i = 0; i < CALLS; i++) {
        // Batches of concurrent calls exercise queues and races, not only the sequential path.
        await Promise.all([
          policy.execute(readsSignal, controller.signal),
          policy.execute(async () => i, controller.signal),
        ]);
      }
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    });
  }

  it('retry: failing attempts and their waits leave nothing behind', async () => {
    const policy = retry({ maxRetries: 1, backoff: { kind: 'constant', delayMs: 0 } });
    const controller = new AbortController();
    for (let i = 0; i < 1_000; i++) {
      await policy.execute((ctx) => {
        if (ctx.attempt === 0) throw new Error('first attempt fails');
        return readsSignal(ctx);
      }, controller.signal);
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});
