// holtForecast(): a short-horizon forecast of a metric (Holt's linear trend, double exponential
// smoothing) for samples taken at irregular times, with its one-step-ahead error measured.

import { OptionProblems } from '../policies/options.ts';

export interface HoltForecastOptions {
  /** Weight of a new observation in the level, in (0, 1]. Default 0.5. */
  alpha?: number;
  /** Weight of the newest slope in the trend, in [0, 1]. Default 0.3. */
  beta?: number;
}

export const HOLT_FORECAST_DEFAULTS = { alpha: 0.5, beta: 0.3 } as const;

export interface ForecastError {
  /** Mean absolute one-step-ahead error: |prediction made before a sample − the sample|. */
  readonly mae: number;
  /** Samples the error is measured over (every sample once the trend is known). */
  readonly samples: number;
}

export interface HoltForecast {
  /**
   * Adds a sample taken at `atMs`. A sample older than the last one, or one that is not a finite
   * number, is ignored: a late or broken metric cannot rewrite the past.
   */
  observe(value: number, atMs: number): void;
  /**
   * The value expected `horizonMs` after the last sample (level + trend × horizon); undefined until
   * two samples at different times have given a trend.
   */
  predict(horizonMs: number): number | undefined;
  /** How far the forecast has been from what happened, for showing next to it. */
  error(): ForecastError;
  /** Time of the last sample taken into account, or undefined before any. */
  lastObservedAtMs(): number | undefined;
}

/**
 * Holt's method with the trend kept per millisecond, so irregular gaps between samples are
 * extrapolated by their length: before each sample at `t` (gap `dt` since the last), the
 * prediction is `level + trend × dt`; then `level ← α·value + (1−α)·prediction` and
 * `trend ← β·(level − previous level)/dt + (1−β)·trend`. The first two samples set the level and
 * the trend (their slope); a linear series is then predicted exactly. Samples at the same time as
 * the last move the level only. α and β weigh samples, not time: sample at a steady rate.
 */
export function holtForecast(options: HoltForecastOptions = {}): HoltForecast {
  const problems = new OptionProblems();
  problems.number('holtForecast.alpha', options.alpha, { above: 0, max: 1, optional: true });
  problems.number('holtForecast.beta', options.beta, { min: 0, max: 1, optional: true });
  problems.throwIfAny();
  const alpha = options.alpha ?? HOLT_FORECAST_DEFAULTS.alpha;
  const beta = options.beta ?? HOLT_FORECAST_DEFAULTS.beta;

  let level: number | undefined;
  let trend: number | undefined;
  let lastAtMs: number | undefined;
  let absoluteErrorSum = 0;
  let errorSamples = 0;

  return {
    observe(value, atMs) {
      if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
      if (level === undefined || lastAtMs === undefined) {
        level = value;
        lastAtMs = atMs;
        return;
      }
      const elapsedMs = atMs - lastAtMs;
      if (elapsedMs < 0) return;
      if (trend === undefined) {
        // Still waiting for a second instant: average same-time samples, then take the slope.
        if (elapsedMs === 0) {
          level = alpha * value + (1 - alpha) * level;
        } else {
          trend = (value - level) / elapsedMs;
          level = value;
        }
        lastAtMs = atMs;
        return;
      }
      const predicted = level + trend * elapsedMs;
      absoluteErrorSum += Math.abs(value - predicted);
      errorSamples++;
      const previousLevel = level;
      level = alpha * value + (1 - alpha) * predicted;
      if (elapsedMs > 0) trend = beta * ((level - previousLevel) / elapsedMs) + (1 - beta) * trend;
      lastAtMs = atMs;
    },
    predict(horizonMs) {
      if (level === undefined || trend === undefined) return undefined;
      return level + trend * horizonMs;
    },
    error() {
      return { mae: errorSamples === 0 ? 0 : absoluteErrorSum / errorSamples, samples: errorSamples };
    },
    lastObservedAtMs() {
      return lastAtMs;
    },
  };
}

/** The comparison of a threshold, named as in rebound's policy conditions. */
export type ThresholdOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

export interface Threshold {
  readonly op: ThresholdOp;
  readonly value: number;
}

/**
 * Whether the forecast says `value op threshold` holds at some point in the next `withinMs` after
 * its last sample (for a policy condition with `predictedWithinMs`). The forecast is a line, so
 * checking both ends of the horizon is enough. False while the forecast has no trend yet.
 */
export function predictedCrossing(
  forecast: Pick<HoltForecast, 'predict'>,
  threshold: Threshold,
  withinMs: number,
): boolean {
  const now = forecast.predict(0);
  const later = forecast.predict(Math.max(0, withinMs));
  if (now === undefined || later === undefined) return false;
  const low = Math.min(now, later);
  const high = Math.max(now, later);
  switch (threshold.op) {
    case 'gt':
      return high > threshold.value;
    case 'gte':
      return high >= threshold.value;
    case 'lt':
      return low < threshold.value;
    case 'lte':
      return low <= threshold.value;
    case 'eq':
      return low <= threshold.value && threshold.value <= high;
    case 'neq':
      return low !== threshold.value || high !== threshold.value;
  }
}
