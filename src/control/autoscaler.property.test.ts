// Property tests for autoscaler(): for random options and random sequences of inputs (closed loop
// or arbitrary replica counts, some of them still starting, time moving by uneven steps and
// sometimes backwards) every answer is within [min, max], moves at most one step limit, keeps still
// inside the tolerance band, never scales down below a recommendation made within the stabilization
// window nor while replicas start and the ready ones are not below the band, and never adds
// replicas for load the starting ones will absorb.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { autoscaler } from './autoscaler.ts';

const options = fc
  .record({
    target: fc.double({ min: 0.05, max: 100, noNaN: true }),
    min: fc.integer({ min: 1, max: 5 }),
    span: fc.integer({ min: 0, max: 60 }),
    tolerance: fc.double({ min: 0, max: 0.5, noNaN: true }),
    percent: fc.double({ min: 1, max: 200, noNaN: true }),
    stepMin: fc.integer({ min: 1, max: 5 }),
    windowMs: fc.integer({ min: 0, max: 600_000 }),
    pid: fc.record({
      kp: fc.double({ min: 0, max: 3, noNaN: true }),
      ki: fc.double({ min: 0, max: 0.2, noNaN: true }),
      kd: fc.double({ min: 0, max: 30, noNaN: true }),
    }),
  })
  .map((o) => ({ ...o, max: o.min + o.span }));

const step = fc.record({
  // Multiples of the target, so that values near, inside and far outside the band all occur.
  ratio: fc.oneof(fc.double({ min: 0, max: 4, noNaN: true }), fc.constantFrom(0, 1, 1.1, 0.9, 2)),
  dtMs: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 120_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: -30_000, max: -1 }) },
  ),
  // undefined: the previous answer (closed loop); otherwise an arbitrary current count.
  replicas: fc.option(fc.integer({ min: 0, max: 80 }), { nil: undefined, freq: 3 }),
  // undefined: no `ready` given; otherwise the percentage of the replicas serving (ready <= replicas).
  readyPercent: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined, freq: 2 }),
  // With `ready`: sometimes the value is chosen so that the projected ratio is this percentage.
  projectedPercent: fc.option(fc.integer({ min: 50, max: 150 }), { nil: undefined, freq: 2 }),
});

/** The same ratio × ready, with the slack of the autoscaler's own floating-point rounding. */
const ceilOf = (x: number) => Math.ceil(x + 1e-6);

describe('autoscaler properties', () => {
  it('stays within bounds and the step limit, and never scales down inside the window', () => {
    fc.assert(
      fc.property(options, fc.array(step, { minLength: 1, maxLength: 80 }), (o, steps) => {
        const scaler = autoscaler({
          target: o.target,
          min: o.min,
          max: o.max,
          tolerance: o.tolerance,
          maxStep: { percent: o.percent, min: o.stepMin },
          scaleDownStabilizationMs: o.windowMs,
          pid: o.pid,
        });
        const seen: Array<{ atMs: number; recommended: number }> = [];
        let atMs = 1_000_000;
        let nowMs = Number.NEGATIVE_INFINITY;
        let previous = o.min;
        for (const s of steps) {
          atMs += s.dtMs;
          nowMs = Math.max(nowMs, atMs);
          const replicas = s.replicas ?? previous;
          const ready =
            s.readyPercent === undefined ? undefined : Math.floor((s.readyPercent * replicas) / 100);
          const serving = ready ?? replicas;
          const ratio =
            s.projectedPercent !== undefined && serving > 0
              ? ((s.projectedPercent / 100) * replicas) / serving
              : s.ratio;
          const value = ratio * o.target;
          const desired = scaler.recommend({ replicas, ready, value, atMs });
          const decision = scaler.lastDecision!;
          const projected = replicas === 0 ? 0 : (ratio * serving) / replicas;
          seen.push({ atMs: nowMs, recommended: decision.recommended });

          assert.ok(Number.isInteger(desired), `an integer count, got ${desired}`);
          assert.ok(desired >= o.min && desired <= o.max, `${desired} outside [${o.min}, ${o.max}]`);
          assert.equal(decision.desired, desired);
          assert.equal(decision.ready, serving);

          const inBounds = replicas >= o.min && replicas <= o.max;
          if (inBounds) {
            const limit = Math.max(o.stepMin, Math.floor((o.percent / 100) * replicas + 1e-9));
            assert.ok(
              Math.abs(desired - replicas) <= limit,
              `from ${replicas} to ${desired}: more than the step limit ${limit}`,
            );
          }
          if (Math.abs(projected - 1) <= o.tolerance - 1e-9) {
            assert.equal(desired, Math.min(o.max, Math.max(o.min, replicas)), 'no change inside the band');
          }
          if (inBounds && serving < replicas && ratio >= 1 - o.tolerance + 1e-9) {
            assert.ok(desired >= replicas, `scaled down ${replicas} → ${desired} while replicas start`);
          }
          if (inBounds && desired < replicas) {
            const highest = Math.max(
              ...seen.filter((r) => r.atMs > nowMs - o.windowMs).map((r) => r.recommended),
            );
            assert.ok(
              desired >= Math.min(replicas, highest),
              `scaled down to ${desired} below ${highest}, recommended within the window`,
            );
          }
          previous = desired;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never adds replicas beyond what the ready ones measure (default gains, kp 1)', () => {
    fc.assert(
      fc.property(options, fc.array(step, { minLength: 1, maxLength: 80 }), (o, steps) => {
        const scaler = autoscaler({ target: o.target, min: o.min, max: o.max, tolerance: o.tolerance });
        let atMs = 0;
        let previous = o.min;
        for (const s of steps) {
          atMs += Math.max(0, s.dtMs);
          const replicas = s.replicas ?? previous;
          const ready = Math.floor(((s.readyPercent ?? 100) * replicas) / 100);
          const desired = scaler.recommend({ replicas, ready, value: s.ratio * o.target, atMs });
          if (replicas >= o.min && desired > replicas) {
            assert.ok(
              desired <= ceilOf(ready * s.ratio),
              `${replicas} (${ready} ready at ratio ${s.ratio}) → ${desired}: more than the ready ones need`,
            );
          }
          previous = desired;
        }
      }),
      { numRuns: 300 },
    );
  });
});
