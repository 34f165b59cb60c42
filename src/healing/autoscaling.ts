// `rebound up`'s autoscaling: one autoscaler (src/control) per service with `autoscale` in its config,
// all evaluated by ONE timer; each decision that changes the replica count scales the service
// through the supervisor and lands on the healing log as a 'policy' attempt of policy "autoscale".

import { type Autoscaler, autoscaler } from '../control/index.ts';
import type { Clock, TimerHandle } from '../policies/index.ts';
import type { AutoscaleMetric, ServiceConfig } from './configTypes.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { AttemptView, TrafficMetrics } from './controlPlaneTypes.ts';
import { isConflictError } from './errors.ts';
import { iso } from './incidents.ts';

/** The policy name autoscaling attempts carry on the healing log. */
export const AUTOSCALE_POLICY = 'autoscale';

export interface AutoscalingOptions {
  clock: Clock;
  /** The services as configured when `rebound up` started (a reload does not change autoscaling). */
  services: readonly ServiceConfig[];
  /** The metric now, per replica where it applies; undefined when nothing measured it: no decision. */
  metric: (service: string, metric: AutoscaleMetric) => number | undefined;
  /** How many replicas the service should run now. */
  replicas: (service: string) => number;
  /** Why the service must not be scaled now (stopped, critical, restarting, rolling out); undefined: it may. */
  busy: (service: string) => string | undefined;
  /** Scales through the same path as an operator's scale (desired count, then the supervisor). */
  scale: (service: string, replicas: number) => Promise<void>;
  recordAttempt: (attempt: AttemptView) => Promise<void>;
  log: (line: string) => void;
}

interface Scaled {
  readonly config: ServiceConfig;
  readonly scaler: Autoscaler;
  /** When the service was last evaluated (epoch ms). */
  lastAt: number;
  /** A scale of this service is under way: the next decision waits for it. */
  scaling: boolean;
}

export class Autoscaling {
  readonly #options: AutoscalingOptions;
  readonly #scaled: Scaled[];
  /** The shortest interval of all services: how often the one timer fires. */
  readonly #everyMs: number;
  #timer: TimerHandle | undefined;
  #running = false;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AutoscalingOptions) {
    this.#options = options;
    this.#scaled = options.services.flatMap((config) => {
      const autoscale = config.autoscale;
      if (!autoscale) return [];
      const scaler = autoscaler({
        target: autoscale.target,
        min: Math.max(autoscale.min, config.replicas.min, 1),
        max: Math.min(autoscale.max, config.replicas.max),
        tolerance: autoscale.tolerance,
        maxStep: autoscale.maxStep,
        scaleDownStabilizationMs: autoscale.scaleDownStabilizationMs,
        ...(autoscale.pid ? { pid: autoscale.pid } : {}),
      });
      return [{ config, scaler, lastAt: Number.NEGATIVE_INFINITY, scaling: false }];
    });
    this.#everyMs = Math.min(...this.#scaled.map((s) => s.config.autoscale!.intervalMs));
  }

  /** How many services are autoscaled. */
  get size(): number {
    return this.#scaled.length;
  }

  start(): void {
    if (this.#running || this.#scaled.length === 0) return;
    this.#running = true;
    this.#schedule();
  }

  /** Stops the timer at once; the promise settles once the scales under way have. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#pending]);
  }

  #schedule(): void {
    const timer = this.#options.clock.setTimeout(() => {
      if (!this.#running) return;
      this.evaluate();
      this.#schedule();
    }, this.#everyMs);
    timer.unref?.();
    this.#timer = timer;
  }

  /** Evaluates every service whose interval has passed; the timer calls it, tests may too. */
  evaluate(): void {
    const now = this.#options.clock.now();
    for (const scaled of this.#scaled) {
      if (scaled.scaling || now - scaled.lastAt < scaled.config.autoscale!.intervalMs) continue;
      scaled.lastAt = now;
      this.#decide(scaled, now);
    }
  }

  #decide(scaled: Scaled, now: number): void {
    const { config, scaler } = scaled;
    const { metric, target } = config.autoscale!;
    const name = config.name;
    if (this.#options.busy(name) !== undefined) return;
    const value = this.#options.metric(name, metric);
    if (value === undefined || !Number.isFinite(value) || value < 0) return;
    const from = this.#options.replicas(name);
    const desired = scaler.recommend({ replicas: from, value, atMs: now });
    if (desired === from) return;
    const reason = scaler.lastDecision!.reason;
    scaled.scaling = true;
    const done = this.#scale(name, from, desired, {
      metric,
      value,
      target,
      reason,
      startedAt: now,
    }).finally(() => {
      scaled.scaling = false;
      this.#pending.delete(done);
    });
    this.#pending.add(done);
  }

  async #scale(
    name: string,
    from: number,
    to: number,
    why: { metric: AutoscaleMetric; value: number; target: number; reason: string; startedAt: number },
  ): Promise<void> {
    const { clock, log } = this.#options;
    const measured = `${why.metric} ${round(why.value)} vs target ${why.target}`;
    let status: 'succeeded' | 'failed';
    let message: string;
    try {
      await this.#options.scale(name, to);
      status = 'succeeded';
      message = `scaled ${name} ${from} → ${to} (${why.reason}: ${measured})`;
    } catch (error) {
      // Another operation holds the service (a rollout, a stop): try again next interval.
      if (isConflictError(error)) return;
      status = 'failed';
      message = `could not scale ${name} ${from} → ${to} (${why.reason}: ${measured}): ${(error as Error).message}`;
    }
    const endedAt = clock.now();
    const attempt: AttemptView = {
      id: `autoscale-${crypto.randomUUID()}`,
      source: 'policy',
      policy: AUTOSCALE_POLICY,
      service: name,
      trigger: { source: 'autoscaler', metrics: { [why.metric]: why.value }, conditions: [why.reason] },
      actions: [
        {
          type: 'scale',
          status,
          message,
          startedAt: iso(why.startedAt),
          endedAt: iso(endedAt),
        },
      ],
      status,
      outcome: message,
      verified: null,
      startedAt: iso(why.startedAt),
      endedAt: iso(endedAt),
    };
    await this.#options.recordAttempt(attempt).catch((error: unknown) => {
      log(`rebound: could not record the autoscaling of ${name}: ${(error as Error).message}`);
    });
  }
}

/**
 * The metric an autoscaler reads: inflight_per_replica is the gateway's in-flight requests per
 * healthy replica, latency_p99 the gateway window's (once it saw a request), cpu_util the scraped or
 * posted value; undefined when nothing measured it.
 */
export function autoscaleMetric(
  metric: AutoscaleMetric,
  from: {
    traffic: Pick<TrafficMetrics, 'inflight' | 'requests' | 'latency_p99'> | undefined;
    healthyReplicas: number;
    metrics: () => Record<string, number>;
  },
): number | undefined {
  const { traffic, healthyReplicas } = from;
  if (metric === 'cpu_util') return from.metrics().cpu_util;
  if (metric === 'latency_p99') return traffic && traffic.requests > 0 ? traffic.latency_p99 : undefined;
  return traffic && healthyReplicas > 0 ? traffic.inflight / healthyReplicas : undefined;
}

export interface ControlPlaneAutoscalingOptions extends Pick<
  ControlPlaneContext,
  'config' | 'clock' | 'log' | 'supervisor' | 'gateways' | 'metricsOf' | 'updateState' | 'recordAttempt'
> {
  /** Services an operator stopped. */
  stopped: ReadonlySet<string>;
  /** How many replicas each service should run (what an operator's scale sets too). */
  desired: Map<string, number>;
  restarting: (service: string) => boolean;
}

/** The control plane's autoscaling: metrics from its gateways and scrapes, scaling through its supervisor. */
export function controlPlaneAutoscaling(options: ControlPlaneAutoscalingOptions): Autoscaling {
  const { supervisor, desired } = options;
  const healthy = (name: string) => supervisor.replicas(name).filter((r) => r.state === 'healthy');
  return new Autoscaling({
    clock: options.clock,
    services: Object.values(options.config().services),
    log: options.log,
    recordAttempt: options.recordAttempt,
    replicas: (name) => desired.get(name) ?? 0,
    metric: (name, metric) =>
      autoscaleMetric(metric, {
        traffic: options.gateways.get(name)?.metrics(),
        healthyReplicas: healthy(name).length,
        metrics: () => options.metricsOf(name),
      }),
    busy: (name) => {
      if (options.stopped.has(name)) return 'stopped';
      if (supervisor.isCritical(name)) return 'critical';
      if (options.restarting(name)) return 'restarting';
      // A rollout, a scale or a restart under way changes the replicas: wait until they settle.
      const count = supervisor.replicas(name).length;
      return count === desired.get(name) && healthy(name).length === count ? undefined : 'settling';
    },
    scale: async (name, replicas) => {
      desired.set(name, replicas);
      await supervisor.scale(name, replicas);
      options.updateState(name);
    },
  });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
