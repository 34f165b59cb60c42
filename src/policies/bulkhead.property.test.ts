// Property tests for bulkhead(): under any interleaving of arrivals, completions, failures, aborts
// and queue timeouts it never runs more than maxConcurrent, never queues more than maxQueue, serves
// in arrival order and accounts for every call.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bulkhead } from './bulkhead.ts';
import { manualClock } from './clock.ts';
import { isBulkheadRejectedError } from './errors.ts';

type Command =
  | { kind: 'arrive'; mode: 'async' | 'sync-value' | 'sync-throw'; abortable: boolean }
  | { kind: 'settle'; pick: number; fails: boolean }
  | { kind: 'abort'; pick: number }
  | { kind: 'tick'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('arrive' as const),
      // 'async' twice: most operations are asynchronous.
      mode: fc.constantFrom('async' as const, 'async' as const, 'sync-value' as const, 'sync-throw' as const),
      abortable: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), fails: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 40 }) }),
  },
);

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Call {
  id: number;
  controller: AbortController | undefined;
  outcome: 'pending' | 'fulfilled' | 'failed' | 'aborted' | 'rejected';
}

describe('bulkhead properties', () => {
  it('never runs more than maxConcurrent nor queues more than maxQueue, and serves in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
        fc.array(command, { minLength: 1, maxLength: 60, size: 'max' }),
        async (maxConcurrent, maxQueue, queueTimeoutMs, commands) => {
          const clock = manualClock();
          const policy = bulkhead({ maxConcurrent, maxQueue, queueTimeoutMs, clock });
          const calls: Call[] = [];
          const inFlight: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
          const startOrder: number[] = [];
          let running = 0;
          let mostRunning = 0;

          const check = () => {
            const stats = policy.stats();
            assert.ok(mostRunning <= maxConcurrent, `ran ${mostRunning} at once`);
            assert.ok(stats.active <= maxConcurrent);
            assert.ok(stats.queued <= maxQueue);
            assert.equal(stats.active, running);
            // Work-conserving: nobody waits while a slot is free.
            if (stats.queued > 0) assert.equal(stats.active, maxConcurrent);
            const count = (outcome: Call['outcome']) => calls.filter((c) => c.outcome === outcome).length;
            assert.equal(stats.executed, startOrder.length);
            assert.equal(stats.rejected, count('rejected'));
            // Every arrival started, was refused, was abandoned while queued, or is still queued.
            const abandoned = calls.filter(
              (c) => c.outcome === 'aborted' && !startOrder.includes(c.id),
            ).length;
            assert.equal(calls.length, stats.executed + stats.rejected + abandoned + stats.queued);
            for (let index = 1; index < startOrder.length; index++) {
              assert.ok(startOrder[index - 1]! < startOrder[index]!, `start order ${startOrder}`);
            }
          };

          for (const step of commands) {
            if (step.kind === 'arrive') {
              const call: Call = {
                id: calls.length,
                controller: step.abortable ? new AbortController() : undefined,
                outcome: 'pending',
              };
              calls.push(call);
              const fn = () => {
                startOrder.push(call.id);
                running++;
                mostRunning = Math.max(mostRunning, running);
                if (step.mode === 'sync-value') {
                  running--;
                  return 'value';
                }
                if (step.mode === 'sync-throw') {
                  running--;
                  throw new Error('sync failure');
                }
                return new Promise<string>((resolve, reject) => {
                  const entry = {
                    resolve: () => {
                      running--;
                      resolve('value');
                    },
                    reject: (error: unknown) => {
                      running--;
                      reject(error);
                    },
                  };
                  inFlight.push(entry);
                });
              };
              policy.execute(fn, call.controller?.signal).then(
                () => {
                  call.outcome = 'fulfilled';
                },
                (error: unknown) => {
                  if (isBulkheadRejectedError(error)) call.outcome = 'rejected';
                  else if (call.controller?.signal.aborted && error === call.controller.signal.reason) {
                    call.outcome = 'aborted';
                  } else call.outcome = 'failed';
                },
              );
            } else if (step.kind === 'settle') {
              if (inFlight.length > 0) {
                const [entry] = inFlight.splice(step.pick % inFlight.length, 1);
                if (step.fails) entry!.reject(new Error('async failure'));
                else entry!.resolve();
              }
            } else if (step.kind === 'abort') {
              const abortable = calls.filter(
                (c) => c.controller !== undefined && !c.controller.signal.aborted,
              );
              if (abortable.length > 0)
                abortable[step.pick % abortable.length]!.controller!.abort(new Error('abort'));
            } else {
              clock.advance(step.ms);
            }
            await flush();
            check();
          }

          // Draining everything leaves the bulkhead empty.
          while (inFlight.length > 0) {
            inFlight.shift()!.resolve();
            await flush();
            check();
          }
          assert.deepEqual(
            { active: policy.stats().active, queued: policy.stats().queued },
            { active: 0, queued: 0 },
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
