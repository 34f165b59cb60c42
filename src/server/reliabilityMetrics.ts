// Reliability figures per service (SPEC 6) from what the control plane holds, and how each one
// compares with its target: what the report's "Metrics against targets" table shows.

import type { Journal, RunStatus } from '../chaos/index.ts';
import {
  type AttemptStatus,
  DEFAULT_RELIABILITY_WINDOW_DAYS,
  type IncidentStatus,
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
  /**
   * What availability counts: the responses of the SLO window (`slo.windowDays`, 30 days without
   * an SLO) as recorded per minute, or, without those figures, the gateway's since it started.
   */
  availabilityOver: { kind: 'slo-window'; windowDays: number } | { kind: 'since-start' };
  /** Responses through the gateway over that span; null without a gateway. */
  requestsTotal: number | null;
  /** Of those, the failed ones (5xx answers, connection failures, timeouts). */
  errorsTotal: number | null;
  /** Share of those responses below 500; null without a gateway or traffic. */
  availability: number | null;
  /** Failed / all in the gateway's window (10 s); null without a gateway or a request in it. */
  errorRate: number | null;
  /** Requests in that window. */
  windowRequests: number | null;
  /** `1 − (1 − availability) / (1 − slo.target)`; null without an SLO or an availability. */
  errorBudgetRemaining: number | null;
  slo: SloConfig | null;
  /** Mean `resolvedAt − openedAt` of resolved incidents (in the SLO window); null when none is resolved. */
  mttrMs: number | null;
  /** Mean gap between incident openings (in the SLO window); null with fewer than two incidents. */
  mtbfMs: number | null;
  /** Error rate over the last 1 h and 6 h / (1 − slo.target); null without an SLO or traffic. */
  burnRate: { '1h': number | null; '6h': number | null };
  /** The multiwindow burn-rate alerts firing now. */
  alerts: { fast: boolean; slow: boolean };
  incidents: number;
  openIncidents: number;
  resolvedIncidents: number;
  healing: { attempts: number; succeeded: number; failed: number; successRate: number | null };
  experimentsRun: number;
  lastExperiment: ExperimentRecovery | null;
}

export interface ReliabilityInput {
  name: string;
  /** The service's metrics as the API shows them (gateway window plus `requests_total`, `errors_total`). */
  metrics: Readonly<Record<string, number>>;
  hasGateway: boolean;
  slo: SloConfig | null;
  incidents: readonly {
    service: string;
    status: IncidentStatus;
    openedAt: string;
    resolvedAt: string | null;
  }[];
  attempts: readonly { service: string; status: AttemptStatus }[];
  /** Newest first. */
  experiments: readonly Journal[];
  /** The service's figures over its SLO window (`ControlPlane.reliability()`); absent: since start instead. */
  window?: ServiceReliabilityView | null;
}

export function serviceReliability(input: ReliabilityInput): ServiceReliability {
  const { metrics } = input;
  const window = input.window ?? null;
  // The SLO window's figures when the control plane has them; the gateway's counters since it
  // started only as a fallback (a control plane without recorded traffic).
  const total = !input.hasGateway ? undefined : window ? window.requests : finite(metrics.requests_total);
  const failed = !input.hasGateway ? undefined : window ? window.errors : finite(metrics.errors_total);
  const availability = total !== undefined && total > 0 ? 1 - (failed ?? 0) / total : null;
  const windowRequests = input.hasGateway ? finite(metrics.requests) : undefined;
  const errorRate =
    windowRequests !== undefined && windowRequests > 0 ? (finite(metrics.error_rate) ?? null) : null;

  const incidents = input.incidents.filter((incident) => incident.service === input.name);
  const resolved = incidents.filter((incident) => incident.status === 'resolved' && incident.resolvedAt);
  const openings = incidents.map((incident) => Date.parse(incident.openedAt)).sort((a, b) => a - b);
  const gaps = openings.slice(1).map((at, index) => at - openings[index]!);

  const attempts = input.attempts.filter((attempt) => attempt.service === input.name);
  const succeeded = attempts.filter((attempt) => attempt.status === 'succeeded').length;
  const failedAttempts = attempts.filter(
    (attempt) => attempt.status === 'failed' || attempt.status === 'escalated',
  ).length;

  const runs = input.experiments.filter((run) => run.target === input.name);
  const last = runs.find((run) => run.status !== 'running');

  return {
    availabilityOver: window
      ? { kind: 'slo-window', windowDays: window.slo?.windowDays ?? DEFAULT_RELIABILITY_WINDOW_DAYS }
      : { kind: 'since-start' },
    requestsTotal: total ?? null,
    errorsTotal: total === undefined ? null : (failed ?? 0),
    availability,
    errorRate,
    windowRequests: windowRequests ?? null,
    errorBudgetRemaining:
      input.slo && availability !== null ? 1 - (1 - availability) / (1 - input.slo.target) : null,
    slo: input.slo,
    mttrMs: window
      ? window.mttrMs
      : mean(resolved.map((incident) => Date.parse(incident.resolvedAt!) - Date.parse(incident.openedAt))),
    mtbfMs: window ? window.mtbfMs : mean(gaps),
    burnRate: window ? { ...window.burnRate } : { '1h': null, '6h': null },
    alerts: window ? { ...window.alerts } : { fast: false, slow: false },
    incidents: incidents.length,
    openIncidents: incidents.filter((incident) => incident.status !== 'resolved').length,
    resolvedIncidents: resolved.length,
    healing: {
      attempts: attempts.length,
      succeeded,
      failed: failedAttempts,
      successRate: succeeded + failedAttempts === 0 ? null : succeeded / (succeeded + failedAttempts),
    },
    experimentsRun: runs.length,
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

function mean(values: readonly number[]): number | null {
  const usable = values.filter(Number.isFinite);
  return usable.length === 0 ? null : usable.reduce((sum, value) => sum + value, 0) / usable.length;
}
