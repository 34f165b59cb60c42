import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionsError } from '../policies/index.ts';
import { AUTOSCALER_DEFAULTS, autoscaler, type AutoscalerOptions } from './autoscaler.ts';

const MINUTE = 60_000;

/** A scaler whose scale-down is not held, for tests about the other rules. */
const unstabilized = (options: Partial<AutoscalerOptions> = {}) =>
  autoscaler({ target: 0.5, min: 1, max: 100, scaleDownStabilizationMs: 0, ...options });

describe('autoscaler', () => {
  it('has the defaults SPEC 7 gives (HPA tolerance and window, 20% or 1 replica per decision)', () => {
    assert.deepEqual(AUTOSCALER_DEFAULTS, {
      pid: { kp: 1, ki: 0, kd: 0 },
      tolerance: 0.1,
      maxStep: { percent: 20, min: 1 },
      scaleDownStabilizationMs: 300_000,
    });
  });

  it("follows HPA's rule ceil(replicas × value / target) when the step allows it", () => {
    const scaler = unstabilized();
    assert.equal(scaler.recommend({ replicas: 10, value: 0.6, atMs: 0 }), 12);
    assert.equal(scaler.recommend({ replicas: 10, value: 0.56, atMs: MINUTE }), 12); // 11.2 rounds up
    assert.equal(scaler.recommend({ replicas: 10, value: 0.42, atMs: 2 * MINUTE }), 9); // 8.4 rounds up
    assert.equal(scaler.lastDecision?.reason, 'proportional');
  });

  it('changes nothing while |value / target − 1| is within the tolerance, edges included', () => {
    const scaler = autoscaler({ target: 0.7, min: 1, max: 100 });
    assert.equal(scaler.recommend({ replicas: 10, value: 0.77, atMs: 0 }), 10);
    assert.equal(scaler.lastDecision?.reason, 'within tolerance');
    assert.equal(scaler.recommend({ replicas: 10, value: 0.63, atMs: 1 }), 10);
    assert.equal(scaler.recommend({ replicas: 10, value: 0.78, atMs: 2 }), 12);
    const narrow = unstabilized({ tolerance: 0.01 });
    assert.equal(narrow.recommend({ replicas: 10, value: 0.51, atMs: 0 }), 11);
  });

  it('moves at most max(maxStep.min, percent% of the current count) per decision', () => {
    const scaler = unstabilized();
    assert.equal(scaler.recommend({ replicas: 10, value: 1.5, atMs: 0 }), 12);
    assert.equal(scaler.recommend({ replicas: 3, value: 1.5, atMs: 1 }), 4); // 20% of 3 < 1
    assert.equal(scaler.recommend({ replicas: 14, value: 1.5, atMs: 2 }), 16); // 2.8 → 2
    assert.equal(scaler.recommend({ replicas: 10, value: 0, atMs: 3 }), 8);
    const wide = unstabilized({ maxStep: { percent: 50, min: 3 } });
    assert.equal(wide.recommend({ replicas: 4, value: 2, atMs: 0 }), 7);
    assert.equal(wide.lastDecision?.reason, 'step limit');
    assert.equal(wide.recommend({ replicas: 20, value: 2, atMs: 1 }), 30);
  });

  it('scales down only to the highest recommendation within the window', () => {
    const scaler = autoscaler({ target: 0.5, min: 1, max: 100, scaleDownStabilizationMs: 5 * MINUTE });
    assert.equal(scaler.recommend({ replicas: 10, value: 0.5, atMs: 0 }), 10);
    assert.equal(scaler.recommend({ replicas: 10, value: 0.45, atMs: MINUTE }), 10); // in band: 10
    // Load falls: the rule says 7, the window still holds 10.
    for (let minute = 2; minute <= 5; minute++) {
      assert.equal(scaler.recommend({ replicas: 10, value: 0.35, atMs: minute * MINUTE }), 10);
      assert.equal(scaler.lastDecision?.reason, 'stabilization window');
      assert.equal(scaler.lastDecision?.recommended, 7);
    }
    // The window is (now − 5 minutes, now]: at minute 6 the 10 of minute 1 has left it; 7 is the
    // highest left, reached by a step of 2.
    assert.equal(scaler.recommend({ replicas: 10, value: 0.35, atMs: 6 * MINUTE - 1 }), 10);
    assert.equal(scaler.recommend({ replicas: 10, value: 0.35, atMs: 6 * MINUTE }), 8);
  });

  it('scales down to the highest recent recommendation, not to the lowest', () => {
    const scaler = autoscaler({
      target: 0.5,
      min: 1,
      max: 100,
      scaleDownStabilizationMs: 5 * MINUTE,
      maxStep: { percent: 100, min: 1 },
    });
    assert.equal(scaler.recommend({ replicas: 20, value: 0.5, atMs: 0 }), 20);
    assert.equal(scaler.recommend({ replicas: 20, value: 0.4, atMs: 3 * MINUTE }), 20); // recommends 16
    assert.equal(scaler.recommend({ replicas: 20, value: 0.2, atMs: 4 * MINUTE }), 20); // recommends 8
    assert.equal(scaler.recommend({ replicas: 20, value: 0.2, atMs: 6 * MINUTE }), 16);
    assert.equal(scaler.recommend({ replicas: 16, value: 0.25, atMs: 9 * MINUTE }), 8);
  });

  it('scales up at once, whatever the window holds', () => {
    const scaler = autoscaler({ target: 0.5, min: 1, max: 100 });
    assert.equal(scaler.recommend({ replicas: 10, value: 0.5, atMs: 0 }), 10);
    assert.equal(scaler.recommend({ replicas: 10, value: 0.2, atMs: 1 }), 10);
    assert.equal(scaler.lastDecision?.reason, 'stabilization window');
    assert.equal(scaler.recommend({ replicas: 10, value: 0.6, atMs: 2 }), 12);
  });

  it('never answers outside [min, max], even against the step limit', () => {
    const scaler = autoscaler({ target: 0.5, min: 3, max: 12 });
    assert.equal(scaler.recommend({ replicas: 11, value: 5, atMs: 0 }), 12);
    assert.equal(scaler.lastDecision?.reason, 'bounds');
    assert.equal(scaler.recommend({ replicas: 30, value: 0.5, atMs: 1 }), 12);
    assert.equal(scaler.recommend({ replicas: 0, value: 0, atMs: 2 }), 3);
    const down = autoscaler({ target: 0.5, min: 3, max: 12, scaleDownStabilizationMs: 0 });
    assert.equal(down.recommend({ replicas: 3, value: 0, atMs: 0 }), 3);
  });

  it('follows a step in load to the target without overshoot and then holds', () => {
    const scaler = autoscaler({ target: 0.7, min: 1, max: 50 });
    let replicas = 5;
    const path: number[] = [];
    for (let tick = 0; tick < 30; tick++) {
      const load = tick < 2 ? 3.5 : 10.5; // 5 replicas' worth at target, then 15
      replicas = scaler.recommend({ replicas, value: load / replicas, atMs: tick * 15_000 });
      path.push(replicas);
    }
    assert.deepEqual(path.slice(0, 10), [5, 5, 6, 7, 8, 9, 10, 12, 14, 14]);
    assert.ok(
      path.every((count) => count <= 15),
      'never above what the load needs',
    );
    assert.ok(
      path.slice(9).every((count) => count === 14),
      'holds once within the tolerance',
    );
  });

  it('counts replicas still starting as capacity on its way (dead time)', () => {
    const scaler = autoscaler({ target: 0.7, min: 1, max: 100 });
    // 15 serve at 4x the target's load per replica (ratio ≈ 3.81): 58 needed, 18 allowed now.
    assert.equal(scaler.recommend({ replicas: 15, ready: 15, value: 400 / 150, atMs: 0 }), 18);
    // One second later the 3 added are starting: the 15 still measure the same; the target is
    // still 58 (not 18 × 3.81 = 69), reached in steps of 20%.
    assert.equal(scaler.recommend({ replicas: 18, ready: 15, value: 400 / 150, atMs: 1_000 }), 21);
    assert.equal(scaler.lastDecision?.ready, 15);
    assert.equal(scaler.lastDecision?.reason, 'step limit');
    assert.ok(Math.abs(scaler.lastDecision!.projected - (400 / 150 / 0.7) * (15 / 18)) < 1e-12);
    // 58 on their way: the projected load is on target, nothing more is added.
    assert.equal(scaler.recommend({ replicas: 58, ready: 15, value: 400 / 150, atMs: 2_000 }), 58);
    assert.equal(scaler.lastDecision?.reason, 'within tolerance');
    // Without `ready`, the same reading would add replicas a second time.
    const blind = autoscaler({ target: 0.7, min: 1, max: 500, maxStep: { percent: 1000 } });
    assert.equal(blind.recommend({ replicas: 58, value: 400 / 150, atMs: 0 }), 221);
  });

  it('does not scale down while replicas start unless the ready ones alone are below the band', () => {
    const scaler = unstabilized();
    // 10 of 20 serve at the target: the other 10 would be too many, but the load may still rise.
    assert.equal(scaler.recommend({ replicas: 20, ready: 10, value: 0.5, atMs: 0 }), 20);
    assert.equal(scaler.lastDecision?.reason, 'replicas starting');
    // Nothing serves yet: nothing was measured, nothing is decided.
    assert.equal(scaler.recommend({ replicas: 20, ready: 0, value: 0, atMs: 1 }), 20);
    assert.equal(scaler.lastDecision?.reason, 'replicas starting');
    // The 10 serving are at a fifth of the target: the load fell, down to ceil(10 × 0.2) = 2, by 20%.
    assert.equal(scaler.recommend({ replicas: 20, ready: 10, value: 0.1, atMs: 2 }), 16);
    assert.equal(scaler.lastDecision?.recommended, 2);
  });

  it('projects replicas that still serve while being removed onto those that stay', () => {
    const scaler = unstabilized();
    // 10 serve at the target, only 8 will stay: 10 × 0.5 / 8 is 25% above it, 10 recommended.
    assert.equal(scaler.recommend({ replicas: 8, ready: 10, value: 0.5, atMs: 0 }), 9);
    assert.equal(scaler.lastDecision?.recommended, 10);
    assert.equal(scaler.lastDecision?.projected, 1.25);
  });

  it('answers the same without `ready` as with ready = replicas', () => {
    const readings = [0.2, 0.9, 1.7, 0.4, 0.1, 0.7, 0.56, 3].map((value, index) => ({
      value,
      atMs: index * 20_000,
    }));
    const run = (withReady: boolean) => {
      const scaler = autoscaler({ target: 0.5, min: 2, max: 40, pid: { ki: 0.01, kd: 5 } });
      let replicas = 6;
      return readings.map(
        (reading) =>
          (replicas = scaler.recommend(
            withReady ? { replicas, ready: replicas, ...reading } : { replicas, ...reading },
          )),
      );
    };
    assert.deepEqual(run(true), run(false));
  });

  it('shapes the steps with the PID gains', () => {
    const gentle = unstabilized({ pid: { kp: 0.5 } });
    assert.equal(gentle.recommend({ replicas: 10, value: 0.6, atMs: 0 }), 11);
    // kd: a ratio rising over the last interval adds replicas ahead of the proportional rule.
    const leading = unstabilized({ pid: { kp: 1, kd: 60 }, maxStep: { percent: 100, min: 1 } });
    assert.equal(leading.recommend({ replicas: 10, value: 0.6, atMs: 0 }), 12);
    // ratio 1.2 → 1.3 in 60 s: +0.1 per minute × kd 60 s ⇒ +0.1, then +0.3 proportional.
    assert.equal(leading.recommend({ replicas: 10, value: 0.65, atMs: MINUTE }), 14);
  });

  it('gives the same answers for the same inputs', () => {
    const inputs = [0.2, 0.9, 0.9, 0.4, 0.1, 0.7, 0.55].map((value, index) => ({
      value,
      atMs: index * 20_000,
    }));
    const run = () => {
      const scaler = autoscaler({ target: 0.5, min: 2, max: 40, pid: { ki: 0.01, kd: 5 } });
      let replicas = 6;
      return inputs.map((input) => (replicas = scaler.recommend({ replicas, ...input })));
    };
    assert.deepEqual(run(), run());
  });

  it('lists every problem with its options at once', () => {
    assert.throws(
      () =>
        autoscaler({
          target: 0,
          min: 5,
          max: 2,
          pid: { kd: -1 },
          tolerance: -0.1,
          maxStep: { percent: 0, min: 0.5 },
          scaleDownStabilizationMs: Infinity,
        }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'autoscaler.target must be > 0, got 0',
          'autoscaler.min must be <= max, got min 5 and max 2',
          'autoscaler.pid.kd must be >= 0, got -1',
          'autoscaler.tolerance must be >= 0, got -0.1',
          'autoscaler.maxStep.percent must be > 0, got 0',
          'autoscaler.maxStep.min must be an integer, got 0.5',
          'autoscaler.maxStep.min must be >= 1, got 0.5',
          'autoscaler.scaleDownStabilizationMs must be finite, got Infinity',
        ]);
        return true;
      },
    );
  });

  it('refuses inputs that are not counts, finite values and times', () => {
    const scaler = unstabilized();
    assert.throws(
      () => scaler.recommend({ replicas: 1.5, ready: -1, value: Number.NaN, atMs: 0 }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'autoscaler.recommend replicas must be an integer, got 1.5',
          'autoscaler.recommend ready must be >= 0, got -1',
          'autoscaler.recommend value must be a number, got NaN',
        ]);
        return true;
      },
    );
    assert.equal(scaler.lastDecision, undefined);
  });
});
