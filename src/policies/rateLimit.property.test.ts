// Property tests for rateLimit(): for arbitrary arrival times, no window of perMs ever holds more
// than max admissions for any of its limits; the exact mode also admits every call that fits and
// its retryAfterMs is exactly the wait until every limit has room.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { manualClock } from './clock.ts';
import { rateLimit } from './rateLimit.ts';

const limitsArbitrary = fc.array(
  fc.record({ max: fc.integer({ min: 1, max: 6 }), perMs: fc.integer({ min: 1, max: 300 }) }),
  { minLength: 1, maxLength: 3 },
);

/** Gaps between arrivals: many simultaneous or close ones, some long, some fractional. */
const gapsArbitrary = fc.array(
  fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 20 }),
    fc.integer({ min: 20, max: 300 }),
    fc.integer({ min: 1, max: 1_200 }).map((quarters) => quarters / 4),
    fc.double({ min: 0, max: 50, noNaN: true }),
  ),
  { minLength: 1, maxLength: 150, size: 'max' },
);

/** Admissions in [start, start + perMs) for every start at an admission: the fullest windows begin at one. */
function assertNoWindowOverfull(admitted: readonly number[], max: number, perMs: number): void {
  for (let first = 0; first < admitted.length; first++) {
    let count = 0;
    for (let index = first; index < admitted.length && admitted[index]! - admitted[first]! < perMs; index++) {
      count++;
    }
    assert.ok(count <= max, `${count} admitted in [${admitted[first]}, +${perMs}) with max ${max}`);
  }
}

function admittedSince(admitted: readonly number[], now: number, perMs: number): number[] {
  return admitted.filter((time) => now - time < perMs);
}

describe('rateLimit properties', () => {
  for (const mode of ['exact', 'slotted'] as const) {
    it(`${mode}: never admits more than max in any perMs window, for every limit`, () => {
      fc.assert(
        fc.property(limitsArbitrary, gapsArbitrary, fc.array(fc.boolean()), (limits, gaps, useTry) => {
          const clock = manualClock(1_000);
          const limiter = rateLimit({ limits, clock, exactUpTo: mode === 'exact' ? 4096 : 0 });
          const admitted: number[] = [];
          let refusedWaitMs = 0;
          limiter.onRejected((event) => {
            refusedWaitMs = event.retryAfterMs;
          });
          gaps.forEach((gap, index) => {
            clock.advance(gap);
            const now = clock.now();
            refusedWaitMs = 0;
            let accepted = false;
            if (useTry[index % Math.max(useTry.length, 1)] ?? false) {
              accepted = limiter.tryAcquire();
            } else {
              // Admission is decided, and an admitted fn called, before execute returns.
              limiter
                .execute(() => {
                  accepted = true;
                })
                .catch(() => {});
            }
            assert.equal(refusedWaitMs > 0, !accepted, 'a refusal, and only a refusal, has a wait');
            if (mode === 'exact') {
              // Admitted exactly when every limit has fewer than max admissions in (now - perMs, now].
              const waits = limits.map(({ max, perMs }) => {
                const recent = admittedSince(admitted, now, perMs);
                return recent.length < max ? 0 : perMs - (now - recent[recent.length - max]!);
              });
              const expectedWait = Math.max(...waits);
              assert.equal(accepted, expectedWait <= 0, `at ${now}: expected wait ${expectedWait}`);
              if (!accepted) assert.ok(Math.abs(refusedWaitMs - expectedWait) < 1e-9);
            } else if (!accepted) {
              // Slot counting refuses at most two slots (2/128 of perMs) earlier than exact counting.
              const full = limits.some(
                ({ max, perMs }) => admittedSince(admitted, now, perMs * (1 + 2 / 128) + 1e-9).length >= max,
              );
              assert.ok(full, `refused at ${now} with room in every limit`);
            }
            if (accepted) admitted.push(now);
          });
          for (const { max, perMs } of limits) assertNoWindowOverfull(admitted, max, perMs);
          assert.equal(limiter.stats().admitted, admitted.length);
          assert.equal(clock.pendingTimers, 0);
        }),
        { numRuns: 500 },
      );
    });
  }
});
