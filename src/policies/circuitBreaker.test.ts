import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CIRCUIT_BREAKER_DEFAULTS, type CircuitBreakerOptions } from './breakerOptions.ts';
import { RECENT_CALLS } from './breakerWindow.ts';
import { type CircuitBreaker, type CircuitStateChangeEvent, circuitBreaker } from './circuitBreaker.ts';
import { type Clock, type ManualClock, manualClock } from './clock.ts';
import {
  BrokenCircuitError,
  InvalidOptionsError,
  IsolatedCircuitError,
  isBrokenCircuitError,
  isIsolatedCircuitError,
} from './errors.ts';
import { pipeline } from './pipeline.ts';
import { run } from './policy.ts';

function deferred<T = string>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(options: CircuitBreakerOptions = {}, start = 1_000_000) {
  const clock = manualClock(start);
  const breaker = circuitBreaker({ clock, ...options });
  const changes: CircuitStateChangeEvent[] = [];
  breaker.onStateChange((event) => changes.push(event));
  return { clock, breaker, changes, transitions: () => changes.map((c) => `${c.from}>${c.to}:${c.reason}`) };
}

async function succeed(breaker: CircuitBreaker, value = 'ok'): Promise<void> {
  assert.equal(await breaker.execute(() => value), value);
}

async function fail(breaker: CircuitBreaker, error: unknown = new Error('boom')): Promise<void> {
  await assert.rejects(
    breaker.execute(() => Promise.reject(error)),
    (thrown) => thrown === error,
  );
}

/** Runs `fn` through the breaker, taking `ms` of clock time. */
async function slowCall(
  breaker: CircuitBreaker,
  clock: ManualClock,
  ms: number,
  outcome: 'ok' | 'fail' = 'ok',
) {
  const gate = deferred();
  const call = breaker.execute(async () => {
    await gate.promise;
    if (outcome === 'fail') throw new Error('slow failure');
    return 'ok';
  });
  clock.advance(ms);
  gate.resolve('go');
  return call.catch((error: unknown) => error);
}

async function rejection(breaker: CircuitBreaker): Promise<unknown> {
  let called = false;
  const error = await breaker
    .execute(() => {
      called = true;
      return 'ran';
    })
    .then(
      () => assert.fail('expected a rejection'),
      (thrown: unknown) => thrown,
    );
  assert.equal(called, false, 'a rejected call must not run');
  return error;
}

describe('circuitBreaker: consecutive (default)', () => {
  it('opens after 5 failures in a row; a success in between starts the count again', async () => {
    const { breaker, transitions } = setup();
    for (let i = 0; i < 4; i++) await fail(breaker);
    await succeed(breaker);
    for (let i = 0; i < 4; i++) await fail(breaker);
    assert.equal(breaker.state, 'closed');
    await fail(breaker);
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions(), ['closed>open:consecutive-failures']);
    assert.equal(breaker.name, CIRCUIT_BREAKER_DEFAULTS.name);
  });

  it('rejects at once while open, with the circuit name and the time left', async () => {
    const { breaker, clock } = setup({ name: 'payments', trip: { kind: 'consecutive', failures: 1 } });
    const rejected: number[] = [];
    breaker.onRejected(({ retryAfterMs }) => rejected.push(retryAfterMs));
    await fail(breaker);
    clock.advance(15_000);
    const error = await rejection(breaker);
    assert.ok(error instanceof BrokenCircuitError);
    assert.ok(isBrokenCircuitError(error));
    assert.equal(error.code, 'CIRCUIT_OPEN');
    assert.equal(error.circuit, 'payments');
    assert.equal(error.retryAfterMs, 45_000);
    assert.deepEqual(rejected, [45_000]);
    assert.equal(breaker.stats().rejected, 1);
  });

  it('lets one trial through after openMs; its success closes the breaker', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'consecutive', failures: 2 },
      openMs: 5_000,
    });
    await fail(breaker);
    await fail(breaker);
    clock.advance(4_999);
    await rejection(breaker);
    clock.advance(1);
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(transitions(), [
      'closed>open:consecutive-failures',
      'open>half-open:open-elapsed',
      'half-open>closed:trial-succeeded',
    ]);
    // Closing cleared the count: one failure does not re-open it.
    await fail(breaker);
    assert.equal(breaker.state, 'closed');
  });

  it('reports the state change time in epoch ms of its clock', async () => {
    const { breaker, changes } = setup({ trip: { kind: 'consecutive', failures: 1 } }, 1_700_000_000_000);
    await fail(breaker);
    assert.equal(changes[0]!.at, 1_700_000_000_000);
    assert.equal(breaker.stats().lastTripAt, 1_700_000_000_000);
  });
});

describe('circuitBreaker: half-open', () => {
  it('rejects calls beyond halfOpen.maxCalls in flight and needs `successes` trial successes', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'consecutive', failures: 1 },
      openMs: 1_000,
      halfOpen: { maxCalls: 2, successes: 3 },
    });
    await fail(breaker);
    clock.advance(1_000);
    const first = deferred();
    const second = deferred();
    const calls = [breaker.execute(() => first.promise), breaker.execute(() => second.promise)];
    assert.equal(breaker.state, 'half-open');
    const error = await rejection(breaker);
    assert.ok(error instanceof BrokenCircuitError);
    assert.equal(error.retryAfterMs, 0);
    first.resolve('a');
    await calls[0];
    // One slot free again: a third trial may start.
    const third = deferred();
    const thirdCall = breaker.execute(() => third.promise);
    await rejection(breaker);
    second.resolve('b');
    third.resolve('c');
    assert.deepEqual(await Promise.all([calls[1], thirdCall]), ['b', 'c']);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(transitions().slice(-1), ['half-open>closed:trial-succeeded']);
    assert.equal(breaker.stats().rejected, 2);
  });

  it('re-opens on one trial failure, even when other trials are still in flight', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'consecutive', failures: 1 },
      openMs: 1_000,
      halfOpen: { maxCalls: 2, successes: 2 },
    });
    await fail(breaker);
    clock.advance(1_000);
    const slow = deferred();
    const pending = breaker.execute(() => slow.promise);
    await fail(breaker);
    assert.equal(breaker.state, 'open');
    // The stale trial's success decides nothing.
    slow.resolve('late');
    assert.equal(await pending, 'late');
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions(), [
      'closed>open:consecutive-failures',
      'open>half-open:open-elapsed',
      'half-open>open:trial-failed',
    ]);
  });

  it('releases the trial slot when the trial throws synchronously', async () => {
    const { breaker, clock } = setup({ trip: { kind: 'consecutive', failures: 1 }, openMs: 1_000 });
    await fail(breaker);
    clock.advance(1_000);
    const error = new Error('sync');
    await assert.rejects(
      breaker.execute(() => {
        throw error;
      }),
      (thrown) => thrown === error,
    );
    assert.equal(breaker.state, 'open');
    clock.advance(1_000);
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
  });

  it('releases the trial slot at once when the caller aborts, even if the work never settles', async () => {
    const { breaker, clock } = setup({ trip: { kind: 'consecutive', failures: 1 }, openMs: 1_000 });
    await fail(breaker);
    clock.advance(1_000);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const abandoned = breaker.execute(() => new Promise<string>(() => {}), controller.signal);
    await rejection(breaker); // the only slot is taken
    controller.abort(reason);
    await assert.rejects(abandoned, (thrown) => thrown === reason);
    assert.equal(breaker.state, 'half-open');
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats().failures, 1);
  });

  it('does not take a trial slot for a context whose signal has already aborted', async () => {
    const { breaker, clock } = setup({ trip: { kind: 'consecutive', failures: 1 }, openMs: 1_000 });
    await fail(breaker);
    clock.advance(1_000);
    const controller = new AbortController();
    const reason = new Error('already gone');
    controller.abort(reason);
    // An enclosing policy hands down its context: the breaker may see a signal that has aborted.
    let ran = false;
    const call = breaker[run](
      () => {
        ran = true;
        return 'x';
      },
      { signal: controller.signal, attempt: 0 },
    );
    await assert.rejects(call, (thrown) => thrown === reason);
    assert.equal(ran, false);
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
  });
});

describe('circuitBreaker: open backoff', () => {
  it('multiplies the open period after each failed trial, caps it, and starts over once closed', async () => {
    const { breaker, clock } = setup({
      trip: { kind: 'consecutive', failures: 1 },
      openMs: 10_000,
      openBackoff: { factor: 2, maxMs: 25_000 },
    });
    const openFor = async () => {
      const error = (await rejection(breaker)) as BrokenCircuitError;
      return error.retryAfterMs;
    };
    await fail(breaker);
    assert.equal(await openFor(), 10_000);
    clock.advance(10_000);
    await fail(breaker); // trial fails
    assert.equal(await openFor(), 20_000);
    clock.advance(20_000);
    await fail(breaker);
    assert.equal(await openFor(), 25_000);
    clock.advance(25_000);
    await fail(breaker);
    assert.equal(await openFor(), 25_000);
    clock.advance(25_000);
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
    await fail(breaker);
    assert.equal(await openFor(), 10_000);
    assert.equal(breaker.stats().tripCount, 5);
  });
});

describe('circuitBreaker: window', () => {
  it('opens on `failures` failures within windowMs, not when they are spread wider', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'window', windowMs: 10_000, failures: 3 },
    });
    await fail(breaker);
    clock.advance(6_000);
    await fail(breaker);
    clock.advance(4_000); // the first failure is now exactly windowMs old: it has left the window
    await fail(breaker);
    assert.equal(breaker.state, 'closed');
    clock.advance(3_999);
    await succeed(breaker); // successes do not reset the count
    await fail(breaker);
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions(), ['closed>open:window-failures']);
    assert.equal(breaker.stats().recentFailures, 3);
  });
});

describe('circuitBreaker: rate', () => {
  const trip = { kind: 'rate', windowMs: 10_000, minimumCalls: 4, failureRate: 0.5 } as const;

  it('opens when the failure share reaches failureRate once minimumCalls are in the window', async () => {
    const { breaker, transitions } = setup({ trip });
    await fail(breaker);
    await fail(breaker);
    await fail(breaker);
    assert.equal(breaker.state, 'closed', 'below minimumCalls');
    await succeed(breaker); // 3 of 4 failed: the success that reaches minimumCalls trips it
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions(), ['closed>open:failure-rate']);
  });

  it('stays closed below the rate and forgets calls older than windowMs', async () => {
    const { breaker, clock } = setup({ trip });
    await fail(breaker);
    await succeed(breaker);
    await succeed(breaker);
    await succeed(breaker);
    await fail(breaker); // 2 of 5
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats().recentFailures, 2);
    clock.advance(10_000);
    assert.equal(breaker.stats().recentFailures, 0);
    assert.equal(breaker.stats().healthPercent, 100);
    await fail(breaker);
    await fail(breaker);
    await succeed(breaker);
    assert.equal(breaker.state, 'closed', 'only 3 calls in the window');
    await succeed(breaker);
    assert.equal(breaker.state, 'open');
  });
});

describe('circuitBreaker: count', () => {
  it('opens on the failure share of the last `size` calls', async () => {
    const { breaker, transitions } = setup({
      trip: { kind: 'count', size: 5, minimumCalls: 5, failureRate: 0.6 },
    });
    for (const outcome of ['f', 'f', 's', 's', 's', 's', 'f', 'f']) {
      if (outcome === 'f') await fail(breaker);
      else await succeed(breaker);
    }
    // The last five: s s s f f → 40%.
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats().recentFailures, 2);
    assert.equal(breaker.stats().healthPercent, 60);
    await fail(breaker); // s s f f f → 60%
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions(), ['closed>open:failure-rate']);
  });
});

describe('circuitBreaker: slow calls', () => {
  it('consecutive: opens when the slow share of recent calls reaches the rate, from `failures` calls on', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'consecutive', failures: 4 },
      slowCall: { ms: 100, rate: 0.5 },
    });
    await slowCall(breaker, clock, 101);
    await slowCall(breaker, clock, 100); // not slower than ms: not slow
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
    await slowCall(breaker, clock, 500); // 2 slow of 4
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions(), ['closed>open:slow-calls']);
  });

  it('rate: counts slow calls over the time window, failed or not', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'rate', windowMs: 60_000, minimumCalls: 4, failureRate: 0.9 },
      slowCall: { ms: 1_000, rate: 0.8 },
    });
    await slowCall(breaker, clock, 2_000);
    await slowCall(breaker, clock, 2_000, 'fail');
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
    await slowCall(breaker, clock, 5_000);
    assert.equal(breaker.state, 'closed', '3 slow of 4 is below 0.8');
    assert.deepEqual(transitions(), []);
    await slowCall(breaker, clock, 5_000); // 4 slow of 5 = 0.8
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions(), ['closed>open:slow-calls']);
  });

  it('a slow trial re-opens the breaker', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'consecutive', failures: 1 },
      openMs: 1_000,
      slowCall: { ms: 50, rate: 1 },
    });
    await fail(breaker);
    clock.advance(1_000);
    assert.equal(await slowCall(breaker, clock, 51), 'ok');
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions().slice(-1), ['half-open>open:trial-slow']);
  });
});

describe('circuitBreaker: isolate and reset', () => {
  it('isolate() holds it open whatever the time, until reset() closes it with clean counters', async () => {
    const { breaker, clock, transitions } = setup({
      trip: { kind: 'consecutive', failures: 2 },
      openMs: 1_000,
    });
    await succeed(breaker);
    await fail(breaker);
    breaker.isolate();
    breaker.isolate(); // idempotent
    assert.equal(breaker.state, 'isolated');
    clock.advance(1_000_000);
    const error = await rejection(breaker);
    assert.ok(error instanceof IsolatedCircuitError);
    assert.ok(isIsolatedCircuitError(error));
    assert.equal((error as IsolatedCircuitError).circuit, 'circuit-breaker');
    assert.equal(breaker.stats().retryAfterMs, 0);
    assert.equal(breaker.stats().rejected, 1);
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    const stats = breaker.stats();
    assert.deepEqual(
      [stats.calls, stats.successes, stats.failures, stats.rejected, stats.tripCount, stats.lastTripAt],
      [0, 0, 0, 0, 0, null],
    );
    // The failure before isolation no longer counts towards the next trip.
    await fail(breaker);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(transitions(), ['closed>isolated:isolated', 'isolated>closed:reset']);
  });

  it('reset() of an open breaker closes it; calls from before the reset decide nothing', async () => {
    const { breaker, transitions } = setup({ trip: { kind: 'consecutive', failures: 1 } });
    const inFlight = deferred();
    const old = breaker.execute(() => inFlight.promise);
    await fail(breaker);
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    inFlight.reject(new Error('late failure'));
    await assert.rejects(old, /late failure/);
    assert.equal(breaker.state, 'closed', 'a call admitted before reset() must not trip it');
    assert.equal(breaker.stats().failures, 0, 'nor count in the clean statistics');
    assert.deepEqual(transitions(), ['closed>open:consecutive-failures', 'open>closed:reset']);
  });

  it('isolating a half-open breaker makes its trials stale', async () => {
    const { breaker, clock } = setup({ trip: { kind: 'consecutive', failures: 1 }, openMs: 10 });
    await fail(breaker);
    clock.advance(10);
    const trial = deferred();
    const call = breaker.execute(() => trial.promise);
    breaker.isolate();
    trial.resolve('done');
    assert.equal(await call, 'done');
    assert.equal(breaker.state, 'isolated');
  });
});

describe('circuitBreaker: what counts as a failure', () => {
  it('a failure caused by the caller aborting is not counted', async () => {
    const { breaker } = setup({ trip: { kind: 'consecutive', failures: 1 } });
    const failures: unknown[] = [];
    breaker.onFailure(({ error }) => failures.push(error));
    const controller = new AbortController();
    const call = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
      controller.signal,
    );
    controller.abort();
    await assert.rejects(call, { name: 'AbortError' });
    await flush();
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(failures, []);
    const stats = breaker.stats();
    assert.deepEqual([stats.calls, stats.successes, stats.failures], [1, 0, 0]);
  });

  it('an error other than the abort reason still counts after an abort', async () => {
    const { breaker } = setup({ trip: { kind: 'consecutive', failures: 1 } });
    const controller = new AbortController();
    const work = deferred();
    const call = breaker.execute(() => work.promise, controller.signal);
    controller.abort();
    await assert.rejects(call);
    work.reject(new Error('its own failure'));
    await flush();
    assert.equal(breaker.state, 'open');
  });

  it('isFailure decides which errors count; the others are successes and are rethrown unchanged', async () => {
    class NotFound extends Error {}
    const { breaker } = setup({
      trip: { kind: 'consecutive', failures: 2 },
      isFailure: (error) => !(error instanceof NotFound),
    });
    await fail(breaker);
    await fail(breaker, new NotFound('missing')); // resets the run of failures
    await fail(breaker);
    assert.equal(breaker.state, 'closed');
    const stats = breaker.stats();
    assert.deepEqual([stats.successes, stats.failures], [1, 2]);
    await fail(breaker);
    assert.equal(breaker.state, 'open');
  });

  it('isResultFailure counts results as failures, and the call still resolves with them', async () => {
    const { breaker } = setup({
      trip: { kind: 'consecutive', failures: 2 },
      isResultFailure: (result) => (result as { status: number }).status >= 500,
    });
    const failures: unknown[] = [];
    breaker.onFailure(({ error }) => failures.push(error));
    assert.deepEqual(await breaker.execute(() => ({ status: 503 })), { status: 503 });
    assert.deepEqual(await breaker.execute(() => ({ status: 200 })), { status: 200 });
    assert.deepEqual(await breaker.execute(() => ({ status: 500 })), { status: 500 });
    assert.equal(breaker.state, 'closed');
    await breaker.execute(() => ({ status: 502 }));
    assert.equal(breaker.state, 'open');
    assert.deepEqual(failures, [{ status: 503 }, { status: 500 }, { status: 502 }]);
  });

  it('a throwing predicate counts the call as a failure and surfaces its own error', async () => {
    const bug = new Error('predicate bug');
    const { breaker } = setup({
      trip: { kind: 'consecutive', failures: 1 },
      isResultFailure: () => {
        throw bug;
      },
    });
    await assert.rejects(
      breaker.execute(() => 'value'),
      (thrown) => thrown === bug,
    );
    assert.equal(breaker.state, 'open');
  });
});

describe('circuitBreaker: events and stats', () => {
  it('emits onSuccess and onFailure with durations, and stops after unsubscribe', async () => {
    const { breaker, clock } = setup({ trip: { kind: 'consecutive', failures: 3 } });
    const seen: string[] = [];
    const offSuccess = breaker.onSuccess(({ durationMs }) => seen.push(`success ${durationMs}`));
    const offFailure = breaker.onFailure(({ error, durationMs }) =>
      seen.push(`failure ${(error as Error).message} ${durationMs}`),
    );
    await slowCall(breaker, clock, 30);
    await slowCall(breaker, clock, 70, 'fail');
    offSuccess();
    offSuccess(); // twice is harmless
    offFailure();
    await succeed(breaker);
    await fail(breaker);
    assert.deepEqual(seen, ['success 30', 'failure slow failure 70']);
  });

  it('onStateChange and onRejected unsubscribe', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({ clock, trip: { kind: 'consecutive', failures: 1 } });
    let changes = 0;
    let rejections = 0;
    const offChange = breaker.onStateChange(() => changes++);
    const offRejected = breaker.onRejected(() => rejections++);
    await fail(breaker);
    await rejection(breaker);
    offChange();
    offRejected();
    breaker.reset();
    await fail(breaker);
    await rejection(breaker);
    assert.deepEqual([changes, rejections], [1, 1]);
  });

  it('stats() reports every field', async () => {
    const { breaker, clock } = setup(
      { name: 'search', trip: { kind: 'consecutive', failures: 2 }, openMs: 30_000 },
      5_000,
    );
    assert.deepEqual(breaker.stats(), {
      name: 'search',
      state: 'closed',
      calls: 0,
      successes: 0,
      failures: 0,
      rejected: 0,
      successRate: 1,
      recentFailures: 0,
      tripCount: 0,
      lastTripAt: null,
      retryAfterMs: 0,
      healthPercent: 100,
    });
    await succeed(breaker);
    await succeed(breaker);
    await fail(breaker);
    await fail(breaker);
    clock.advance(10_000);
    await rejection(breaker);
    assert.deepEqual(breaker.stats(), {
      name: 'search',
      state: 'open',
      calls: 4,
      successes: 2,
      failures: 2,
      rejected: 1,
      successRate: 0.5,
      recentFailures: 2,
      tripCount: 1,
      lastTripAt: 5_000,
      retryAfterMs: 20_000,
      healthPercent: 50,
    });
    clock.advance(25_000); // past the open period, no call yet: still open, nothing left to wait
    assert.equal(breaker.stats().retryAfterMs, 0);
    assert.equal(breaker.state, 'open');
  });

  it('consecutive: healthPercent and recentFailures cover the last 100 calls', async () => {
    const { breaker } = setup({ trip: { kind: 'consecutive', failures: 1_000 } });
    for (let i = 0; i < 10; i++) await fail(breaker);
    for (let i = 0; i < RECENT_CALLS - 10; i++) await succeed(breaker);
    assert.equal(breaker.stats().healthPercent, 90);
    assert.equal(breaker.stats().recentFailures, 10);
    for (let i = 0; i < 5; i++) await succeed(breaker);
    assert.equal(breaker.stats().recentFailures, 5);
    assert.equal(breaker.stats().healthPercent, 95);
    assert.equal(breaker.stats().successRate, 95 / 105);
  });

  it('counts a call in flight in `calls` and rejected ones only in `rejected`', async () => {
    const { breaker } = setup({ trip: { kind: 'consecutive', failures: 1 } });
    const work = deferred();
    const call = breaker.execute(() => work.promise);
    assert.equal(breaker.stats().calls, 1);
    await fail(breaker);
    await rejection(breaker);
    await rejection(breaker);
    work.resolve('done');
    await call;
    const stats = breaker.stats();
    assert.deepEqual([stats.calls, stats.successes, stats.failures, stats.rejected], [2, 1, 1, 2]);
  });
});

describe('circuitBreaker: saved state', () => {
  it('toJSON() restores through JSON in another breaker: open period, backoff and counters', async () => {
    const options: CircuitBreakerOptions = {
      trip: { kind: 'consecutive', failures: 1 },
      openMs: 10_000,
      openBackoff: { factor: 3, maxMs: 1_000_000 },
    };
    const { breaker, clock } = setup(options);
    await fail(breaker);
    clock.advance(10_000);
    await fail(breaker); // failed trial: open for 30 s
    clock.advance(5_000);
    const saved = JSON.parse(JSON.stringify(breaker));
    const restored = circuitBreaker({ ...options, clock, initialState: saved });
    assert.equal(restored.state, 'open');
    assert.deepEqual(restored.stats(), breaker.stats());
    assert.equal(((await rejection(restored)) as BrokenCircuitError).retryAfterMs, 25_000);
    clock.advance(25_000);
    await fail(restored); // the backoff level came along: 90 s now
    assert.equal(((await rejection(restored)) as BrokenCircuitError).retryAfterMs, 90_000);
  });

  it('restores a count window, so the next failure trips as it would have', async () => {
    const options: CircuitBreakerOptions = {
      trip: { kind: 'count', size: 4, minimumCalls: 4, failureRate: 0.75 },
    };
    const { breaker, clock } = setup(options);
    await succeed(breaker);
    await fail(breaker);
    await fail(breaker);
    const restored = circuitBreaker({ ...options, clock, initialState: JSON.parse(JSON.stringify(breaker)) });
    assert.equal(restored.stats().recentFailures, 2);
    await fail(restored);
    assert.equal(restored.state, 'open');
    // A snapshot taken under other trip options keeps counters but not the window.
    const other = circuitBreaker({
      clock,
      trip: { kind: 'count', size: 10, minimumCalls: 4, failureRate: 0.75 },
      initialState: breaker.toJSON(),
    });
    assert.equal(other.stats().recentFailures, 0);
    assert.equal(other.stats().failures, 2);
  });

  it('restores time windows and the consecutive count', async () => {
    for (const trip of [
      { kind: 'window', windowMs: 1_000, failures: 3 },
      { kind: 'rate', windowMs: 1_000, minimumCalls: 3, failureRate: 1 },
      { kind: 'consecutive', failures: 3 },
    ] as const) {
      const { breaker, clock } = setup({ trip });
      await fail(breaker);
      clock.advance(100);
      await fail(breaker);
      const restored = circuitBreaker({ trip, clock, initialState: JSON.parse(JSON.stringify(breaker)) });
      assert.equal(restored.stats().recentFailures, 2, trip.kind);
      await fail(restored);
      assert.equal(restored.state, 'open', trip.kind);
    }
  });

  it('a half-open breaker is restored half-open with its trial successes and no trial in flight', async () => {
    const options: CircuitBreakerOptions = {
      trip: { kind: 'consecutive', failures: 1 },
      openMs: 100,
      halfOpen: { maxCalls: 1, successes: 2 },
    };
    const { breaker, clock } = setup(options);
    await fail(breaker);
    clock.advance(100);
    await succeed(breaker);
    const stuck = breaker.execute(() => new Promise<string>(() => {}));
    void stuck;
    const restored = circuitBreaker({ ...options, clock, initialState: JSON.parse(JSON.stringify(breaker)) });
    assert.equal(restored.state, 'half-open');
    await succeed(restored);
    assert.equal(restored.state, 'closed');
  });

  it('an isolated breaker stays isolated', () => {
    const breaker = circuitBreaker();
    breaker.isolate();
    assert.equal(circuitBreaker({ initialState: breaker.toJSON() }).state, 'isolated');
  });
});

describe('circuitBreaker: options', () => {
  it('lists every problem in one error', () => {
    const error = (() => {
      try {
        circuitBreaker({
          name: '',
          trip: { kind: 'count', size: 0, minimumCalls: 0.5, failureRate: 2 },
          openMs: -1,
          openBackoff: { factor: 0.5, maxMs: -3 },
          halfOpen: { maxCalls: 0, successes: 1.5 },
          slowCall: { ms: -1, rate: 0 },
          isFailure: 'yes' as never,
          isResultFailure: 1 as never,
          initialState: { version: 2, state: 'ajar' } as never,
          clock: {} as Clock,
        });
      } catch (caught) {
        return caught;
      }
      assert.fail('expected InvalidOptionsError');
    })();
    assert.ok(error instanceof InvalidOptionsError);
    const expected = [
      'circuitBreaker.name must be a non-empty string, got ""',
      'circuitBreaker.trip.size must be >= 1, got 0',
      'circuitBreaker.trip.minimumCalls must be an integer, got 0.5',
      'circuitBreaker.trip.minimumCalls must be >= 1, got 0.5',
      'circuitBreaker.trip.failureRate must be <= 1, got 2',
      'circuitBreaker.openMs must be >= 0, got -1',
      'circuitBreaker.openBackoff.factor must be >= 1, got 0.5',
      'circuitBreaker.openBackoff.maxMs must be >= 0, got -3',
      'circuitBreaker.halfOpen.maxCalls must be >= 1, got 0',
      'circuitBreaker.halfOpen.successes must be an integer, got 1.5',
      'circuitBreaker.slowCall.ms must be >= 0, got -1',
      'circuitBreaker.slowCall.rate must be > 0, got 0',
      'circuitBreaker.isFailure must be a function, got "yes"',
      'circuitBreaker.isResultFailure must be a function, got 1',
      'circuitBreaker.clock must be a Clock (an object with now()), got [object Object]',
      'circuitBreaker.initialState.version must be one of 1, got 2',
      'circuitBreaker.initialState.state must be one of "closed", "open", "half-open", "isolated", got "ajar"',
    ];
    for (const problem of expected) assert.ok(error.problems.includes(problem), `missing: ${problem}`);
  });

  it('rejects an unknown trip kind and a count window too small for minimumCalls', () => {
    assert.throws(
      () => circuitBreaker({ trip: { kind: 'sometimes' } as never }),
      /trip\.kind must be one of/,
    );
    assert.throws(
      () => circuitBreaker({ trip: { kind: 'count', size: 5, minimumCalls: 10, failureRate: 0.5 } }),
      /circuitBreaker\.trip\.minimumCalls must be <= circuitBreaker\.trip\.size \(5\), got 10/,
    );
    assert.throws(
      () => circuitBreaker({ trip: { kind: 'window', windowMs: 0, failures: 3 } }),
      /windowMs must be > 0/,
    );
  });
});

describe('circuitBreaker: resources', () => {
  it('owns no timer and reads the clock on the closed success path only when it must', async () => {
    let reads = 0;
    const clock: Clock = {
      now: () => {
        reads++;
        return 0;
      },
      setTimeout: () => assert.fail('the breaker must not schedule timers'),
      clearTimeout: () => assert.fail('the breaker must not schedule timers'),
    };
    const breaker = circuitBreaker({ clock });
    for (let i = 0; i < 100; i++) await succeed(breaker);
    assert.equal(reads, 0);
    const off = breaker.onSuccess(() => {});
    await succeed(breaker);
    assert.equal(reads, 2, 'a listener needs durationMs: start and end');
    off();
    await fail(breaker);
    assert.equal(reads, 3, 'a failure reads the time once');
  });

  it('works as a step of a pipeline and passes the context through', async () => {
    const { breaker } = setup();
    const composed = pipeline(breaker);
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    assert.equal(
      await composed.execute(({ signal }) => {
        seen = signal;
        return 42;
      }, controller.signal),
      42,
    );
    assert.equal(seen, controller.signal);
    assert.equal(breaker.stats().successes, 1);
  });
});
