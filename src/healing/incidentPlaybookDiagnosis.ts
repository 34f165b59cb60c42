// The playbook's diagnosis: a deterministic classification of an incident from the context the
// playbook gathered and the signals on its timeline, with the action that answers each cause.

import type { ActionConfig } from './configTypes.ts';
import type { ServiceState, TimelineEntry } from './controlPlaneTypes.ts';

export type IncidentCause =
  'crash-loop' | 'hang' | 'latency' | 'error-rate' | 'dependency-down' | 'resource-pressure' | 'unknown';

/** What the playbook knows of the service (the `metrics` component of its context). */
export interface ServiceFacts {
  state: ServiceState;
  healthyReplicas: number;
  desiredReplicas: number;
  /** The service's metrics by name, as policies see them. */
  metrics: Record<string, number>;
  dependenciesDown: string[];
  reliability: { availability: number | null; burnRate1h: number | null } | null;
}

/** A recent Alertmanager alert (or burn-rate alert) of the service. */
export interface AlertFact {
  name: string;
  status: string;
  at: string;
}

/** What the `gather-context` step records: each component's value, null when it could not be had. */
export interface GatheredContext {
  level: string;
  degraded: string[];
  metrics: ServiceFacts | null;
  logs: string[] | null;
  alerts: AlertFact[] | null;
}

export interface Diagnosis {
  cause: IncidentCause;
  /** Readable facts the cause was read from. */
  evidence: string[];
  /** What the playbook does about it; null: nothing automatic (waiting, or a human's call). */
  action: ActionConfig | null;
}

/** Thresholds of the diagnosis (a latency or error rate a policy would also call bad). */
export const DIAGNOSIS_THRESHOLDS = Object.freeze({
  latencyP99Ms: 1000,
  errorRate: 0.1,
  utilization: 0.9,
});

const RESTART: ActionConfig = { type: 'restart-service' };
const SCALE_UP: ActionConfig = { type: 'scale-up', by: 1 };

/**
 * The first cause that holds, in this order: a dependency down (nothing to do here but wait),
 * replica exits, failed health probes, resource pressure, errors, latency; else unknown.
 */
export function diagnose(context: GatheredContext, timeline: readonly TimelineEntry[]): Diagnosis {
  const facts = context.metrics;
  const metrics = facts?.metrics ?? {};
  const alerts = (context.alerts ?? []).filter((alert) => alert.status === 'firing');
  const alertNamed = (pattern: RegExp): string[] =>
    alerts.filter((alert) => pattern.test(alert.name)).map((alert) => `alert ${alert.name} firing`);
  const signals = timeline.filter((entry) => entry.kind === 'signal');
  const { latencyP99Ms, errorRate, utilization } = DIAGNOSIS_THRESHOLDS;

  if (facts && facts.dependenciesDown.length > 0) {
    return {
      cause: 'dependency-down',
      evidence: [`dependency ${facts.dependenciesDown.join(', ')} down`],
      action: null,
    };
  }
  const exits = signals.filter((entry) => 'code' in entry.data || 'restarts' in entry.data);
  if (exits.length > 0) {
    return { cause: 'crash-loop', evidence: exits.slice(-3).map((entry) => entry.summary), action: RESTART };
  }
  const probes = signals.filter((entry) => 'detail' in entry.data && 'replica' in entry.data);
  if (probes.length > 0) {
    return { cause: 'hang', evidence: probes.slice(-3).map((entry) => entry.summary), action: RESTART };
  }
  const pressure = [
    ...above(metrics, 'cpu_util', utilization),
    ...above(metrics, 'memory_util', utilization),
    ...alertNamed(/memory|cpu|disk|oom|resource/i),
  ];
  if (pressure.length > 0) return { cause: 'resource-pressure', evidence: pressure, action: SCALE_UP };
  const errors = [
    ...above(metrics, 'error_rate', errorRate),
    ...alertNamed(/error|5xx|fail|availability|burn/i),
    ...signals.filter((entry) => 'alert' in entry.data).map((entry) => entry.summary),
  ];
  if (errors.length > 0) return { cause: 'error-rate', evidence: errors, action: RESTART };
  const latency = [...above(metrics, 'latency_p99', latencyP99Ms), ...alertNamed(/latency|slow|p99/i)];
  if (latency.length > 0) return { cause: 'latency', evidence: latency, action: SCALE_UP };
  const evidence = facts ? [`${facts.state}, ${facts.healthyReplicas}/${facts.desiredReplicas} healthy`] : [];
  return { cause: 'unknown', evidence, action: null };
}

function above(metrics: Record<string, number>, name: string, threshold: number): string[] {
  const value = metrics[name];
  return value !== undefined && value >= threshold ? [`${name} ${value} >= ${threshold}`] : [];
}
