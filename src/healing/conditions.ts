// Policy conditions: whether `metric op value` holds for a set of metrics, and how to say it.

import { conditionHolds } from '../chaos/index.ts';
import type { Condition, ConditionOp } from './configTypes.ts';

const SYMBOLS: Readonly<Record<ConditionOp, string>> = {
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  eq: '==',
  neq: '!=',
};

// Whether one condition holds is rebound/chaos's rule (experiments' guards use it too): a metric
// that is missing (or not a number) never holds, whatever the operator; no data is not evidence
// that something is wrong, so no policy fires on it.
export { conditionHolds } from '../chaos/index.ts';

/** True when every condition holds (and there is at least one). */
export function allConditionsHold(
  conditions: readonly Condition[],
  metrics: Readonly<Record<string, number>>,
): boolean {
  if (conditions.length === 0) return false;
  for (let index = 0; index < conditions.length; index++) {
    if (!conditionHolds(conditions[index]!, metrics)) return false;
  }
  return true;
}

/** `latency_p99 > 500`. */
export function describeCondition(condition: Condition): string {
  return `${condition.metric} ${SYMBOLS[condition.op]} ${formatNumber(condition.value)}`;
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
