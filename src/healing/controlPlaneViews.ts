// What the ControlPlane interface answers, built from the live parts: a service's view, a policy's,
// the healing statistics, and an incident with its playbook's progress.

import type { WorkflowInfo } from '../durable/index.ts';
import type { PolicyConfig, ServiceConfig } from './configTypes.ts';
import type {
  AttemptView,
  HealingStats,
  IncidentView,
  PolicyView,
  ServiceState,
  ServiceView,
} from './controlPlaneTypes.ts';
import type { Gateway } from './gateway.ts';
import { INCIDENT_RESPONSE } from './incidentPlaybook.ts';
import { iso } from './incidents.ts';
import { describeCondition } from './policyEngine.ts';
import type { Supervisor } from './supervisor.ts';

export interface ServiceParts {
  config: ServiceConfig;
  state: ServiceState;
  gateway: Gateway | undefined;
  supervisor: Supervisor;
  /** What the policies see of the service now. */
  metrics: Record<string, number>;
}

export function serviceView(name: string, parts: ServiceParts): ServiceView {
  const { config, gateway, supervisor } = parts;
  const perReplica = gateway?.replicaMetrics() ?? {};
  return {
    name,
    state: parts.state,
    replicas: supervisor.replicas(name).map((replica) => ({
      ...replica,
      ...(perReplica[replica.id] ? { metrics: perReplica[replica.id] } : {}),
    })),
    // Traffic is shown from the first request on; policies see it only after the warm-up.
    metrics: Object.assign({}, gateway?.metrics(), parts.metrics),
    gateway: gateway
      ? {
          ...gateway.address,
          breaker: gateway.breakerEnabled,
          fallback: gateway.fallbackMode,
          failover: gateway.failover,
        }
      : null,
    dependsOn: [...config.dependsOn],
    revision: supervisor.revision(name),
    autoscale: config.autoscale
      ? {
          metric: config.autoscale.metric,
          target: config.autoscale.target,
          // The bounds the autoscaler keeps: its own within the service's replica bounds.
          min: Math.max(config.autoscale.min, config.replicas.min, 1),
          max: Math.min(config.autoscale.max, config.replicas.max),
          intervalMs: config.autoscale.intervalMs,
          scaleDownStabilizationMs: config.autoscale.scaleDownStabilizationMs,
        }
      : null,
  };
}

export function policyView(policy: PolicyConfig): PolicyView {
  return {
    name: policy.name,
    description: policy.description ?? null,
    services: [...policy.services],
    when: policy.when.map(describeCondition),
    do: policy.do.map((action) => action.type),
    priority: policy.priority,
    cooldownMs: policy.cooldownMs,
    enabled: policy.enabled,
  };
}

export function healingStatsOf(attempts: readonly AttemptView[], escalations: number): HealingStats {
  const succeeded = attempts.filter((attempt) => attempt.status === 'succeeded');
  const failed = attempts.filter((attempt) => attempt.status === 'failed' || attempt.status === 'escalated');
  const durations = succeeded
    .filter((attempt) => attempt.endedAt !== null)
    .map((attempt) => Date.parse(attempt.endedAt!) - Date.parse(attempt.startedAt));
  const finished = succeeded.length + failed.length;
  return {
    attempts: attempts.length,
    succeeded: succeeded.length,
    failed: failed.length,
    successRate: finished === 0 ? 1 : succeeded.length / finished,
    meanRecoveryMs:
      durations.length === 0 ? 0 : durations.reduce((sum, ms) => sum + ms, 0) / durations.length,
    escalations,
  };
}

/** The incident with its playbook's steps, when its workflow is the incident playbook. */
export function incidentWithPlaybook(
  incident: IncidentView,
  workflow: WorkflowInfo | undefined,
): IncidentView {
  if (workflow?.name !== INCIDENT_RESPONSE) return incident;
  // A copy: the tracker's live incident is what it stores, and the playbook is not part of it.
  return {
    ...incident,
    playbook: {
      workflowId: workflow.id,
      status: workflow.status,
      steps: workflow.steps.map(({ name, status, attempts, startedAt, endedAt }) => ({
        name,
        status,
        attempts,
        startedAt: iso(startedAt),
        endedAt: iso(endedAt),
      })),
    },
  };
}
