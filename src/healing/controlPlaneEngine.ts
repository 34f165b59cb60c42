// The policy engine of `rebound up` and the actuator its actions (and the incident playbook's) run
// through: built from the config at start, acting on the supervisor and the gateways.

import { ActionRateLimit } from './actionLimits.ts';
import { builtInActions } from './actions.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { AttemptView } from './controlPlaneTypes.ts';
import { type Actuator, PolicyEngine, type PolicyEngineOptions, type Signal } from './policyEngine.ts';

/**
 * A policy's trigger must clear within this long of its actions: longer than the gateway's 10 s
 * window, which still holds the slow answers of before the healing for up to that long.
 */
const VERIFY_WITHIN_MS = 20_000;

export interface ControlPlaneEngineOptions extends Pick<
  ControlPlaneContext,
  'config' | 'clock' | 'log' | 'supervisor' | 'gateways' | 'metricsOf' | 'recordAttempt'
> {
  /** How long after the actions a policy's trigger must have cleared; default 20 000 ms. */
  verifyWithinMs?: number;
  downDependencies: (service: string) => string[];
  /** When each service's current revision was rolled out (epoch ms); a rollback deletes it. */
  rolledOutAt: Map<string, number>;
  /** How many replicas each service should run. */
  desired: Map<string, number>;
  /** The `alert-oncall` action: a page held until the attempt's verdict. */
  holdPage: (service: string, policy: string, attemptId: string) => void;
  escalate: (service: string, tried: readonly AttemptView[], signal: Signal) => Promise<void>;
  /** Forecasts for predictive policy conditions (forecasts.ts). */
  predict?: PolicyEngineOptions['predict'];
}

export function controlPlaneEngine(options: ControlPlaneEngineOptions): {
  actuator: Actuator;
  engine: PolicyEngine;
  /** Counts a controller's action against `limits`, with the policies'; why not, when refused. */
  takeAction: () => string | undefined;
} {
  const { config, clock, rolledOutAt, desired } = options;
  const actuator = builtInActions({
    config,
    supervisor: options.supervisor,
    gateways: options.gateways,
    downDependencies: options.downDependencies,
    rolledOutAt: (service) => rolledOutAt.get(service),
    rolledBack: (service) => rolledOutAt.delete(service),
    page: options.holdPage,
    replicaCount: (service) => desired.get(service) ?? 0,
    setReplicaCount: (service, count) => desired.set(service, count),
    now: () => clock.now(),
    log: options.log,
  });
  // `limits` bound every automated action: the policies' and the controllers' together, so the
  // engine counts its actions on the limit the controllers take theirs from (and sets the limits
  // on it, at a reload too).
  const automated = new ActionRateLimit(config().limits, clock);
  const engine = new PolicyEngine({
    policies: config().policies,
    limits: config().limits,
    rateLimit: automated,
    permissions: config().permissions,
    services: Object.keys(config().services),
    clock,
    verifyWithinMs: options.verifyWithinMs ?? VERIFY_WITHIN_MS,
    failoverTargetOf: (service) => config().services[service]?.failover?.target,
    metricsOf: options.metricsOf,
    predict: options.predict,
    record: options.recordAttempt,
    escalate: options.escalate,
    actuator,
  });
  return { actuator, engine, takeAction: () => automated.take() };
}
