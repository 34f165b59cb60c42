// Property tests for retry: every backoff schedule stays within its bounds, a retry never waits less
// than an error's retryAfterMs, and a shared budget never grants more than its allowance.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Backoff,
  backoffDelays,
  type ExponentialBackoff,
  type Jitter,
  MAX_DELAY_MS,
} from './backoff.ts';
import { manualClock } from './clock.ts';
import { BrokenCircuitError, RateLimitedError } from './errors.ts';
import type { ExecuteContext } from './policy.ts';
import { retry } from './retry.ts';
import { retryBudget } from './retryBudget.ts';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const duration = (max: number) => fc.double({ min: 0, max, noNaN: true });
const optionalMax = fc.option(fc.oneof(duration(1e9), fc.constant(Number.POSITIVE_INFINITY)), {
  nil: undefined,
});

const constantBackoff = fc.record({ kind: fc.constant('constant' as const), delayMs: duration(1e10) });
const linearBackoff = fc.record(
  {
    kind: fc.constant('linear' as const),
    baseMs: duration(1e7),
    stepMs: fc.option(duration(1e7), { nil: undefined }),
    maxMs: optionalMax,
  },
  { requiredKeys: ['kind', 'baseMs'] },
);
const exponentialBackoff = fc.record(
  {
    kind: fc.constant('exponential' as const),
    baseMs: duration(1e6),
    factor: fc.option(fc.double({ min: 1, max: 10, noNaN: true }), { nil: undefined }),
    maxMs: optionalMax,
    jitter: fc.option(fc.constantFrom<Jitter>('none', 'full', 'equal', 'decorrelated'), { nil: undefined }),
  },
  { requiredKeys: ['kind', 'baseMs'] },
);
const anyBackoff: fc.Arbitrary<Backoff> = fc.oneof(constantBackoff, linearBackoff, exponentialBackoff);

/** A random source that cycles through `values`. */
function cycling(values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length]!;
}

/** Allows for rounding in `base + r × (upper − base)`. */
function atMost(value: number, bound: number): boolean {
  return value <= bound + Math.abs(bound) * 1e-12 + 1e-9;
}

function clamp(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_DELAY_MS) : 0;
}

function checkBounds(backoff: Backoff, delays: number[]): void {
  let previous = 0;
  delays.forEach((delay, n) => {
    assert.ok(Number.isFinite(delay) && delay >= 0 && delay <= MAX_DELAY_MS, `delay ${n} = ${delay}`);
    if (typeof backoff === 'function') return;
    if (backoff.kind === 'constant') {
      assert.equal(delay, clamp(backoff.delayMs));
    } else if (backoff.kind === 'linear') {
      const maxMs = backoff.maxMs ?? Number.POSITIVE_INFINITY;
      assert.equal(delay, clamp(Math.min(backoff.baseMs + (backoff.stepMs ?? backoff.baseMs) * n, maxMs)));
    } else {
      checkExponential(backoff, n, delay, previous);
    }
    previous = delay;
  });
}

function checkExponential(backoff: ExponentialBackoff, n: number, delay: number, previous: number): void {
  const maxMs = backoff.maxMs ?? 30_000;
  const jitter = backoff.jitter ?? 'full';
  if (jitter === 'decorrelated') {
    const lower = clamp(Math.min(backoff.baseMs, maxMs));
    const upper = clamp(Math.min(maxMs, Math.max(backoff.baseMs, (n === 0 ? backoff.baseMs : previous) * 3)));
    assert.ok(atMost(lower, delay) && atMost(delay, upper), `${delay} not in [${lower}, ${upper}]`);
    return;
  }
  const grown = backoff.baseMs === 0 ? 0 : backoff.baseMs * (backoff.factor ?? 2) ** n;
  const capped = clamp(Math.min(grown, maxMs));
  if (jitter === 'none') assert.equal(delay, capped);
  else if (jitter === 'full') assert.ok(atMost(delay, capped), `${delay} > ${capped}`);
  else
    assert.ok(
      atMost(capped / 2, delay) && atMost(delay, capped),
      `${delay} not in [${capped / 2}, ${capped}]`,
    );
}

describe('retry properties', () => {
  it('every backoff schedule stays within its bounds, for any parameters and random source', () => {
    fc.assert(
      fc.property(anyBackoff, fc.array(unit, { minLength: 1 }), fc.nat(80), (backoff, randoms, count) => {
        const delays = backoffDelays(backoff, count, cycling(randoms));
        assert.equal(delays.length, count);
        checkBounds(backoff, delays);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a function backoff is clamped to [0, MAX_DELAY_MS] whatever it returns', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { minLength: 1 }), (values) => {
        const delays = backoffDelays(cycling(values), values.length);
        assert.ok(delays.every((delay) => delay >= 0 && delay <= MAX_DELAY_MS));
      }),
    );
  });

  it("a retry never waits less than the failed attempt's retryAfterMs", async () => {
    const retryAfter = fc.option(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { nil: undefined });
    const failure = fc.record({
      retryAfterMs: retryAfter,
      kind: fc.constantFrom('plain', 'rateLimit', 'circuit'),
    });
    await fc.assert(
      fc.asyncProperty(
        anyBackoff,
        fc.array(unit, { minLength: 1 }),
        fc.array(failure, { minLength: 1, maxLength: 5 }),
        async (backoff, randoms, failures) => {
          const clock = manualClock();
          const errors = failures.map(({ retryAfterMs, kind }) => {
            if (retryAfterMs === undefined) return new Error('no hint');
            if (kind === 'rateLimit') return new RateLimitedError(retryAfterMs);
            if (kind === 'circuit') return new BrokenCircuitError('dependency', retryAfterMs);
            return Object.assign(new Error('429'), { retryAfterMs });
          });
          const times: number[] = [];
          const fn = async (ctx: ExecuteContext) => {
            times.push(clock.now());
            if (ctx.attempt < errors.length) throw errors[ctx.attempt];
            return 'ok';
          };
          const policy = retry({ clock, backoff, maxRetries: errors.length, random: cycling(randoms) });
          const waits: number[] = [];
          let nextWait = 0;
          policy.onRetry((event) => {
            waits.push(event.delayMs);
            nextWait = event.delayMs;
          });
          let settled = false;
          const result = policy.execute(fn).finally(() => {
            settled = true;
          });
          for (let step = 0; !settled && step < 100; step++) {
            const ms = nextWait;
            nextWait = 0;
            await clock.tickAsync(ms);
          }
          assert.equal(await result, 'ok');
          assert.equal(times.length, errors.length + 1);
          failures.forEach(({ retryAfterMs }, index) => {
            if (retryAfterMs === undefined) return;
            assert.ok(waits[index]! >= retryAfterMs, `wait ${waits[index]} < retryAfterMs ${retryAfterMs}`);
            const gap = times[index + 1]! - times[index]!;
            // The gap is a difference of two large times: it carries their rounding, a few ulps of the later.
            const rounding = 4 * Number.EPSILON * Math.abs(times[index + 1]!);
            assert.ok(
              atMost(retryAfterMs, gap + rounding),
              `attempt ${index + 1} came ${gap} ms after, < ${retryAfterMs}`,
            );
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a shared budget grants exactly what a naive count of its window allows', () => {
    const action = fc.oneof(
      fc.constant({ kind: 'call' as const }),
      fc.constant({ kind: 'retry' as const }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(5_000) }),
    );
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.array(action, { maxLength: 300, size: 'medium' }),
        (ratio, minPerSecond, windowMs, actions) => {
          const clock = manualClock();
          const budget = retryBudget({ ratio, minPerSecond, windowMs, clock });
          // The model: every event logged with its tenth-of-a-window bucket, the last ten buckets counted.
          const bucketMs = windowMs / 10;
          const calls: number[] = [];
          const retries: number[] = [];
          const inWindow = (log: number[]) => {
            const current = Math.floor(clock.now() / bucketMs);
            return log.filter((bucket) => bucket > current - 10).length;
          };
          for (const step of actions) {
            if (step.kind === 'call') {
              budget.recordCall();
              calls.push(Math.floor(clock.now() / bucketMs));
            } else if (step.kind === 'retry') {
              const allowed =
                inWindow(retries) + 1 <= ratio * inWindow(calls) + (minPerSecond * windowMs) / 1000 + 1e-9;
              assert.equal(budget.tryWithdraw(), allowed);
              if (allowed) {
                retries.push(Math.floor(clock.now() / bucketMs));
                const stats = budget.stats();
                assert.ok(
                  stats.retries <= stats.allowance + 1e-6,
                  'a granted retry stays within the allowance',
                );
              }
            } else {
              clock.advance(step.ms);
            }
            const stats = budget.stats();
            assert.equal(stats.calls, inWindow(calls));
            assert.equal(stats.retries, inWindow(retries));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
