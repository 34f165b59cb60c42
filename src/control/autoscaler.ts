// autoscaler(): recommends a replica count from a per-replica metric, following HPA's proportional
// rule shaped by a PID, inside a tolerance band, a step limit, a scale-down window and fixed bounds,
// counting replicas still starting as capacity already on its way.

import { OptionProblems } from '../policies/index.ts';
import { checkPidGains, type PidController, pidController, type PidGains } from './pidController.ts';

export interface AutoscalerMaxStep {
  /** Percent of the current replica count one decision may add or remove (rounded down). */
  percent: number;
  /** Replicas one decision may always add or remove, whatever the percentage gives; at least 1. */
  min: number;
}

export interface AutoscalerOptions {
  /** Desired value of the metric (for example utilization per replica); above 0. */
  target: number;
  /** Fewest replicas, at least 1; never recommended below. */
  min: number;
  /** Most replicas; never recommended above. */
  max: number;
  /** Gains on the relative error `value / target − 1`; default `AUTOSCALER_DEFAULTS.pid`. */
  pid?: Partial<PidGains>;
  /** No change while |value / target − 1| <= tolerance; default 0.1 (HPA's). */
  tolerance?: number;
  /** Default `{ percent: 20, min: 1 }`. */
  maxStep?: Partial<AutoscalerMaxStep>;
  /** Scale down only to the highest recommendation within this window; default 300000 (HPA's). */
  scaleDownStabilizationMs?: number;
}

export const AUTOSCALER_DEFAULTS = {
  // kp 1 is HPA's proportional correction exactly; see the comment on `recommend` for why ki and kd
  // are 0 by default and when to raise them.
  pid: { kp: 1, ki: 0, kd: 0 },
  tolerance: 0.1,
  maxStep: { percent: 20, min: 1 },
  scaleDownStabilizationMs: 300_000,
} as const;

export interface AutoscalerInput {
  /** Replicas running now, those still starting included. */
  replicas: number;
  /**
   * Replicas serving now, the ones `value` is measured over; default `replicas`. Fewer than
   * `replicas`: the others are starting, capacity already on its way. More (replicas being removed
   * still serve) is allowed too: the measure is projected onto `replicas` the same way.
   */
  ready?: number;
  /** The metric now, per serving replica (the same unit as `target`). */
  value: number;
  /** When the metric was read. */
  atMs: number;
}

/** What decided a recommendation, the last rule that changed it. */
export type AutoscalerReason =
  | 'within tolerance'
  | 'replicas starting'
  | 'proportional'
  | 'stabilization window'
  | 'step limit'
  | 'bounds';

export interface AutoscalerDecision extends AutoscalerInput {
  /** The input's `ready`, or `replicas` when it gave none. */
  ready: number;
  /** `value / target`, over the ready replicas. */
  ratio: number;
  /** `ratio × ready / replicas`: the ratio once every replica serves the same load (0 for 0 replicas). */
  projected: number;
  /** The proportional, PID-shaped recommendation within bounds: what the scale-down window remembers. */
  recommended: number;
  /** What `recommend` answered. */
  desired: number;
  reason: AutoscalerReason;
}

export interface Autoscaler {
  /** The desired replica count; deterministic for the same options and sequence of inputs. */
  recommend(input: AutoscalerInput): number;
  /** The last call's inputs, recommendation, answer and reason (for logs); undefined before the first. */
  readonly lastDecision: AutoscalerDecision | undefined;
}

/** Recommendations kept for the scale-down window: only those that can still be its highest. */
interface Recommendation {
  readonly replicas: number;
  readonly atMs: number;
}

// Inputs are integer replica counts times a ratio; a product that should be whole but comes out a
// hair above (3 × 0.7 / 0.7 = 3.0000000000000004) must not round up to a whole extra replica.
const ROUNDING_SLACK = 1e-9;

/**
 * How a decision is made. The replica count is the loop's integrator: every decision applies a
 * relative change `u` to the current count, `desired = ceil(replicas × (1 + u))`. With `u = kp × e`
 * for the relative error `e = value / target − 1` and kp = 1 this is HPA's rule
 * `ceil(replicas × value / target)`: a metric inversely proportional to the replica count lands on
 * target in one decision, as fast as a step can be followed without overshoot (kp > 1 overshoots,
 * kp < 1 approaches in smaller moves). `u` is a PID output on `e`, clamped to the largest relative
 * step a decision can take (percent%, or maxStep.min / min at the smallest count), so the PID's
 * anti-windup stores nothing beyond it; the step limit then cuts each decision to what the current
 * count allows, and a large step is slewed in steps that end on the proportional target.
 * ki adds replicas for an error that persists outside the band (a metric that falls less than
 * proportionally, such as latency); kd adds them while the metric rises and holds back while it
 * falls (lead on ramps, damping when new replicas take effect late). Both are 0 by default: for a
 * proportional metric the count already integrates the error, and an extra integral or derivative
 * can overshoot or undershoot a step (an integral can also grow while the step limit, narrower than
 * the clamp at larger counts, holds the count back). Inside the tolerance band nothing changes and
 * the PID restarts clean, so no bias carries over from one excursion to the next.
 *
 * Dead time: a replica added serves only once started, and a controller that decides again before
 * then sees the same overload and adds replicas a second time (overshoot), or must wait a start-up
 * between decisions (lag). With `ready`, the error is taken on the projected ratio
 * `value / target × ready / replicas`, what the metric will be once the starting replicas serve the
 * same load: `ceil(replicas × projected)` is `ceil(ready × value / target)` for kp 1, so load the
 * starting replicas will absorb adds nothing, and a count that is already on its way to the target
 * holds. While replicas start, a projection below the band does not scale down (the ready ones are
 * busy; the load may still be rising) unless the ready replicas alone are below it, and nothing is
 * decided while none is ready (nothing measured).
 */
export function autoscaler(options: AutoscalerOptions): Autoscaler {
  validate(options);
  const { target, min, max } = options;
  const gains = { ...AUTOSCALER_DEFAULTS.pid, ...options.pid };
  const tolerance = options.tolerance ?? AUTOSCALER_DEFAULTS.tolerance;
  const maxStep = { ...AUTOSCALER_DEFAULTS.maxStep, ...options.maxStep };
  const windowMs = options.scaleDownStabilizationMs ?? AUTOSCALER_DEFAULTS.scaleDownStabilizationMs;
  const stepFraction = maxStep.percent / 100;
  // The PID measures the ratio against a setpoint of 1; its output is the negated relative change
  // (error = 1 − ratio is negative when overloaded), clamped to the largest relative change one
  // decision can make: percent%, or maxStep.min replicas at the smallest count.
  const widestStep = Math.max(stepFraction, maxStep.min / min);
  const pid: PidController = pidController({ ...gains, setpoint: 1, min: -widestStep, max: widestStep });
  // Newest last; each entry higher than every later one (a monotonic deque), so the first is the
  // highest recommendation of the window.
  const window: Recommendation[] = [];
  let latestMs = Number.NEGATIVE_INFINITY;
  let lastDecision: AutoscalerDecision | undefined;

  function remember(replicas: number, atMs: number): number {
    while (window.length > 0 && window[0]!.atMs <= atMs - windowMs) window.shift();
    while (window.length > 0 && window[window.length - 1]!.replicas <= replicas) window.pop();
    window.push({ replicas, atMs });
    return window[0]!.replicas;
  }

  return {
    get lastDecision() {
      return lastDecision;
    },

    recommend(input) {
      const { replicas, value, atMs } = input;
      checkInput(input);
      const ready = input.ready ?? replicas;
      // Time going backwards counts as no time passing, for the PID and for the window alike.
      latestMs = Math.max(latestMs, atMs);
      const now = latestMs;
      const ratio = value / target;
      const projected = ready === replicas ? ratio : replicas === 0 ? 0 : (ratio * ready) / replicas;
      const starting = ready < replicas;

      let reason: AutoscalerReason;
      let proposed: number;
      if (replicas === 0 || Math.abs(projected - 1) <= tolerance + ROUNDING_SLACK) {
        pid.reset();
        proposed = replicas;
        reason = 'within tolerance';
      } else if (starting && ready === 0) {
        // Nothing serves yet, so nothing was measured: wait for the starting replicas.
        pid.reset();
        proposed = replicas;
        reason = 'replicas starting';
      } else {
        const change = -pid.update(projected, now);
        proposed = Math.ceil(replicas * (1 + change) - ROUNDING_SLACK);
        reason = 'proportional';
      }
      // While replicas start, down only if the ready ones alone are below the band: otherwise they are
      // busy and the load may still be rising; cancelling starting replicas would waste their start.
      if (starting && proposed < replicas && ratio >= 1 - tolerance - ROUNDING_SLACK) {
        pid.reset();
        proposed = replicas;
        reason = 'replicas starting';
      }
      const recommended = Math.min(max, Math.max(min, proposed));
      if (recommended !== proposed) reason = 'bounds';

      // HPA's scale-down stabilization: down only as far as the highest recommendation of the window.
      const highest = remember(recommended, now);
      let desired = recommended;
      if (recommended < replicas && highest > recommended) {
        desired = Math.min(replicas, highest);
        reason = 'stabilization window';
      }

      const limit = Math.max(maxStep.min, Math.floor(stepFraction * replicas + ROUNDING_SLACK));
      const stepped = Math.min(replicas + limit, Math.max(replicas - limit, desired));
      if (stepped !== desired) reason = 'step limit';
      // The bounds win over the step limit: a count outside them is brought back at once.
      desired = Math.min(max, Math.max(min, stepped));
      if (desired !== stepped) reason = 'bounds';

      lastDecision = { replicas, ready, value, atMs, ratio, projected, recommended, desired, reason };
      return desired;
    },
  };
}

function checkInput({ replicas, ready, value, atMs }: AutoscalerInput): void {
  const isCount = (n: number) => Number.isInteger(n) && n >= 0;
  const counts = isCount(replicas) && (ready === undefined || isCount(ready));
  if (counts && Number.isFinite(value) && value >= 0 && Number.isFinite(atMs)) return;
  const problems = new OptionProblems();
  problems.number('autoscaler.recommend replicas', replicas, { integer: true, min: 0, finite: true });
  problems.number('autoscaler.recommend ready', ready, {
    integer: true,
    min: 0,
    finite: true,
    optional: true,
  });
  problems.number('autoscaler.recommend value', value, { min: 0, finite: true });
  problems.number('autoscaler.recommend atMs', atMs, { finite: true });
  problems.throwIfAny();
}

function validate(options: AutoscalerOptions): void {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`autoscaler options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  problems.number('autoscaler.target', options.target, { finite: true, above: 0 });
  problems.number('autoscaler.min', options.min, { integer: true, min: 1, finite: true });
  problems.number('autoscaler.max', options.max, { integer: true, min: 1, finite: true });
  if (Number.isFinite(options.min) && Number.isFinite(options.max) && options.min > options.max) {
    problems.add(`autoscaler.min must be <= max, got min ${options.min} and max ${options.max}`);
  }
  if (options.pid !== undefined) {
    checkPidGains(problems, 'autoscaler.pid', { ...AUTOSCALER_DEFAULTS.pid, ...options.pid });
  }
  problems.number('autoscaler.tolerance', options.tolerance, { min: 0, finite: true, optional: true });
  if (options.maxStep !== undefined) {
    problems.number('autoscaler.maxStep.percent', options.maxStep.percent, {
      above: 0,
      finite: true,
      optional: true,
    });
    problems.number('autoscaler.maxStep.min', options.maxStep.min, {
      integer: true,
      min: 1,
      finite: true,
      optional: true,
    });
  }
  problems.number('autoscaler.scaleDownStabilizationMs', options.scaleDownStabilizationMs, {
    min: 0,
    finite: true,
    optional: true,
  });
  problems.throwIfAny();
}
