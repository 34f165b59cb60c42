// Tests for rateLimit(): window semantics, several limits at once, retryAfterMs, tryAcquire, refill.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from './clock.ts';
import { InvalidOptionsError, isRateLimitedError, RateLimitedError } from './errors.ts';
import { RATE_LIMIT_DEFAULTS, type RateLimitedEvent, type RateLimiter, rateLimit } from './rateLimit.ts';

/** The retryAfterMs of a refused call, or 'admitted'. */
async function attempt(limiter: RateLimiter): Promise<number | 'admitted'> {
  try {
    await limiter.execute(() => undefined);
    return 'admitted';
  } catch (error) {
    assert.ok(isRateLimitedError(error), `unexpected ${String(error)}`);
    return error.retryAfterMs;
  }
}

describe('rateLimit', () => {
  it('admits max calls, then refuses with RateLimitedError until the oldest is perMs old', async () => {
    const clock = manualClock();
    const limiter = rateLimit({ limits: [{ max: 3, perMs: 1_000 }], clock });
    assert.equal(await attempt(limiter), 'admitted');
    clock.advance(100);
    assert.equal(await attempt(limiter), 'admitted');
    clock.advance(100);
    assert.equal(await attempt(limiter), 'admitted');
    const refused = await limiter.execute(() => 'x').catch((e: unknown) => e);
    assert.ok(refused instanceof RateLimitedError);
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.equal(refused.retryAfterMs, 800);
    clock.advance(799);
    assert.equal(await attempt(limiter), 1);
    clock.advance(1);
    assert.equal(await attempt(limiter), 'admitted');
    // The next token frees when the call admitted at 100 is perMs old.
    assert.equal(await attempt(limiter), 100);
  });

  it('never lets a refilled token in before perMs has passed since the burst', async () => {
    const clock = manualClock();
    const limiter = rateLimit({ limits: [{ max: 2, perMs: 1_000 }], clock });
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), true);
    // A continuously refilled bucket would hold a token again at 500 ms.
    clock.advance(500);
    assert.equal(limiter.tryAcquire(), false);
    clock.advance(499);
    assert.equal(limiter.tryAcquire(), false);
    clock.advance(1);
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), false);
  });

  it('refills fully after perMs of quiet', async () => {
    const clock = manualClock();
    const limiter = rateLimit({ limits: [{ max: 5, perMs: 200 }], clock });
    for (let round = 0; round < 3; round++) {
      for (let call = 0; call < 5; call++) assert.equal(await attempt(limiter), 'admitted');
      assert.equal(await attempt(limiter), 200);
      clock.advance(200);
    }
  });

  it('applies every limit, taking a token from each only when all have one', async () => {
    const clock = manualClock();
    const limiter = rateLimit({
      limits: [
        { max: 1, perMs: 100 },
        { max: 3, perMs: 1_000 },
      ],
      clock,
    });
    assert.equal(await attempt(limiter), 'admitted');
    clock.advance(10);
    assert.equal(await attempt(limiter), 90);
    clock.advance(10);
    // Refused by the first limit: the second must not have lost a token.
    assert.equal(await attempt(limiter), 80);
    clock.advance(80);
    assert.equal(await attempt(limiter), 'admitted');
    clock.advance(100);
    assert.equal(await attempt(limiter), 'admitted');
    clock.advance(100);
    // Now the second limit is the one that refuses: its oldest admission was at 0.
    assert.equal(await attempt(limiter), 700);
    assert.deepEqual(
      limiter.stats().limits.map((limit) => limit.available),
      [1, 0],
    );
  });

  it('sets retryAfterMs to the time until every limit can give a token', async () => {
    const clock = manualClock();
    const limiter = rateLimit({
      limits: [
        { max: 2, perMs: 100 },
        { max: 2, perMs: 1_000 },
      ],
      clock,
    });
    assert.equal(limiter.tryAcquire(), true);
    clock.advance(50);
    assert.equal(limiter.tryAcquire(), true);
    // Both are out of tokens: the first frees one at 100, the second only at 1000.
    assert.equal(await attempt(limiter), 950);
    assert.equal(limiter.stats().retryAfterMs, 950);
    clock.advance(950);
    assert.equal(await attempt(limiter), 'admitted');
  });

  it('tryAcquire takes a token without a call and refuses without taking any', async () => {
    const clock = manualClock();
    const limiter = rateLimit({ limits: [{ max: 2, perMs: 1_000 }], clock });
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(await attempt(limiter), 'admitted');
    assert.equal(limiter.tryAcquire(), false);
    let called = false;
    await assert.rejects(
      limiter.execute(() => {
        called = true;
      }),
      isRateLimitedError,
    );
    assert.equal(called, false);
    assert.deepEqual(limiter.stats(), {
      admitted: 2,
      rejected: 2,
      retryAfterMs: 1_000,
      limits: [{ max: 2, perMs: 1_000, available: 0 }],
    });
    clock.advance(1_000);
    assert.equal(limiter.stats().limits[0]!.available, 2);
  });

  it('passes results, errors and the context through unchanged', async () => {
    const limiter = rateLimit({ limits: [{ max: 10, perMs: 1_000 }], clock: manualClock() });
    const controller = new AbortController();
    assert.equal(
      await limiter.execute(
        (ctx) => ctx.signal === controller.signal && ctx.attempt === 0,
        controller.signal,
      ),
      true,
    );
    const failure = new Error('own failure');
    await assert.rejects(
      limiter.execute(() => {
        throw failure;
      }),
      (error) => error === failure,
    );
    await assert.rejects(
      limiter.execute(() => Promise.reject(failure)),
      (error) => error === failure,
    );
  });

  it('emits onRejected and owns no timer', async () => {
    const clock = manualClock();
    const limiter = rateLimit({ limits: [{ max: 1, perMs: 500 }], clock });
    const events: RateLimitedEvent[] = [];
    const unsubscribe = limiter.onRejected((event) => events.push(event));
    assert.equal(limiter.tryAcquire(), true);
    clock.advance(200);
    assert.equal(limiter.tryAcquire(), false);
    await attempt(limiter);
    unsubscribe();
    await attempt(limiter);
    assert.deepEqual(events, [{ retryAfterMs: 300 }, { retryAfterMs: 300 }]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('bounds memory for large limits and still never exceeds them', async () => {
    assert.equal(RATE_LIMIT_DEFAULTS.exactUpTo, 4096);
    const clock = manualClock();
    const limiter = rateLimit({ limits: [{ max: 1_000_000, perMs: 1_000 }], clock });
    let admitted = 0;
    while (admitted < 2_000_000 && limiter.tryAcquire()) admitted++;
    assert.equal(admitted, 1_000_000);
    const waitMs = limiter.stats().retryAfterMs;
    // Counted in slots of perMs / 128, plus a guard slot: at most 2 slots later than exact.
    assert.ok(waitMs >= 1_000 && waitMs <= 1_000 + (2 * 1_000) / 128, `waitMs ${waitMs}`);
    clock.advance(waitMs);
    assert.equal(limiter.tryAcquire(), true);
  });

  it('counts in slots when exactUpTo is below max, refusing early rather than late', async () => {
    const clock = manualClock();
    const limiter = rateLimit({ limits: [{ max: 2, perMs: 1_280 }], exactUpTo: 0, clock });
    clock.advance(5);
    assert.equal(limiter.tryAcquire(), true);
    clock.advance(100);
    assert.equal(limiter.tryAcquire(), true);
    // Slots are 10 ms: the slot of the first admission (0–10) stops counting at 1300 (guard slot included).
    assert.equal(await attempt(limiter), 1_300 - 105);
    clock.advance(1_300 - 105 - 1);
    assert.equal(limiter.tryAcquire(), false);
    clock.advance(1);
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), false);
  });

  it('reports every invalid option at once', () => {
    assert.throws(
      () =>
        rateLimit({
          limits: [
            { max: 0, perMs: 1_000 },
            { max: 2.5, perMs: 0 },
          ],
          exactUpTo: -1,
        }),
      (error) =>
        error instanceof InvalidOptionsError &&
        error.problems.join('\n') ===
          [
            'rateLimit.limits[0].max must be >= 1, got 0',
            'rateLimit.limits[1].max must be an integer, got 2.5',
            'rateLimit.limits[1].perMs must be > 0, got 0',
            'rateLimit.exactUpTo must be >= 0, got -1',
          ].join('\n'),
    );
    assert.throws(() => rateLimit({ limits: [] }), /rateLimit.limits must be a non-empty array/);
    assert.throws(
      () => rateLimit(undefined as never),
      /rateLimit.limits must be a non-empty array, got undefined/,
    );
    assert.throws(
      () => rateLimit({ limits: [{ max: Number.POSITIVE_INFINITY, perMs: 1 }] }),
      /rateLimit.limits\[0\] must be finite/,
    );
  });
});
