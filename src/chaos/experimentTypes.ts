// The shapes of chaos experiments (SPEC 5): an experiment as parsed, the target it runs against,
// and the journal a run leaves behind.

export const PROBE_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const;
export type ProbeOp = (typeof PROBE_OPS)[number];

export const FAULT_KINDS = [
  'kill',
  'pause',
  'latency',
  'http-error',
  'fail-first',
  'down',
  'bandwidth',
  'reset-peer',
  'cpu',
  'memory',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** `latency_p99 lt 200`: holds when the target's metric compares so; a missing metric never holds. */
export interface MetricCondition {
  metric: string;
  op: ProbeOp;
  value: number;
}

export type SteadyStateProbe =
  | {
      kind: 'http';
      /** Requested through the target's gateway. */
      path: string;
      /** One status, or an inclusive `[low, high]` range. */
      expectStatus: number | readonly [number, number];
      timeoutMs: number;
    }
  | ({ kind: 'metric' } & MetricCondition);

/** A fault to inject; `intensity` (toxicity) travels beside it, the duration is the runner's business. */
export type FaultSpec =
  | { kind: 'kill'; replicas: number }
  | { kind: 'pause'; replicas: number }
  | { kind: 'latency'; ms: number; jitterMs: number }
  | { kind: 'http-error'; status: number }
  | { kind: 'fail-first'; requests: number; status: number }
  | { kind: 'down' }
  /** KB/s, as Toxiproxy's bandwidth toxic. */
  | { kind: 'bandwidth'; rate: number }
  | { kind: 'reset-peer' }
  | { kind: 'cpu'; workers: number }
  | { kind: 'memory'; mb: number };

export type MethodStep =
  | {
      kind: 'fault';
      fault: FaultSpec;
      /** Removed when it ends; without it the fault stays until the end of the method. */
      durationMs?: number;
      /** The fault's toxicity, 0–1. */
      intensity: number;
    }
  | { kind: 'wait'; ms: number };

export interface RollbackAction {
  /** A control-plane action, e.g. `restart-service`. */
  action: string;
  params: Record<string, unknown>;
}

export interface Experiment {
  title: string;
  description?: string;
  /** The service the experiment runs against. */
  target: string;
  steadyState: SteadyStateProbe[];
  method: MethodStep[];
  rollbacks: RollbackAction[];
  abortWhen: MetricCondition[];
  expect?: { recoveredWithinMs: number };
  allowDuringIncident: boolean;
  blastRadius?: { maxReplicas?: number; maxPercent?: number };
}

/** A fault the target has injected; `remove()` undoes it (a kill's remove does nothing). */
export interface ActiveFault {
  description: string;
  remove(): Promise<void>;
}

/** What a run drives; the control plane implements it over its services. */
export interface ChaosTarget {
  services(): string[];
  /** Gateway metrics and the scraped ones, by name. */
  metrics(service: string): Readonly<Record<string, number>>;
  /** A request through the service's gateway. */
  request(service: string, path: string, timeoutMs: number): Promise<{ status: number; ms: number }>;
  hasOpenIncident(service: string): boolean;
  replicaPids(service: string): number[];
  /**
   * `expiresInMs`: the fault must end by itself that long after injection even if nobody removes it
   * (the runner's process died), so a crash never leaves it behind.
   */
  injectFault(
    service: string,
    fault: FaultSpec,
    intensity: number,
    expiresInMs: number,
  ): Promise<ActiveFault>;
  /** Runs a control-plane action (`restart-service`, …); answers what it did. */
  runAction(service: string, action: string, params: Record<string, unknown>): Promise<string>;
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'aborted' | 'interrupted';
export type ActivityStatus = 'running' | 'succeeded' | 'failed' | 'stopped';

export interface ProbeResult {
  name: string;
  met: boolean;
  /** What was observed: `{ status, ms }`, `{ value }`, or `{ error }`. */
  output: Readonly<Record<string, unknown>>;
}

export interface SteadyStateResult {
  met: boolean;
  probes: ProbeResult[];
}

export interface Activity {
  name: string;
  status: ActivityStatus;
  /** ISO 8601. */
  start: string;
  /** ISO 8601; null while running. */
  end: string | null;
  output: string | null;
}

/** The journal of one run (SPEC 5), stored as a 'chaos-run' record. */
export interface Journal {
  id: string;
  title: string;
  target: string;
  status: RunStatus;
  /** Why it was aborted, interrupted or failed; null when completed or running. */
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
  /** Null until evaluated (an incident refuses a run before the probes run). */
  steadyStateBefore: SteadyStateResult | null;
  steadyStateAfter: SteadyStateResult | null;
  activities: Activity[];
  rollbacks: Activity[];
  /** From the last fault's end until the steady state held again; null if it did not (yet). */
  recoveryMs: number | null;
  expectation: { recoveredWithinMs: number | null; met: boolean | null };
}

/** What `onProgress` hears, with a snapshot of the journal at that moment. */
export interface ExperimentProgress {
  runId: string;
  /** One line for people: "injected latency 500 ms", "guard error_rate > 0.5 tripped", … */
  message: string;
  journal: Journal;
}
