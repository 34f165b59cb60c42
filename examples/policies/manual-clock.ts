// manualClock() in your own tests: time that moves only when told to, so that a test of a 60 s
// open period or a 30 s retry schedule runs in milliseconds. Run with `node --test`; running the
// file directly works too (node:test reports on stdout, and the exit code says pass or fail).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { circuitBreaker, manualClock, retry } from 'rebound';

/** Code under test: a client that builds its policies with an injectable clock. */
function createClient(clock = manualClock()) {
  const breaker = circuitBreaker({ name: 'api', openMs: 60_000, clock });
  const policy = retry({ maxRetries: 2, backoff: { kind: 'constant', delayMs: 30_000 }, clock });
  return { breaker, policy };
}

describe('code that uses rebound, tested with manualClock', () => {
  it('lets a trial through once the 60 s open period has passed', async () => {
    const clock = manualClock();
    const { breaker } = createClient(clock);
    for (let i = 0; i < 5; i++)
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    assert.equal(breaker.state, 'open');
    clock.advance(59_999); // synchronous: a breaker reads the time only when a call arrives
    await assert.rejects(
      breaker.execute(() => 'ok'),
      /open/,
    );
    clock.advance(1);
    assert.equal(await breaker.execute(() => 'ok'), 'ok');
    assert.equal(breaker.state, 'closed');
  });

  it('waits 30 s between attempts', async () => {
    const clock = manualClock();
    const { policy } = createClient(clock);
    const attempts: number[] = [];
    const call = policy.execute(() => {
      attempts.push(clock.now());
      if (attempts.length < 3) throw new Error('flaky');
      return 'done';
    });
    // tickAsync lets promise callbacks run between timers: each retry schedules the next wait.
    await clock.tickAsync(60_000);
    assert.equal(await call, 'done');
    assert.deepEqual(attempts, [0, 30_000, 60_000]);
    assert.equal(clock.pendingTimers, 0);
  });
});
