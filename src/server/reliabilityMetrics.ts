// Reliability figures per service (SPEC 6) from what the control plane holds, and how each one
// compares with its target: what the report's "Metrics against targets" table shows.

import type { Journal, RunStatus } from '../chaos/index.ts';
import {
  type AttemptStatus,
  DEFAULT_RELIABILITY_WINDOW_DAYS,
  type ServiceReliabilityView,
  type SloConfig,
} from '../healing/index.ts';

/**
 * The targets that do not come from the config: a healing success rate and an MTTR most
 * reliability teams would accept as a floor. Availability and error rate are held to the service's
 * `slo.target`; an experiment's recovery to its own `expect.recoveredWithinMs`.
 */
export const REPORT_TARGETS = Object.freeze({
  /** Succeeded / finished healing attempts, 0–1. */
  healingSuccessRate: 0.95,
  /** Mean time to resolve an incident. */
  mttrMs: 5 * 60_000,
});

/** The last experiment run against a service, as the metrics table shows it. */
export interface ExperimentRecovery {
  id: string;
  title: string;
  status: RunStatus;
  startedAt: string;
  recoveryMs: number | null;
  recoveredWithinMs: number | null;
  met: boolean | null;
}

export interface ServiceReliability {
  /** The SLO window availability, MTTR and MTBF are over: `slo.windowDays`, 30 days without an SLO. */
  windowDays: number;
  /** Responses through the gateway in that window, as recorded per minute; null without a gateway. */
  requestsTotal: number | null;
  /** Share of those responses below 500; null without a gateway or traffic. */
  availability: number | null;
  /** Failed / all in the gateway's window (10 s); null without a gateway or a request in it. */
  errorRate: number | null;
  /** Requests in that window. */
  windowRequests: number | null;
  /** `1 − (1 − availability) / (1 − slo.target)`; null without an SLO or an availability. */
  errorBudgetRemaining: number | null;
  slo: SloConfig | null;
  /** Mean `resolvedAt − openedAt` of the incidents opened in the window and resolved; null when none. */
  mttrMs: number | null;
  /** Mean gap between the openings of the incidents opened in the window; null with fewer than two. */
  mtbfMs: number | null;
  /** Incidents opened in the window: what MTBF is over. */
  incidents: number;
  /** Of those, the resolved ones: what MTTR is the mean of. */
  resolvedIncidents: number;
  healing: { attempts: number; succeeded: number; failed: number; successRate: number | null };
  lastExperiment: ExperimentRecovery | null;
}

export interface ReliabilityInput {
  name: string;
  /** The service's metrics as the API shows them (the gateway's window: `requests`, `error_rate`). */
  metrics: Readonly<Record<string, number>>;
  hasGateway: boolean;
  attempts: readonly { service: string; status: AttemptStatus }[];
  /** Newest first. */
  experiments: readonly Journal[];
  /** The service's figures over its SLO window (`ControlPlane.reliability()`). */
  window: ServiceReliabilityView;
}

export function serviceReliability(input: ReliabilityInput): ServiceReliability {
  const { metrics, window } = input;
  const windowRequests = input.hasGateway ? finite(metrics.requests) : undefined;
  const errorRate =
    windowRequests !== undefined && windowRequests > 0 ? (finite(metrics.error_rate) ?? null) : null;

  const attempts = input.attempts.filter((attempt) => attempt.service === input.name);
  const succeeded = attempts.filter((attempt) => attempt.status === 'succeeded').length;
  const failed = attempts.filter(
    (attempt) => attempt.status === 'failed' || attempt.status === 'escalated',
  ).length;

  const last = input.experiments.find((run) => run.target === input.name && run.status !== 'running');

  return {
    windowDays: window.slo?.windowDays ?? DEFAULT_RELIABILITY_WINDOW_DAYS,
    requestsTotal: input.hasGateway ? window.requests : null,
    availability: input.hasGateway ? window.availability : null,
    errorRate,
    windowRequests: windowRequests ?? null,
    errorBudgetRemaining: input.hasGateway ? window.errorBudgetRemaining : null,
    slo: window.slo,
    mttrMs: window.mttrMs,
    mtbfMs: window.mtbfMs,
    incidents: window.incidents,
    resolvedIncidents: window.resolvedIncidents,
    healing: {
      attempts: attempts.length,
      succeeded,
      failed,
      successRate: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
    },
    lastExperiment: last
      ? {
          id: last.id,
          title: last.title,
          status: last.status,
          startedAt: last.startedAt,
          recoveryMs: last.recoveryMs,
          recoveredWithinMs: last.expectation.recoveredWithinMs,
          met: last.expectation.met,
        }
      : null,
  };
}

export type TargetMetric =
  | 'availability'
  | 'error-budget'
  | 'error-rate'
  | 'healing-success-rate'
  | 'mttr'
  | 'mtbf'
  | 'experiment-recovery';

/** One row of "metrics against targets": `met` is null when there is no target or no measurement. */
export interface TargetCheck {
  metric: TargetMetric;
  /** Null when nothing was measured. */
  value: number | null;
  /** Null when there is no target (no SLO, no expectation; MTBF has none). */
  target: number | null;
  /** `gte` or `lte` the target. */
  direction: 'gte' | 'lte';
  met: boolean | null;
}

/** Every figure of a service against its target, in the order the report lists them. */
export function targetChecks(reliability: ServiceReliability): TargetCheck[] {
  const slo = reliability.slo?.target ?? null;
  const check = (
    metric: TargetMetric,
    value: number | null,
    target: number | null,
    direction: 'gte' | 'lte',
  ): TargetCheck => ({
    metric,
    value,
    target,
    direction,
    met: value === null || target === null ? null : direction === 'gte' ? value >= target : value <= target,
  });
  const last = reliability.lastExperiment;
  return [
    check('availability', reliability.availability, slo, 'gte'),
    check('error-budget', reliability.errorBudgetRemaining, slo === null ? null : 0, 'gte'),
    check('error-rate', reliability.errorRate, slo === null ? null : 1 - slo, 'lte'),
    check('healing-success-rate', reliability.healing.successRate, REPORT_TARGETS.healingSuccessRate, 'gte'),
    check('mttr', reliability.mttrMs, REPORT_TARGETS.mttrMs, 'lte'),
    check('mtbf', reliability.mtbfMs, null, 'gte'),
    {
      metric: 'experiment-recovery',
      value: last?.recoveryMs ?? null,
      target: last?.recoveredWithinMs ?? null,
      direction: 'lte',
      // The run's own verdict: it also knows a recovery that never came.
      met: last?.recoveredWithinMs == null ? null : last.met,
    },
  ];
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}
