// What the control plane shows and accepts: the views the HTTP API, the CLI and the dashboard
// read, and the ControlPlane interface `rebound up` implements. Times in views are ISO 8601 text.

import type { ChaosRuns, ScheduleView } from '../chaos/index.ts';
import type { BreakerRegistry } from '../policies/index.ts';
import type { ActionName, AutoscaleMetric, ReboundConfig, SloConfig } from './configTypes.ts';

/** SPEC 4.2. */
export type ServiceState = 'healthy' | 'degraded' | 'unhealthy' | 'critical' | 'recovering' | 'stopped';

/** A replica's lifecycle: `starting` until its first passing probe, `backoff` while waiting to restart. */
export type ReplicaState = 'starting' | 'healthy' | 'unhealthy' | 'stopping' | 'stopped' | 'backoff';

/** Traffic through a gateway over its sliding window (default 10 s). */
export interface TrafficMetrics {
  /** Milliseconds. */
  latency_p50: number;
  latency_p95: number;
  latency_p99: number;
  /** Failed / all requests in the window, 0–1 (5xx answers, connection failures, timeouts). */
  error_rate: number;
  /** Requests per second over the window. */
  throughput: number;
  /** Requests being served now. */
  inflight: number;
  /** Requests and failures in the window. */
  requests: number;
  errors: number;
  /** Requests and failures since the gateway started (availability, Prometheus counters). */
  requests_total: number;
  errors_total: number;
}

export interface ReplicaView {
  id: string;
  /** Only a running replica carries a pid. */
  pid?: number;
  port: number;
  state: ReplicaState;
  restarts: number;
  startedAt: string | null;
  /** The config revision it runs (rollouts). */
  revision: number;
  metrics?: TrafficMetrics;
}

export interface ServiceView {
  name: string;
  state: ServiceState;
  replicas: ReplicaView[];
  /** Gateway traffic, plus the last scraped / posted metrics (cpu_util, memory_util, …) by name. */
  metrics: Record<string, number>;
  gateway: {
    host: string;
    port: number;
    breaker: boolean;
    fallback: boolean;
    /** The service traffic is failed over to, if any. */
    failover: string | null;
  } | null;
  dependsOn: string[];
  revision: number;
  /** The service's autoscaling as configured; null when it is not autoscaled. */
  autoscale: {
    metric: AutoscaleMetric;
    target: number;
    min: number;
    max: number;
    intervalMs: number;
    scaleDownStabilizationMs: number;
  } | null;
}

export type AttemptSource = 'policy' | 'operator' | 'supervisor';
export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'escalated';

export interface AttemptActionView {
  type: ActionName | 'start-service' | 'stop-service' | 'scale';
  status: 'succeeded' | 'failed' | 'skipped';
  message: string;
  startedAt: string;
  endedAt: string;
}

export interface AttemptView {
  id: string;
  source: AttemptSource;
  /** The policy's name; null for operator and supervisor attempts. */
  policy: string | null;
  service: string;
  /** What fired it: the signal's source, its metrics and the conditions that held. */
  trigger: { source: string; metrics: Record<string, number>; conditions: string[]; detail?: string };
  actions: AttemptActionView[];
  status: AttemptStatus;
  /** One readable sentence: what was done and whether it worked. */
  outcome: string;
  /** Whether the triggering signal cleared after the actions (null while running or not checked). */
  verified: boolean | null;
  startedAt: string;
  endedAt: string | null;
}

export interface HealingStats {
  attempts: number;
  succeeded: number;
  failed: number;
  /** succeeded / (succeeded + failed), 0–1; 1 when nothing finished yet. */
  successRate: number;
  /** Mean of endedAt − startedAt over succeeded attempts, ms; 0 when none. */
  meanRecoveryMs: number;
  escalations: number;
}

export interface PolicyView {
  name: string;
  description: string | null;
  services: string[];
  when: string[];
  do: string[];
  priority: number;
  cooldownMs: number;
  enabled: boolean;
}

/** What a timeline entry records (SPEC 6). */
export type TimelineKind = 'signal' | 'decision' | 'action' | 'suppressed' | 'notification' | 'note';

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  /** One readable sentence. */
  summary: string;
  /** The structured facts behind it (metrics, policy, attempt id, alert fingerprint, from/to…); `{}` when none. */
  data: Record<string, unknown>;
}

export type IncidentStatus = 'open' | 'mitigating' | 'resolved' | 'escalated';

/** An incident as `GET /api/incidents` lists it; times not reached yet are null (never left out). */
export interface IncidentSummaryView {
  id: string;
  service: string;
  severity: 'critical' | 'high' | 'medium' | 'low';
  status: IncidentStatus;
  title: string;
  openedAt: string;
  resolvedAt: string | null;
  acknowledgedAt: string | null;
}

/** An incident with its timeline (`GET /api/incidents/:id`). */
export interface IncidentView extends IncidentSummaryView {
  timeline: TimelineEntry[];
  /** Its playbook workflow (`incident-response`), when one was started; only `GET /api/incidents/:id` has it. */
  playbook?: PlaybookView;
}

/** The durable workflow answering an incident, with its checkpointed steps (docs/incidents.md). */
export interface PlaybookView {
  /** The workflow's id: the incident's. */
  workflowId: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  steps: {
    name: string;
    status: 'succeeded' | 'failed';
    attempts: number;
    startedAt: string;
    endedAt: string;
  }[];
}

/** A service's reliability over its SLO window (SPEC 6); see docs/incidents.md. */
export interface ServiceReliabilityView {
  /** Share of gateway responses below 500 in the window, 0–1; null without traffic. */
  availability: number | null;
  /** Mean `resolvedAt − openedAt` of the incidents opened in the window and resolved; null when none. */
  mttrMs: number | null;
  /** Mean gap between the openings of the incidents opened in the window; null with fewer than two. */
  mtbfMs: number | null;
  /** `1 − (1 − availability) / (1 − slo.target)`; null without an SLO or without traffic. */
  errorBudgetRemaining: number | null;
  /** Error rate over the last hour and six hours / (1 − slo.target); null without an SLO or traffic then. */
  burnRate: { '1h': number | null; '6h': number | null };
  /** The multiwindow burn-rate alerts: fast 14.4× over 1 h and 5 min, slow 6× over 6 h and 30 min. */
  alerts: { fast: boolean; slow: boolean };
  slo: SloConfig | null;
  /** Gateway responses and failed ones in the window. */
  requests: number;
  errors: number;
  /** Incidents opened in the window. */
  incidents: number;
  /** Of those, the resolved ones: what `mttrMs` is the mean of. */
  resolvedIncidents: number;
}

/** Every service's reliability, and across services (availability weighted by requests). */
export interface ReliabilityView {
  services: Record<string, ServiceReliabilityView>;
  overall: {
    availability: number | null;
    mttrMs: number | null;
    mtbfMs: number | null;
    requests: number;
    errors: number;
    incidents: number;
  };
}

/** A forecast a predictive policy condition watches (GET /api/forecasts), with its measured error. */
export interface ForecastView {
  service: string;
  metric: string;
  /** The condition's `predictedWithinMs`: how far ahead this forecast is made and checked. */
  horizonMs: number;
  /** The last value sampled; null before any. */
  value: number | null;
  /** The value forecast `horizonMs` from now; null while there is no forecast (too few or stale samples). */
  predicted: number | null;
  /** Samples since the forecast (re)started. */
  samples: number;
  /** When the last sample was taken; null before any. */
  observedAt: string | null;
  error: {
    /** Predictions checked at their horizon that the figures below are over (the most recent). */
    samples: number;
    /** Every prediction checked at its horizon so far, and those waiting for their time to come. */
    settled: number;
    pending: number;
    /** Mean |predicted − observed| at the horizon, in the metric's unit; null before any checked. */
    mae: number | null;
    /** Σ|predicted − observed| / Σ|observed| at the horizon (0.05: off by 5%); null without data or when all observed were 0. */
    relative: number | null;
    /** Holt's own one-step-ahead mean absolute error (from one sample to the next), and its samples. */
    oneStepMae: number | null;
    oneStepSamples: number;
  };
}

export type ControllerLevel = 'service' | 'group' | 'global';

/** A decision of a controller of the hierarchy (SPEC 7); `level` names the controller that decided. */
export interface ControlDecisionView {
  level: string;
  action: string;
  reason: string;
  at: string;
  details?: Readonly<Record<string, unknown>>;
}

/** One controller of `rebound up`'s hierarchy (GET /api/controllers). */
export interface ControllerView {
  /** `service:<name>`, `group:<name>` or `global`. */
  name: string;
  level: ControllerLevel;
  parent: string | null;
  children: string[];
  /** Newest last, the latest 100 (decisions of an earlier run first). */
  decisions: ControlDecisionView[];
}

/** An event POSTed to /api/events (SPEC 4.3), already validated. */
export interface MetricsEvent {
  service: string;
  metrics: Record<string, number>;
}

/** What `rebound up` runs; the HTTP API and the CLI talk to it. */
export interface ControlPlane {
  readonly config: ReboundConfig;
  readonly version: string;
  readonly breakers: BreakerRegistry;
  /** Chaos experiments against the services (SPEC 5): start, journals, emergency stop. */
  readonly chaos: ChaosRuns;
  /** The experiments of `chaos.schedules`, as configured at start (a reload does not change them). */
  readonly chaosSchedules: { list(): ScheduleView[] };
  services(): ServiceView[];
  /** Throws UnknownServiceError. */
  service(name: string): ServiceView;
  /** Operator actions (SPEC 4.3); each is recorded as an attempt with source 'operator'. */
  restartService(name: string): Promise<AttemptView>;
  stopService(name: string): Promise<AttemptView>;
  startService(name: string): Promise<AttemptView>;
  /** Throws InvalidRequestError when `replicas` is outside the service's min..max. */
  scaleService(name: string, replicas: number): Promise<AttemptView>;
  policies(): PolicyView[];
  /** Newest first. */
  healing(filter?: { service?: string; limit?: number }): Promise<AttemptView[]>;
  healingStats(): Promise<HealingStats>;
  /** Feeds posted metrics to the policy engine; resolves once recorded (healing runs on). */
  ingestEvent(event: MetricsEvent): Promise<{ accepted: true }>;
  /** An Alertmanager webhook (version 4), already validated; resolves with how many alerts were taken. */
  ingestAlerts(payload: AlertmanagerPayload): Promise<{ accepted: number }>;
  /** Newest first, without their timelines; only those of `status` when given. */
  incidents(filter?: { status?: IncidentStatus }): Promise<IncidentSummaryView[]>;
  /** Throws NotFoundError (as the three below do for an unknown id). */
  incident(id: string): Promise<IncidentView>;
  /** Sets acknowledgedAt (idempotent: a second ack changes nothing). */
  acknowledgeIncident(id: string): Promise<IncidentView>;
  /** An operator resolves it; throws ConflictError when it is resolved already. */
  resolveIncident(id: string): Promise<IncidentView>;
  /** Adds an operator's note (1 to 4000 characters) to its timeline. */
  addIncidentNote(id: string, text: string): Promise<IncidentView>;
  /** Reliability figures per service and overall over each service's SLO window (SPEC 6). */
  reliability(): Promise<ReliabilityView>;
  /** The forecasts predictive policy conditions watch, with their measured error (docs/control.md). */
  forecasts(): ForecastView[];
  /** The hierarchy of controllers with their decisions; only those of `level` when given. */
  controllers(filter?: { level?: ControllerLevel }): ControllerView[];
  /** Re-reads the config file: throws ConfigError (nothing changed) or rolls out what changed. */
  reload(): Promise<{ changed: string[] }>;
  /** Stops every replica and closes the gateways and the store. */
  close(): Promise<void>;
}

/** Alertmanager's webhook body, version "4" (REFERENCE.md). */
export interface AlertmanagerPayload {
  version: string;
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}
