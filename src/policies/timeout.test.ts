import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from './clock.ts';
import { isTimeoutError, TimeoutError } from './errors.ts';
import { timeout } from './timeout.ts';

const never = () => new Promise<never>(() => {});

describe('timeout', () => {
  it('returns the result of work that finishes in time and leaves no timer pending', async () => {
    const clock = manualClock();
    const policy = timeout(100, { clock });
    assert.equal(await policy.execute(async () => 'done'), 'done');
    assert.equal(await policy.execute(() => 'sync value'), 'sync value');
    clock.advance(1_000);
    assert.equal(clock.pendingTimers, 0);
  });

  it('rejects with TimeoutError at the deadline even when the work ignores the signal', async () => {
    const clock = manualClock();
    const policy = timeout(100, { clock });
    const call = policy.execute(never);
    let settled = false;
    call.catch(() => {}).finally(() => (settled = true));
    await clock.tickAsync(99);
    assert.equal(settled, false);
    await clock.tickAsync(1);
    const error = await call.catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.timeoutMs, 100);
    assert.ok(isTimeoutError(error));
  });

  it('aborts ctx.signal at the deadline with the TimeoutError as reason', async () => {
    const clock = manualClock();
    const policy = timeout(50, { clock });
    let seen: AbortSignal | undefined;
    const call = policy.execute(({ signal }) => {
      seen = signal;
      return never();
    });
    const rejected = assert.rejects(call, TimeoutError);
    await clock.tickAsync(50);
    await rejected;
    assert.equal(seen?.aborted, true);
    assert.ok(isTimeoutError(seen?.reason));
  });

  it('passes a rejection from the work through unchanged', async () => {
    const policy = timeout(100, { clock: manualClock() });
    const failure = new Error('boom');
    await assert.rejects(
      policy.execute(async () => {
        throw failure;
      }),
      (e) => e === failure,
    );
    await assert.rejects(
      policy.execute(() => {
        throw failure;
      }),
      (e) => e === failure,
    );
  });

  it('forwards the caller abort to ctx.signal and rejects with its reason', async () => {
    const clock = manualClock();
    const policy = timeout(1_000, { clock });
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = policy.execute(({ signal }) => {
      inner = signal;
      return never();
    }, controller.signal);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await assert.rejects(call, (e) => e === reason);
    assert.equal(inner?.aborted, true);
    assert.equal(inner?.reason, reason);
  });

  it('handles timeouts of different durations sharing one clock in deadline order', async () => {
    const clock = manualClock();
    const long = timeout(300, { clock });
    const short = timeout(100, { clock });
    const order: number[] = [];
    const a = long.execute(never).catch(() => order.push(300));
    const b = short.execute(never).catch(() => order.push(100));
    await clock.tickAsync(100);
    assert.deepEqual(order, [100]);
    await clock.tickAsync(200);
    await Promise.all([a, b]);
    assert.deepEqual(order, [100, 300]);
  });

  it('expires only the calls whose deadline has passed', async () => {
    const clock = manualClock();
    const policy = timeout(100, { clock });
    const outcomes: string[] = [];
    const first = policy.execute(never).catch(() => outcomes.push('first timed out'));
    await clock.tickAsync(60);
    const second = policy.execute(never).catch(() => outcomes.push('second timed out'));
    await clock.tickAsync(40);
    assert.deepEqual(outcomes, ['first timed out']);
    await clock.tickAsync(60);
    await Promise.all([first, second]);
    assert.deepEqual(outcomes, ['first timed out', 'second timed out']);
  });

  it('emits onTimeout only for abandoned calls', async () => {
    const clock = manualClock();
    const policy = timeout(10, { clock });
    const events: number[] = [];
    const unsubscribe = policy.onTimeout((e) => events.push(e.timeoutMs));
    await policy.execute(async () => 1);
    const call = assert.rejects(policy.execute(never), TimeoutError);
    await clock.tickAsync(10);
    await call;
    unsubscribe();
    const again = assert.rejects(policy.execute(never), TimeoutError);
    await clock.tickAsync(10);
    await again;
    assert.deepEqual(events, [10]);
  });

  it('refuses a negative duration', () => {
    assert.throws(() => timeout(-1), /timeout.ms must be >= 0, got -1/);
  });

  it('creates no timer per call on the success path', async () => {
    const clock = manualClock();
    let created = 0;
    const counting = {
      ...clock,
      setTimeout: (cb: () => void, ms: number) => {
        created++;
        return clock.setTimeout(cb, ms);
      },
    };
    const policy = timeout(1_000, { clock: counting });
    for (let i = 0; i < 1_000; i++) await policy.execute(async () => i);
    assert.equal(created, 1);
  });

  it('does not keep the process alive once no call waits on the shared timer', async () => {
    // Real clock: the shared timer must be unref'd when idle, or this test file would hang for 60 s.
    const policy = timeout(60_000);
    assert.equal(await policy.execute(async () => 'quick'), 'quick');
  });
});

describe('timeout and a caller abort', () => {
  it('ends the call at the abort and drops its deadline, so onTimeout never fires for it', async () => {
    const clock = manualClock();
    const policy = timeout(300, { clock });
    let timeouts = 0;
    policy.onTimeout(() => timeouts++);
    const controller = new AbortController();
    const call = policy.execute(() => new Promise<never>(() => {}), controller.signal);
    await clock.tickAsync(10);
    controller.abort(new Error('caller gone'));
    await assert.rejects(call, /caller gone/);
    await clock.tickAsync(1_000);
    assert.equal(timeouts, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  it('refuses a clock without the Clock methods', () => {
    assert.throws(() => timeout(10, { clock: {} as never }), /timeout.clock.now must be a function/);
  });
});
