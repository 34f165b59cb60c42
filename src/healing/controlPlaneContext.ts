// The parts and functions the control plane's modules share: each module's options pick the few
// it uses from this one interface, and the control plane builds it once.

import type { Clock } from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import type { AlertGate } from './alertGate.ts';
import type { ReboundConfig, ServiceConfig, Severity } from './configTypes.ts';
import type { AttemptView, ServiceState } from './controlPlaneTypes.ts';
import type { Gateway } from './gateway.ts';
import type { IncidentTracker } from './incidents.ts';
import type { PolicyEngine } from './policyEngine.ts';
import type { Supervisor } from './supervisor.ts';

export interface ControlPlaneContext {
  /** The config in force (a reload replaces it). */
  config: () => ReboundConfig;
  clock: Clock;
  log: (line: string) => void;
  store: Store;
  supervisor: Supervisor;
  gateways: ReadonlyMap<string, Gateway>;
  incidents: IncidentTracker;
  gate: AlertGate;
  engine: () => PolicyEngine;
  state: (service: string) => ServiceState;
  updateState: (service: string) => void;
  /** The severity a signal gives the service's incident. */
  severityFor: (service: string, signal: Severity) => Severity;
  /** Everything known about a service now, by metric name: what policies are evaluated against. */
  metricsOf: (service: string) => Record<string, number>;
  /** Throws UnknownServiceError for a service not in the config. */
  known: (service: string) => ServiceConfig;
  /** The stored attempts, newest first (the ControlPlane's `healing()`). */
  attempts: (filter: { service?: string; limit?: number }) => Promise<AttemptView[]>;
  /** Pages a human unless a dependency is down (incidentResponse.ts). */
  page: (
    service: string,
    severity: Severity,
    summary: string,
    tried: readonly AttemptView[],
  ) => Promise<void>;
  recordAttempt: (attempt: AttemptView) => Promise<void>;
  recordEvent: (service: string | null, type: string, data: Record<string, unknown>) => Promise<void>;
}
