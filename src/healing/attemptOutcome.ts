// The words of a healing attempt: its outcome sentence, and copies of it for recording.

import { conditionHolds, describeCondition, formatNumber } from './conditions.ts';
import type { PolicyConfig } from './configTypes.ts';
import type { AttemptActionView, AttemptView } from './controlPlaneTypes.ts';

/** A copy to hand out: whoever keeps it must not see the attempt change afterwards. */
export function snapshotAttempt(attempt: AttemptView): AttemptView {
  return {
    ...attempt,
    trigger: {
      ...attempt.trigger,
      metrics: { ...attempt.trigger.metrics },
      conditions: [...attempt.trigger.conditions],
    },
    actions: attempt.actions.map((action) => ({ ...action })),
  };
}

/**
 * An attempt of one action, over once the action is (autoscaling, a controller's, an operator's):
 * it started and ended with the action, succeeded if the action did and failed otherwise, and was
 * not verified.
 */
export function singleActionAttempt(
  attempt: Pick<AttemptView, 'id' | 'source' | 'policy' | 'service' | 'trigger' | 'outcome'>,
  action: AttemptActionView,
): AttemptView {
  return {
    id: attempt.id,
    source: attempt.source,
    policy: attempt.policy,
    service: attempt.service,
    trigger: attempt.trigger,
    actions: [action],
    status: action.status === 'succeeded' ? 'succeeded' : 'failed',
    outcome: attempt.outcome,
    verified: null,
    startedAt: action.startedAt,
    endedAt: action.endedAt,
  };
}

/** "restart-service succeeded; scale-up failed: no capacity; alert-oncall not run". */
export function describeStop(attempt: AttemptView, reason: string): string {
  const succeeded = attempt.actions.filter((action) => action.status === 'succeeded').map((a) => a.type);
  const notRun = attempt.actions.filter((action) => action.status === 'skipped').map((a) => a.type);
  return [
    succeeded.length > 0 ? `${succeeded.join(', ')} succeeded` : undefined,
    reason,
    notRun.length > 0 ? `${notRun.join(', ')} not run` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join('; ');
}

/** "latency_p99 back to 120 (condition latency_p99 > 500 cleared)". */
export function describeCleared(policy: PolicyConfig, metrics: Readonly<Record<string, number>>): string {
  const condition = policy.when.find((candidate) => !conditionHolds(candidate, metrics))!;
  const measured = metrics[condition.metric];
  const now =
    typeof measured === 'number' && !Number.isNaN(measured)
      ? `${condition.metric} back to ${formatNumber(measured)}`
      : `${condition.metric} no longer measured`;
  return `${now} (condition ${describeCondition(condition)} cleared)`;
}

/** "latency_p99 still 800 (condition latency_p99 > 500 still holds)". */
export function describeHeld(policy: PolicyConfig, metrics: Readonly<Record<string, number>>): string {
  return policy.when
    .map(
      (condition) =>
        `${condition.metric} still ${formatNumber(metrics[condition.metric]!)} (condition ${describeCondition(
          condition,
        )} still holds)`,
    )
    .join(', ');
}
