// The shape of a loaded rebound.yaml: every field resolved, every default applied.

import { type Experiment, type MetricCondition, PROBE_OPS, type ProbeOp } from '../chaos/index.ts';
import type { CircuitTripOptions } from '../policies/index.ts';

/** The healing actions a policy may run, in the order the docs list them. */
export const ACTIONS = [
  'restart-service',
  'scale-up',
  'scale-down',
  'enable-circuit-breaker',
  'fallback-mode',
  'failover',
  'rollback-deployment',
  'alert-oncall',
  'exec',
] as const;
export type ActionName = (typeof ACTIONS)[number];

/** The control-plane actions an experiment's rollbacks may name (the chaos target runs these). */
export const EXPERIMENT_ROLLBACK_ACTIONS = [
  'restart-service',
  'start-service',
  'stop-service',
  'scale',
] as const;

/** A condition's operators: rebound/chaos's (experiments' probes and guards), which policies share. */
export const CONDITION_OPS = PROBE_OPS;
export type ConditionOp = ProbeOp;
/** The operators a policy condition may forecast (a trend says when a line crosses, not when it equals). */
export const PREDICTIVE_OPS: readonly ConditionOp[] = ['gt', 'gte', 'lt', 'lte'];
/** The longest `predictedWithinMs`: a trend fitted to seconds of samples says little beyond minutes. */
export const PREDICTED_WITHIN_MAX_MS = 600_000;

export const WEBHOOK_FORMATS = ['generic', 'pagerduty', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const AUTOSCALE_METRICS = ['inflight_per_replica', 'latency_p99', 'cpu_util'] as const;
export type AutoscaleMetric = (typeof AUTOSCALE_METRICS)[number];

export const BALANCE_STRATEGIES = ['least-loaded', 'round-robin'] as const;
export type BalanceStrategy = (typeof BALANCE_STRATEGIES)[number];

/** `metric op value`, e.g. `latency_p99 gt 500`; every condition of a list must hold. */
export type Condition = Readonly<MetricCondition>;

/**
 * A policy's condition: with `predictedWithinMs` it also holds when the metric's forecast (Holt's
 * linear trend, src/healing/forecasts.ts) says it will hold within that many milliseconds.
 */
export interface PolicyCondition extends Condition {
  readonly predictedWithinMs?: number;
}

export type HealthProbe =
  | {
      readonly kind: 'http';
      readonly path: string;
      readonly timeoutMs: number;
      /** Status codes counted healthy: `[low, high]` inclusive. */
      readonly expectStatus: readonly [number, number];
      /** Top-level JSON fields the body must carry with exactly these values. */
      readonly expectJson: Readonly<Record<string, unknown>> | undefined;
    }
  | { readonly kind: 'tcp'; readonly timeoutMs: number }
  | {
      readonly kind: 'exec';
      readonly command: string;
      readonly argv: readonly string[];
      readonly timeoutMs: number;
    };

export interface HealthConfig {
  readonly probe: HealthProbe;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly initialDelayMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

export interface RestartConfig {
  readonly backoff: { readonly initialMs: number; readonly factor: number; readonly maxMs: number };
  readonly maxRestarts: number;
  readonly windowMs: number;
}

export interface ReplicasConfig {
  readonly count: number;
  readonly min: number;
  readonly max: number;
}

export interface ToxicConfig {
  readonly name?: string;
  readonly type: string;
  readonly stream: 'upstream' | 'downstream';
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly balance: BalanceStrategy;
  /** Longest a proxied request may take before the gateway answers 504. */
  readonly timeoutMs: number;
  /** Faults injected at the gateway from the start (chaos). */
  readonly toxics: readonly ToxicConfig[];
}

export interface FallbackConfig {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface BreakerConfig {
  readonly trip: CircuitTripOptions;
  readonly openMs: number;
  readonly openBackoff: { readonly factor: number; readonly maxMs: number } | undefined;
  readonly halfOpen: { readonly maxCalls: number; readonly successes: number };
  readonly slowCall: { readonly ms: number; readonly rate: number } | undefined;
}

export interface SloConfig {
  readonly target: number;
  readonly windowDays: number;
}

export interface AutoscaleConfig {
  readonly metric: AutoscaleMetric;
  readonly target: number;
  readonly min: number;
  readonly max: number;
  readonly intervalMs: number;
  readonly tolerance: number;
  readonly maxStep: { readonly percent: number; readonly min: number };
  readonly scaleDownStabilizationMs: number;
  readonly pid: { readonly kp: number; readonly ki: number; readonly kd: number } | undefined;
}

export interface MetricsScrapeConfig {
  readonly path: string;
  readonly intervalMs: number;
}

export interface ServiceConfig {
  readonly name: string;
  /** The command as written. */
  readonly command: string;
  /** `command` split into arguments; `argv[0]` is executed directly, never through a shell. */
  readonly argv: readonly string[];
  /** Working directory of the replicas; `undefined`: rebound's own. */
  readonly cwd: string | undefined;
  /** Extra environment of every replica (rebound adds `PORT`). */
  readonly env: Readonly<Record<string, string>>;
  readonly replicas: ReplicasConfig;
  readonly gateway: GatewayConfig | undefined;
  readonly health: HealthConfig;
  readonly restart: RestartConfig;
  /** SIGTERM, then SIGKILL after this long. */
  readonly stopGraceMs: number;
  readonly dependsOn: readonly string[];
  readonly fallback: FallbackConfig | undefined;
  readonly breaker: BreakerConfig;
  readonly failover: { readonly target: string } | undefined;
  readonly resources: { readonly memoryMb: number | undefined };
  readonly metrics: MetricsScrapeConfig | undefined;
  readonly slo: SloConfig | undefined;
  readonly autoscale: AutoscaleConfig | undefined;
  /** The group (`groups.<name>`) whose controller is this service's parent; undefined: the global one. */
  readonly group: string | undefined;
}

export type ActionConfig =
  | {
      readonly type: Exclude<ActionName, 'exec' | 'scale-up' | 'scale-down' | 'failover'>;
    }
  | { readonly type: 'scale-up' | 'scale-down'; readonly by: number }
  | { readonly type: 'failover'; readonly target: string | undefined }
  | {
      readonly type: 'exec';
      readonly command: string;
      readonly argv: readonly string[];
      readonly timeoutMs: number;
    };

export interface PolicyConfig {
  readonly name: string;
  readonly description: string | undefined;
  /** The services the policy watches: those listed, or every service when the config lists none. */
  readonly services: readonly string[];
  readonly when: readonly PolicyCondition[];
  readonly do: readonly ActionConfig[];
  readonly priority: number;
  readonly cooldownMs: number;
  readonly enabled: boolean;
}

export interface WebhookConfig {
  readonly url: string;
  readonly format: WebhookFormat;
  /** PagerDuty Events API v2 integration key (secret). */
  readonly routingKey: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface EscalationConfig {
  readonly name: string | undefined;
  readonly webhook: WebhookConfig;
  /** Only incidents at least this severe are sent here. */
  readonly minSeverity: Severity;
}

export interface SeverityRule {
  readonly when: readonly Condition[];
  readonly level: Severity;
}

export interface IncidentsConfig {
  readonly groupWindowMs: number;
  /** An incident resolves once its service has been healthy and quiet this long. */
  readonly resolveAfterMs: number;
  readonly severity: readonly SeverityRule[];
}

/** An experiment run on a schedule by `rebound up`: every `every` ms, or when `cron` matches. */
export interface ChaosScheduleConfig {
  /** Unique; default the experiment file's base name without its extension. */
  readonly name: string;
  /** The experiment file as written (relative to the config file's directory). */
  readonly file: string;
  /** The parsed experiment, its blast radius the stricter of its own and the schedule's. */
  readonly experiment: Experiment;
  readonly every: number | undefined;
  readonly cron: string | undefined;
  /** IANA time zone of `cron`; `undefined`: the machine's local time. */
  readonly timezone: string | undefined;
  readonly enabled: boolean;
}

export interface ChaosConfig {
  /** The Toxiproxy-compatible API; `undefined`: not served by `rebound up`. */
  readonly proxyApi: { readonly host: string; readonly port: number } | undefined;
  readonly proxies: readonly {
    readonly name: string;
    readonly listen: string;
    readonly upstream: string;
    readonly enabled: boolean;
  }[];
  /** Experiments `rebound up` runs on a schedule (read once at start; a reload does not change them). */
  readonly schedules: readonly ChaosScheduleConfig[];
}

/** A group of services under one controller of `rebound up`'s hierarchy (docs/control.md). */
export interface GroupConfig {
  readonly name: string;
  /** Members whose traffic is shed first (gateway in fallback mode), in order, when the group is out of capacity. */
  readonly shed: readonly string[];
  /** A shed service leaves fallback mode once the service that caused it has not been saturated this long. */
  readonly restoreAfterMs: number;
}

/** The global controller of `rebound up`'s hierarchy. */
export interface GlobalControlConfig {
  /** The add-capacity command (split into arguments, never run through a shell); undefined: page instead. */
  readonly addCapacity:
    { readonly command: string; readonly argv: readonly string[]; readonly timeoutMs: number } | undefined;
  /** At most one capacity escalation per service within this long. */
  readonly capacityCooldownMs: number;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Bearer token for the API (secret); required when `host` is not loopback. */
  readonly token: string | undefined;
}

export interface ReboundConfig {
  /** Where the file came from (for messages), e.g. `rebound.yaml`. */
  readonly source: string;
  readonly store: string;
  readonly server: ServerConfig;
  /** Services by name, in file order. */
  readonly services: Readonly<Record<string, ServiceConfig>>;
  readonly policies: readonly PolicyConfig[];
  readonly limits: { readonly actionsPerMinute: number; readonly actionsPerHour: number };
  /** Service name → the actions policies may run on it; a service not listed permits every action. */
  readonly permissions: Readonly<Record<string, readonly ActionName[]>>;
  readonly escalation: readonly EscalationConfig[];
  readonly incidents: IncidentsConfig;
  readonly chaos: ChaosConfig;
  /** Groups of services by name, in file order (each service names its own with `group`). */
  readonly groups: Readonly<Record<string, GroupConfig>>;
  readonly global: GlobalControlConfig;
}
