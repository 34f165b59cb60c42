// The policy engine's options and the interfaces the control plane implements for it (the
// actuator, metrics, recording, escalation), validated once at construction.

import { type Clock, OptionProblems } from '../policies/index.ts';
import type { ActionRateLimit } from './actionLimits.ts';
import type { ActionConfig, ActionName, PolicyConfig } from './configTypes.ts';
import type { AttemptView } from './controlPlaneTypes.ts';

export interface Signal {
  service: string;
  /** The metrics as measured now (gateway traffic + scraped/posted values + alert_firing...). */
  metrics: Readonly<Record<string, number>>;
  source: 'gateway' | 'probe' | 'exit' | 'scrape' | 'alertmanager' | 'event' | 'supervisor';
  detail?: string;
}

export interface ActionOutcome {
  ok: boolean;
  message: string;
}

export interface Actuator {
  /** Runs one action on a service. Throwing counts as a failed action. */
  run(
    action: ActionConfig,
    context: { service: string; policy: string; attemptId: string },
  ): Promise<ActionOutcome>;
}

export interface PolicyEngineOptions {
  policies: readonly PolicyConfig[];
  limits: { actionsPerMinute: number; actionsPerHour: number };
  /**
   * What counts the actions against `limits` (which the engine sets on it, here and on
   * updatePolicies); default the engine's own. Pass one shared with other automation to bound
   * their actions and the policies' together.
   */
  rateLimit?: ActionRateLimit;
  /** Service → the actions policies may run on it; a service not listed permits every action. */
  permissions: Readonly<Record<string, readonly ActionName[]>>;
  /** Every known service (for validation). */
  services: readonly string[];
  actuator: Actuator;
  /** Current metrics of a service, for verification; undefined when there are none yet. */
  metricsOf(service: string): Readonly<Record<string, number>> | undefined;
  /** Records/updates an attempt (called at start, after each action, at the end). */
  record(attempt: AttemptView): Promise<void> | void;
  /** Called when every matching policy failed (or none could run), with what was tried. */
  escalate(service: string, tried: readonly AttemptView[], signal: Signal): Promise<void> | void;
  /**
   * The value a service's metric is forecast to have `horizonMs` from now (undefined: no forecast
   * yet). With it, a condition with `predictedWithinMs` also holds on the forecast, in matching and
   * in verification; without it such a condition holds only on what is measured.
   */
  predict?: (service: string, metric: string, horizonMs: number) => number | undefined;
  /** The service's configured `failover.target`, for failover actions that name no target. */
  failoverTargetOf?: (service: string) => string | undefined;
  /** How long after the actions the triggering conditions must have cleared; default 10 000 ms. */
  verifyWithinMs?: number;
  /** How often the metrics are read while verifying; default 250 ms. */
  verifyIntervalMs?: number;
  clock?: Clock;
  /** Attempt ids; default crypto.randomUUID. */
  newId?: () => string;
}

export const POLICY_ENGINE_DEFAULTS = Object.freeze({ verifyWithinMs: 10_000, verifyIntervalMs: 250 });

/** Throws one InvalidOptionsError listing every problem. */
export function validatePolicyEngineOptions(options: PolicyEngineOptions): void {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`policyEngine options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  const services = Array.isArray(options.services) ? new Set(options.services) : undefined;
  if (services === undefined) problems.add('policyEngine.services must be an array of service names');
  if (!Array.isArray(options.policies)) {
    problems.add('policyEngine.policies must be an array');
  } else {
    const names = new Set<string>();
    options.policies.forEach((policy, index) => {
      const path = `policyEngine.policies[${index}]`;
      if (names.has(policy.name)) problems.add(`${path}.name duplicates ${JSON.stringify(policy.name)}`);
      names.add(policy.name);
      if (policy.when.length === 0) problems.add(`${path}.when must hold at least one condition`);
      problems.number(`${path}.cooldownMs`, policy.cooldownMs, { min: 0 });
      problems.number(`${path}.priority`, policy.priority, { finite: true });
      for (const service of policy.services) {
        if (services !== undefined && !services.has(service)) {
          problems.add(`${path}.services names unknown service ${JSON.stringify(service)}`);
        }
      }
    });
  }
  problems.number('policyEngine.limits.actionsPerMinute', options.limits?.actionsPerMinute, {
    integer: true,
    min: 1,
  });
  problems.number('policyEngine.limits.actionsPerHour', options.limits?.actionsPerHour, {
    integer: true,
    min: 1,
  });
  if (typeof options.permissions !== 'object' || options.permissions === null) {
    problems.add('policyEngine.permissions must be an object');
  }
  problems.func('policyEngine.actuator.run', options.actuator?.run, false);
  problems.func('policyEngine.rateLimit.take', options.rateLimit?.take);
  problems.func('policyEngine.metricsOf', options.metricsOf, false);
  problems.func('policyEngine.record', options.record, false);
  problems.func('policyEngine.escalate', options.escalate, false);
  problems.func('policyEngine.failoverTargetOf', options.failoverTargetOf);
  problems.func('policyEngine.predict', options.predict);
  problems.number('policyEngine.verifyWithinMs', options.verifyWithinMs, {
    min: 0,
    finite: true,
    optional: true,
  });
  problems.number('policyEngine.verifyIntervalMs', options.verifyIntervalMs, { above: 0, optional: true });
  problems.clock('policyEngine.clock', options.clock);
  problems.func('policyEngine.newId', options.newId);
  problems.throwIfAny();
}
