// Policy conditions: whether `metric op value` holds for a set of metrics, and how to say it.

import { conditionHolds, describeCondition as describeMetricCondition } from '../chaos/index.ts';
import type { Condition, PolicyCondition } from './configTypes.ts';

/**
 * A service's forecasts: the value `metric` is expected to have `horizonMs` from now, or undefined
 * while there is no forecast of it (too few samples, or none watched).
 */
export type MetricForecast = (metric: string, horizonMs: number) => number | undefined;

// Whether one condition holds is rebound/chaos's rule (experiments' guards use it too): a metric
// that is missing (or not a number) never holds, whatever the operator; no data is not evidence
// that something is wrong, so no policy fires on it.
export { conditionHolds } from '../chaos/index.ts';

/**
 * True when every condition holds (and there is at least one): on the metrics as measured, or, for
 * a condition with `predictedWithinMs`, on the forecast when one is given.
 */
export function allConditionsHold(
  conditions: readonly PolicyCondition[],
  metrics: Readonly<Record<string, number>>,
  forecast?: MetricForecast,
): boolean {
  if (conditions.length === 0) return false;
  for (let index = 0; index < conditions.length; index++) {
    const condition = conditions[index]!;
    if (!conditionHolds(condition, metrics) && predictionOf(condition, metrics, forecast) === undefined) {
      return false;
    }
  }
  return true;
}

/** What made a predictive condition hold before its threshold is crossed. */
export interface Prediction {
  /** The value measured now (which does not meet the condition). */
  readonly now: number;
  /** The forecast value `horizonMs` from now (which does). */
  readonly forecast: number;
  readonly horizonMs: number;
}

/**
 * The forecast that makes a condition with `predictedWithinMs` hold although the value measured now
 * does not; undefined when it holds now, does not hold, or has no forecast. The metric must be
 * measured now (no data proves nothing, forecast or not). The forecast is a line from the value
 * measured now to the one forecast at the end of the horizon, and a predictive condition is a
 * threshold (gt, gte, lt, lte) that the value now does not meet: the line crosses it exactly when
 * the forecast value meets it.
 */
export function predictionOf(
  condition: PolicyCondition,
  metrics: Readonly<Record<string, number>>,
  forecast: MetricForecast | undefined,
): Prediction | undefined {
  const horizonMs = condition.predictedWithinMs;
  if (horizonMs === undefined || forecast === undefined) return undefined;
  const now = metrics[condition.metric];
  if (typeof now !== 'number' || !Number.isFinite(now) || conditionHolds(condition, metrics))
    return undefined;
  let later: number | undefined;
  try {
    later = forecast(condition.metric, horizonMs);
  } catch {
    // A broken forecast is no forecast: the condition is judged on what is measured.
    return undefined;
  }
  if (later === undefined || !Number.isFinite(later)) return undefined;
  return conditionHolds(condition, { [condition.metric]: later })
    ? { now, forecast: later, horizonMs }
    : undefined;
}

/** `latency_p99 > 500`; `cpu_util > 0.9 within 60 s` for a predictive condition. */
export function describeCondition(condition: Condition | PolicyCondition): string {
  const text = describeMetricCondition(condition, formatNumber);
  const within = (condition as PolicyCondition).predictedWithinMs;
  return within === undefined ? text : `${text} within ${formatNumber(within / 1000)} s`;
}

/** Each condition described, with what the forecast said for those that held only by forecast. */
export function describeWithForecasts(
  conditions: readonly PolicyCondition[],
  metrics: Readonly<Record<string, number>>,
  forecast: MetricForecast | undefined,
): string[] {
  return conditions.map((condition) => {
    const prediction = predictionOf(condition, metrics, forecast);
    const text = describeCondition(condition);
    return prediction ? `${text} (by forecast: ${describePrediction(prediction)})` : text;
  });
}

/** `; by forecast: now 0.72, forecast 0.95 at +60 s` for the conditions holding only by forecast. */
export function forecastNote(
  conditions: readonly PolicyCondition[],
  metrics: Readonly<Record<string, number>>,
  forecast: MetricForecast | undefined,
): string {
  const notes = conditions.flatMap((condition) => {
    const prediction = predictionOf(condition, metrics, forecast);
    return prediction ? [`${condition.metric} ${describePrediction(prediction)}`] : [];
  });
  return notes.length === 0 ? '' : `; by forecast: ${notes.join(', ')}`;
}

/** `now 0.72, forecast 0.95 at +60 s`. */
export function describePrediction(prediction: Prediction): string {
  return `now ${formatNumber(prediction.now)}, forecast ${formatNumber(prediction.forecast)} at +${formatNumber(
    prediction.horizonMs / 1000,
  )} s`;
}

/** A measured value as people read it: at most three decimals, no float noise (0.153, 120, 1e-7). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = Math.round(value * 1000) / 1000;
  return rounded === 0 && value !== 0 ? String(Number(value.toPrecision(3))) : String(rounded);
}

/** A duration in seconds with one decimal: `2.3 s`. */
export function formatSeconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}
