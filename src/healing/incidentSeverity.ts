// An incident's severity (SPEC 6): the first `incidents.severity` rule whose conditions hold on the
// service's metrics; without one, critical when the service has no healthy replica, else the level
// the signal brings. An incident's severity only rises (IncidentTracker keeps the highest).

import { allConditionsHold } from './conditions.ts';
import type { Severity, SeverityRule } from './configTypes.ts';

export interface SeverityInput {
  rules: readonly SeverityRule[];
  metrics: Readonly<Record<string, number>>;
  /** True when the service should run replicas and none is healthy. */
  noHealthyReplica: boolean;
  /** The level the signal brings (e.g. high for a crash, the alert's severity label). */
  signal: Severity;
}

export function incidentSeverity(input: SeverityInput): Severity {
  for (const rule of input.rules) {
    if (allConditionsHold(rule.when, input.metrics)) return rule.level;
  }
  return input.noHealthyReplica ? 'critical' : input.signal;
}
