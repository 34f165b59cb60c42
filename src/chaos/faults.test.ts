import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  circuitBreaker,
  InvalidOptionsError,
  manualClock,
  pipeline,
  retry,
  timeout,
} from '../policies/index.ts';
import { type FaultInjectedEvent, faults, InjectedFaultError, isInjectedFaultError } from './faults.ts';

/** A random source that returns these values in order, then fails the test if asked for more. */
function scripted(...values: number[]): () => number {
  let index = 0;
  return () => {
    assert.ok(index < values.length, `random called ${index + 1} times, only ${values.length} scripted`);
    return values[index++]!;
  };
}

async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

describe('faults', () => {
  it('fails the calls whose draw is under the error rate, with InjectedFaultError by default', async () => {
    const policy = faults({ error: { rate: 0.3 }, random: scripted(0.1, 0.29, 0.3, 0.9) });
    let ran = 0;
    const work = () => {
      ran++;
      return 'ok';
    };
    const outcomes = [];
    for (let call = 0; call < 4; call++) outcomes.push(await settled(policy.execute(work)));
    assert.ok(outcomes[0]!.error instanceof InjectedFaultError);
    assert.ok(isInjectedFaultError(outcomes[1]!.error));
    assert.equal((outcomes[1]!.error as InjectedFaultError).code, 'INJECTED_FAULT');
    assert.deepEqual(outcomes.slice(2), [{ value: 'ok' }, { value: 'ok' }]);
    assert.equal(ran, 2, 'a failed call never runs the work');
    assert.deepEqual(policy.stats(), { calls: 4, latencyInjected: 0, errorsInjected: 2 });
  });

  it('the overall rate multiplies each fault rate', async () => {
    // 0.5 × 0.4 = 0.2: a draw of 0.19 fails, 0.21 passes although it is under the fault's own 0.4.
    const policy = faults({ rate: 0.5, error: { rate: 0.4 }, random: scripted(0.19, 0.21) });
    assert.ok(isInjectedFaultError((await settled(policy.execute(() => 1))).error));
    assert.equal(await policy.execute(() => 2), 2);
  });

  it('rate 0 never injects and rate 1 always does, over many draws of Math.random', async () => {
    const never = faults({ error: { rate: 0 }, latency: { ms: 10, rate: 0 } });
    const always = faults({ error: { rate: 1 } });
    for (let call = 0; call < 200; call++) {
      assert.equal(await never.execute(() => call), call);
      assert.ok(isInjectedFaultError((await settled(always.execute(() => call))).error));
    }
    assert.deepEqual(never.stats(), { calls: 200, latencyInjected: 0, errorsInjected: 0 });
    assert.equal(always.stats().errorsInjected, 200);
  });

  it('throws the configured error instance, or a new one from the configured function', async () => {
    const instance = new Error('dependency down');
    const same = faults({ error: { rate: 1, error: instance } });
    assert.equal((await settled(same.execute(() => 1))).error, instance);
    assert.equal((await settled(same.execute(() => 1))).error, instance);

    let made = 0;
    const fresh = faults({ error: { rate: 1, error: () => new RangeError(`fault ${++made}`) } });
    const first = (await settled(fresh.execute(() => 1))).error as Error;
    const second = (await settled(fresh.execute(() => 1))).error as Error;
    assert.ok(first instanceof RangeError);
    assert.equal(first.message, 'fault 1');
    assert.equal(second.message, 'fault 2');

    const broken = new Error('factory bug');
    const throwing = faults({
      error: {
        rate: 1,
        error: () => {
          throw broken;
        },
      },
    });
    assert.equal((await settled(throwing.execute(() => 1))).error, broken);
  });

  it('delays the chosen calls on the clock, then runs the work; no timer for the others', async () => {
    const clock = manualClock();
    const policy = faults({ latency: { ms: 500, rate: 0.5 }, clock, random: scripted(0.2, 0.7) });
    let ran = 0;
    const delayed = policy.execute(() => ++ran);
    assert.equal(clock.pendingTimers, 1);
    await clock.tickAsync(499);
    assert.equal(ran, 0);
    await clock.tickAsync(1);
    assert.equal(await delayed, 1);

    const direct = policy.execute(() => ++ran);
    assert.equal(clock.pendingTimers, 0, 'no timer when no latency is injected');
    assert.equal(await direct, 2);
    assert.deepEqual(policy.stats(), { calls: 2, latencyInjected: 1, errorsInjected: 0 });
  });

  it('spreads the delay over ms ± jitterMs, never below 0', async () => {
    const clock = manualClock();
    // Each call: the latency draw (0 = injected), then the jitter draw.
    const policy = faults({
      latency: { ms: 100, jitterMs: 20, rate: 1 },
      clock,
      random: scripted(0, 0, 0, 0.5, 0, 0.999_999),
    });
    const delays: number[] = [];
    policy.onInjected((event) => delays.push(event.ms!));
    for (let call = 0; call < 3; call++) {
      const pending = policy.execute(() => 'late');
      await clock.tickAsync(200);
      assert.equal(await pending, 'late');
    }
    assert.equal(delays[0], 80);
    assert.equal(delays[1], 100);
    assert.ok(delays[2]! > 119.99 && delays[2]! < 120);

    const floor = faults({ latency: { ms: 5, jitterMs: 50, rate: 1 }, clock, random: scripted(0, 0) });
    const events: FaultInjectedEvent[] = [];
    floor.onInjected((event) => events.push(event));
    const pending = floor.execute(() => 'floor');
    await clock.tickAsync(0);
    assert.equal(await pending, 'floor');
    assert.deepEqual(events, [{ kind: 'latency', ms: 0 }]);
  });

  it('a call can be delayed then failed: latency first, the error after it, the work never', async () => {
    const clock = manualClock();
    const policy = faults({
      latency: { ms: 300, rate: 1 },
      error: { rate: 1 },
      clock,
      random: scripted(0, 0),
    });
    const events: FaultInjectedEvent[] = [];
    policy.onInjected((event) => events.push({ kind: event.kind, ms: event.ms }));
    let ran = false;
    let failedAt = -1;
    const call = policy
      .execute(() => {
        ran = true;
      })
      .catch((error: unknown) => {
        failedAt = clock.now();
        return error;
      });
    await clock.tickAsync(299);
    assert.equal(failedAt, -1, 'the error waits for the delay');
    assert.deepEqual(events, [{ kind: 'latency', ms: 300 }]);
    await clock.tickAsync(1);
    assert.ok((await call) instanceof InjectedFaultError);
    assert.equal(failedAt, 300);
    assert.equal(ran, false);
    assert.deepEqual(events, [
      { kind: 'latency', ms: 300 },
      { kind: 'error', ms: undefined },
    ]);
  });

  it('an abort during the delay rejects at once with its reason, clears the timer, never calls the work', async () => {
    const clock = manualClock();
    const policy = faults({ latency: { ms: 10_000, rate: 1 }, error: { rate: 1 }, clock, random: () => 0 });
    const controller = new AbortController();
    let ran = false;
    const call = policy.execute(() => {
      ran = true;
    }, controller.signal);
    await clock.tickAsync(100);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
    assert.equal(clock.pendingTimers, 0);
    await clock.tickAsync(20_000);
    assert.equal(ran, false);
    assert.deepEqual(policy.stats(), { calls: 1, latencyInjected: 1, errorsInjected: 0 });

    // Inside a pipeline the abort reaches the delay through the context's signal (here a timeout's).
    const bounded = pipeline(timeout(50, { clock }), policy);
    const timedOut = bounded.execute(() => {
      ran = true;
    });
    const rejected = assert.rejects(timedOut, (error: unknown) => (error as Error).name === 'TimeoutError');
    await clock.tickAsync(50);
    await rejected;
    await clock.tickAsync(20_000);
    assert.equal(ran, false);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a signal already aborted rejects without drawing or delaying', async () => {
    const policy = faults({ error: { rate: 1 }, random: scripted() });
    const reason = new Error('already');
    await assert.rejects(
      policy.execute(() => 1, AbortSignal.abort(reason)),
      (error) => error === reason,
    );
  });

  it('in a pipeline under retry: retry sees injected errors and the work succeeds once they stop', async () => {
    const clock = manualClock();
    // Attempts 0 and 1 draw under the rate and fail; attempt 2 draws over it and runs the work.
    const chaos = faults({ error: { rate: 0.5 }, random: scripted(0.1, 0.2, 0.8) });
    const retrying = retry({ maxRetries: 3, backoff: { kind: 'constant', delayMs: 10 }, clock });
    const retried: unknown[] = [];
    retrying.onRetry(({ error }) => retried.push(error));
    const call = pipeline(retrying, chaos).execute(({ attempt }) => `attempt ${attempt}`);
    await clock.tickAsync(100);
    assert.equal(await call, 'attempt 2');
    assert.equal(retried.length, 2);
    assert.ok(retried.every(isInjectedFaultError));
    assert.deepEqual(chaos.stats(), { calls: 3, latencyInjected: 0, errorsInjected: 2 });
  });

  it('a circuit breaker counts injected errors as failures and opens', async () => {
    const chaos = faults({ error: { rate: 1 } });
    const breaker = circuitBreaker({ trip: { kind: 'consecutive', failures: 3 }, clock: manualClock() });
    const guarded = pipeline(breaker, chaos);
    for (let call = 0; call < 3; call++)
      await assert.rejects(
        guarded.execute(() => 1),
        InjectedFaultError,
      );
    await assert.rejects(
      guarded.execute(() => 1),
      (error: unknown) => (error as Error).name === 'BrokenCircuitError',
    );
    assert.equal(chaos.stats().calls, 3, 'the open breaker keeps calls away from the faults');
  });

  it('enabled: false or a function returning false passes every call through without drawing', async () => {
    const off = faults({ error: { rate: 1 }, enabled: false, random: scripted() });
    assert.equal(await off.execute(() => 'through'), 'through');
    let on = false;
    const toggled = faults({ error: { rate: 1 }, enabled: () => on, random: scripted(0) });
    assert.equal(await toggled.execute(() => 'through'), 'through');
    on = true;
    await assert.rejects(
      toggled.execute(() => 'through'),
      InjectedFaultError,
    );
    assert.deepEqual(toggled.stats(), { calls: 2, latencyInjected: 0, errorsInjected: 1 });
  });

  it('a throwing enabled or random function rejects the call instead of throwing', async () => {
    const bug = new Error('callback bug');
    const fail = (): never => {
      throw bug;
    };
    for (const policy of [
      faults({ error: { rate: 1 }, enabled: fail }),
      faults({ error: { rate: 1 }, random: fail }),
    ]) {
      let call: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (call = policy.execute(() => 1)));
      await assert.rejects(call!, (error) => error === bug);
    }
  });

  it('passes the work’s own result, failure and context through unchanged', async () => {
    const policy = faults({ error: { rate: 0 }, latency: { ms: 1, rate: 0 } });
    const failure = new Error('own failure');
    await assert.rejects(
      policy.execute(() => {
        throw failure;
      }),
      (error) => error === failure,
    );
    const controller = new AbortController();
    const seen = await policy.execute((ctx) => ctx, controller.signal);
    assert.equal(seen.signal, controller.signal);
    assert.equal(seen.attempt, 0);
  });

  it('listeners: an unsubscribed or absent listener builds no event', async () => {
    const policy = faults({ error: { rate: 1 } });
    let events = 0;
    const unsubscribe = policy.onInjected(() => events++);
    await assert.rejects(
      policy.execute(() => 1),
      InjectedFaultError,
    );
    unsubscribe();
    await assert.rejects(
      policy.execute(() => 1),
      InjectedFaultError,
    );
    assert.equal(events, 1);

    // Events are built only while the emitter is active, which is only while someone listens.
    const quiet = faults({ error: { rate: 1 } });
    assert.equal(quiet['injectedEmitter'].active, false);
    const stop = quiet.onInjected(() => {});
    assert.equal(quiet['injectedEmitter'].active, true);
    stop();
    assert.equal(quiet['injectedEmitter'].active, false);
  });

  it('validates its options once, listing every problem with its path', () => {
    assert.throws(
      () =>
        faults({
          latency: { ms: -1, jitterMs: Number.NaN, rate: 2 },
          error: { rate: -0.5, error: 'boom' as never },
          rate: 1.5,
          enabled: 'yes' as never,
          random: 3 as never,
          clock: {} as never,
        }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'faults.latency.ms must be >= 0, got -1',
          'faults.latency.jitterMs must be a number, got NaN',
          'faults.latency.rate must be between 0 and 1, got 2',
          'faults.error.rate must be between 0 and 1, got -0.5',
          'faults.error.error must be an Error or a function that returns one, got boom',
          'faults.rate must be between 0 and 1, got 1.5',
          'faults.enabled must be a boolean or a function, got yes',
          'faults.random must be a function, got 3',
          'faults.clock.now must be a function, got undefined',
          'faults.clock.setTimeout must be a function, got undefined',
          'faults.clock.clearTimeout must be a function, got undefined',
        ]);
        return true;
      },
    );
    assert.throws(
      () => faults({ latency: 5 as never, error: { rate: undefined as never } }),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        error.problems.join('|') ===
          'faults.latency must be an object, got 5|faults.error.rate must be a number, got undefined',
    );
    assert.doesNotThrow(() => faults());
  });
});
