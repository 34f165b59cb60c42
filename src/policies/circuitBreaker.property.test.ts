import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CircuitBreakerOptions, CircuitState } from './breakerOptions.ts';
import { circuitBreaker } from './circuitBreaker.ts';
import { manualClock } from './clock.ts';

type Action =
  | { type: 'start'; withSignal: boolean }
  /** A start immediately followed by its settling: makes trips and trials frequent. */
  | { type: 'call'; outcome: 'success' | 'failure' }
  | { type: 'settle'; pick: number; outcome: 'success' | 'failure' | 'abort' }
  | { type: 'advance'; ms: number }
  | { type: 'isolate' }
  | { type: 'reset' };

interface Call {
  resolve: (value: string) => void;
  reject: (error: unknown) => void;
  controller: AbortController | undefined;
  /** The half-open period the call was admitted in as a trial, or -1. */
  trialPeriod: number;
  done: boolean;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const configArbitrary = fc.record({
  trip: fc.oneof(
    fc.record({ kind: fc.constant('consecutive' as const), failures: fc.integer({ min: 1, max: 3 }) }),
    fc.record({
      kind: fc.constant('count' as const),
      size: fc.constant(4),
      minimumCalls: fc.integer({ min: 1, max: 4 }),
      failureRate: fc.constantFrom(0.25, 0.5, 1),
    }),
    fc.record({
      kind: fc.constant('window' as const),
      windowMs: fc.constant(500),
      failures: fc.integer({ min: 1, max: 3 }),
    }),
  ),
  // Few distinct values, so that time advances often land exactly on the end of an open period.
  openMs: fc.constantFrom(0, 100, 250),
  openBackoff: fc.option(
    fc.record({ factor: fc.constantFrom(1, 1.5, 2), maxMs: fc.constantFrom(0, 300, 1_000) }),
    {
      nil: undefined,
    },
  ),
  halfOpen: fc.record({
    maxCalls: fc.integer({ min: 1, max: 3 }),
    successes: fc.integer({ min: 1, max: 3 }),
  }),
});

const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('start' as const), withSignal: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('call' as const),
      outcome: fc.constantFrom('failure' as const, 'success' as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('settle' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('failure' as const, 'failure' as const, 'success' as const, 'abort' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('advance' as const),
      ms: fc.constantFrom(1, 49, 50, 99, 100, 150, 249, 250, 600),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'isolate' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'reset' as const }) },
);

async function check(config: CircuitBreakerOptions, actions: Action[]): Promise<void> {
  const clock = manualClock(10_000);
  const breaker = circuitBreaker({ ...config, clock });
  const maxCalls = config.halfOpen?.maxCalls ?? 1;
  const openMs = config.openMs ?? 60_000;
  // An independent model of how long each open period lasts.
  let backoffLevel = 0;
  let openUntil = Number.NEGATIVE_INFINITY;
  let period = 0;
  breaker.onStateChange(({ to, reason, at }) => {
    if (to === 'half-open') period++;
    if (to === 'closed') backoffLevel = 0;
    if (to === 'open') {
      if (reason === 'trial-failed' || reason === 'trial-slow') backoffLevel++;
      const backoff = config.openBackoff;
      const duration =
        backoffLevel === 0 || backoff === undefined
          ? openMs
          : Math.min(openMs * backoff.factor ** backoffLevel, Math.max(backoff.maxMs, openMs));
      openUntil = at + duration;
    }
  });
  const calls: Call[] = [];

  const settle = async (call: Call, outcome: 'success' | 'failure' | 'abort') => {
    call.done = true;
    if (outcome === 'success') call.resolve('ok');
    else if (outcome === 'abort' && call.controller !== undefined) {
      call.controller.abort();
      call.reject(call.controller.signal.reason);
    } else call.reject(new Error('failure'));
    await flush();
  };

  for (const action of actions) {
    switch (action.type) {
      case 'start':
      case 'call': {
        const before: CircuitState = breaker.state;
        const controller = action.type === 'start' && action.withSignal ? new AbortController() : undefined;
        let ran = false;
        let resolve!: (value: string) => void;
        let reject!: (error: unknown) => void;
        const work = new Promise<string>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        breaker
          .execute(() => {
            ran = true;
            return work;
          }, controller?.signal)
          .catch(() => {});
        if (before === 'open' && clock.now() < openUntil) {
          assert.equal(
            ran,
            false,
            `admitted while open, ${openUntil - clock.now()} ms before the open period ends`,
          );
        }
        if (before === 'isolated') assert.equal(ran, false, 'admitted while isolated');
        if (before === 'closed') assert.equal(ran, true, 'rejected while closed');
        if (ran) {
          const trialPeriod = breaker.state === 'half-open' ? period : -1;
          const call: Call = { resolve, reject, controller, trialPeriod, done: false };
          calls.push(call);
          if (action.type === 'call') await settle(call, action.outcome);
        }
        break;
      }
      case 'settle': {
        const pending = calls.filter((call) => !call.done);
        if (pending.length === 0) break;
        await settle(pending[action.pick % pending.length]!, action.outcome);
        break;
      }
      case 'advance':
        clock.advance(action.ms);
        break;
      case 'isolate':
        breaker.isolate();
        break;
      case 'reset':
        breaker.reset();
        break;
    }
    if (breaker.state === 'half-open') {
      const trialsInFlight = calls.filter((call) => !call.done && call.trialPeriod === period).length;
      assert.ok(trialsInFlight <= maxCalls, `${trialsInFlight} trials in flight, maxCalls ${maxCalls}`);
    }
  }
}

describe('circuitBreaker properties', () => {
  it('never has more than halfOpen.maxCalls trials in flight, and never admits a call while open', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArbitrary,
        fc.array(actionArbitrary, { minLength: 20, maxLength: 150 }),
        (config, actions) => check(config, actions),
      ),
      { numRuns: 1_000 },
    );
  });

  it('a half-open breaker with every trial slot taken admits nothing until one is released', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 10 }),
        async (maxCalls, extra) => {
          const clock = manualClock();
          const breaker = circuitBreaker({
            clock,
            trip: { kind: 'consecutive', failures: 1 },
            openMs: 100,
            halfOpen: { maxCalls, successes: maxCalls + 1 },
          });
          await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
          clock.advance(100);
          let admitted = 0;
          const controllers: AbortController[] = [];
          for (let i = 0; i < maxCalls + extra; i++) {
            const controller = new AbortController();
            controllers.push(controller);
            breaker
              .execute(() => {
                admitted++;
                return new Promise<never>(() => {});
              }, controller.signal)
              .catch(() => {});
          }
          assert.equal(admitted, maxCalls);
          // Aborting one caller frees exactly one slot.
          controllers[0]!.abort();
          await flush();
          breaker.execute(() => ++admitted).catch(() => {});
          breaker.execute(() => ++admitted).catch(() => {});
          assert.equal(admitted, maxCalls + 1);
          assert.equal(breaker.stats().rejected, extra + 1);
        },
      ),
      { numRuns: 100 },
    );
  });
});
