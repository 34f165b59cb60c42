// `rebound up`'s autoscaling: one autoscaler (src/control) per service with `autoscale` in its config,
// all evaluated by ONE timer; each decision that changes the replica count scales the service
// through the supervisor and lands on the healing log as a 'policy' attempt of policy "autoscale".

import { type Autoscaler, type AutoscalerDecision, autoscaler } from '../control/index.ts';
import type { Clock, TimerHandle } from '../policies/index.ts';
import { singleActionAttempt } from './attemptOutcome.ts';
import { formatNumber } from './conditions.ts';
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
  /**
   * The requests in flight at the service's gateway now, over all its replicas; undefined without a
   * gateway. For inflight_per_replica, sampled SAMPLES_PER_INTERVAL times per interval: a decision
   * reads the mean over the replicas serving.
   */
  inflight: (service: string) => number | undefined;
  /** The other metrics now; undefined when nothing measured it: no decision. */
  metric: (service: string, metric: WindowedMetric) => number | undefined;
  /** How many replicas the service should run now. */
  replicas: (service: string) => number;
  /** How many of them serve now (healthy); the others are on their way. Omitted: all of them. */
  ready?: (service: string) => number;
  /** Why the service must not be scaled now (stopped, critical, restarting, rolling out); undefined: it may. */
  busy: (service: string) => string | undefined;
  /** Scales through the same path as an operator's scale (desired count, then the supervisor). */
  scale: (service: string, replicas: number) => Promise<void>;
  recordAttempt: (attempt: AttemptView) => Promise<void>;
  log: (line: string) => void;
  /**
   * Called (at most once per decision) when a decision wants more than the service's autoscale max:
   * the desired count is at max and the load, once the replicas still starting serve too, is above
   * the band (`decision.projected > 1 + tolerance`; `ratio` when all replicas serve).
   */
  saturated?: (service: string, decision: AutoscalerDecision) => void;
}

/**
 * The in-flight count, measured at one instant, is sampled this many times per interval and a
 * decision reads the mean: one reading at a 1 s interval would see every burst of requests.
 */
export const SAMPLES_PER_INTERVAL = 10;
/** Metrics already over a window (the gateway's) or a scrape: read once, at the decision. */
type WindowedMetric = Exclude<AutoscaleMetric, 'inflight_per_replica'>;

interface Scaled {
  readonly config: ServiceConfig;
  readonly scaler: Autoscaler;
  /** The autoscaler's max: its own within the service's replica bounds. */
  readonly max: number;
  /** When the current interval began (epoch ms): the last decision, or the end of the last scale. */
  lastAt: number;
  /** A scale of this service is under way: the next decision waits for it. */
  scaling: boolean;
  /** Sum and count of the in-flight samples (all replicas) this interval. */
  sampled: number;
  samples: number;
}

export class Autoscaling {
  readonly #options: AutoscalingOptions;
  readonly #scaled: Scaled[];
  /** How often the one timer fires: the shortest interval of all services, over SAMPLES_PER_INTERVAL. */
  readonly #everyMs: number;
  #timer: TimerHandle | undefined;
  #running = false;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AutoscalingOptions) {
    this.#options = options;
    this.#scaled = options.services.flatMap((config) => {
      const autoscale = config.autoscale;
      if (!autoscale) return [];
      const max = Math.min(autoscale.max, config.replicas.max);
      const scaler = autoscaler({
        target: autoscale.target,
        min: Math.max(autoscale.min, config.replicas.min, 1),
        max,
        tolerance: autoscale.tolerance,
        maxStep: autoscale.maxStep,
        scaleDownStabilizationMs: autoscale.scaleDownStabilizationMs,
        ...(autoscale.pid ? { pid: autoscale.pid } : {}),
      });
      return [{ config, scaler, max, lastAt: 0, scaling: false, sampled: 0, samples: 0 }];
    });
    const shortest = Math.min(...this.#scaled.map((s) => s.config.autoscale!.intervalMs));
    this.#everyMs = Math.max(1, Math.floor(shortest / SAMPLES_PER_INTERVAL));
  }

  /** How many services are autoscaled. */
  get size(): number {
    return this.#scaled.length;
  }

  start(): void {
    if (this.#running || this.#scaled.length === 0) return;
    this.#running = true;
    const now = this.#options.clock.now();
    for (const scaled of this.#scaled) restartInterval(scaled, now);
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

  /**
   * Samples every service's instantaneous metric and decides for those whose interval has passed;
   * the timer calls it, tests may too.
   */
  evaluate(): void {
    const now = this.#options.clock.now();
    for (const scaled of this.#scaled) {
      // Samples taken while a scale is under way would mix the replica counts before and after.
      if (scaled.scaling) continue;
      this.#sample(scaled);
      // Half a tick of slack: a timer that fires a hair early must not skip a whole interval.
      if (now - scaled.lastAt < scaled.config.autoscale!.intervalMs - this.#everyMs / 2) continue;
      const ready = this.#ready(scaled.config.name);
      const value = this.#value(scaled, ready);
      restartInterval(scaled, now);
      this.#decide(scaled, value, ready, now);
    }
  }

  #ready(name: string): number {
    return this.#options.ready?.(name) ?? this.#options.replicas(name);
  }

  /** Adds the in-flight requests of all serving replicas now to the interval's samples. */
  #sample(scaled: Scaled): void {
    if (scaled.config.autoscale!.metric !== 'inflight_per_replica') return;
    const inflight = this.#options.inflight(scaled.config.name);
    if (inflight === undefined || !Number.isFinite(inflight) || inflight < 0) return;
    scaled.sampled += inflight;
    scaled.samples++;
  }

  /**
   * The metric a decision reads: inflight_per_replica is the mean in-flight count over the interval
   * divided by the `ready` replicas serving now (the in-flight count follows the load, not the
   * replica count), the others as read now.
   */
  #value(scaled: Scaled, ready: number): number | undefined {
    const { metric } = scaled.config.autoscale!;
    if (metric !== 'inflight_per_replica') return this.#options.metric(scaled.config.name, metric);
    if (scaled.samples === 0 || ready === 0) return undefined;
    return scaled.sampled / scaled.samples / ready;
  }

  #decide(scaled: Scaled, value: number | undefined, ready: number, now: number): void {
    const { config, scaler } = scaled;
    const { metric, target, tolerance } = config.autoscale!;
    const name = config.name;
    if (this.#options.busy(name) !== undefined) return;
    if (value === undefined || !Number.isFinite(value) || value < 0) return;
    const from = this.#options.replicas(name);
    const desired = scaler.recommend({ replicas: from, ready, value, atMs: now });
    const decision = scaler.lastDecision!;
    if (desired === scaled.max && decision.projected > 1 + tolerance) this.#saturated(name, decision);
    if (desired === from) return;
    const reason = decision.reason;
    scaled.scaling = true;
    const done = this.#scale(name, from, desired, {
      metric,
      value,
      target,
      reason,
      startedAt: now,
    }).finally(() => {
      scaled.scaling = false;
      // The next interval measures the replicas the scale left, from when it ended.
      restartInterval(scaled, this.#options.clock.now());
      this.#pending.delete(done);
    });
    this.#pending.add(done);
  }

  #saturated(name: string, decision: AutoscalerDecision): void {
    try {
      this.#options.saturated?.(name, decision);
    } catch (error) {
      this.#options.log(`rebound: the saturation hook of ${name} failed: ${(error as Error).message}`);
    }
  }

  async #scale(
    name: string,
    from: number,
    to: number,
    why: { metric: AutoscaleMetric; value: number; target: number; reason: string; startedAt: number },
  ): Promise<void> {
    const { clock, log } = this.#options;
    const measured = `${why.metric} ${formatNumber(why.value)} vs target ${why.target}`;
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
    const attempt = singleActionAttempt(
      {
        id: `autoscale-${crypto.randomUUID()}`,
        source: 'policy',
        policy: AUTOSCALE_POLICY,
        service: name,
        trigger: { source: 'autoscaler', metrics: { [why.metric]: why.value }, conditions: [why.reason] },
        outcome: message,
      },
      { type: 'scale', status, message, startedAt: iso(why.startedAt), endedAt: iso(clock.now()) },
    );
    await this.#options.recordAttempt(attempt).catch((error: unknown) => {
      log(`rebound: could not record the autoscaling of ${name}: ${(error as Error).message}`);
    });
  }
}

/**
 * A metric an autoscaler reads at its decision: latency_p99 the gateway window's (once it saw a
 * request), cpu_util the scraped or posted value; undefined when nothing measured it.
 */
export function autoscaleMetric(
  metric: WindowedMetric,
  from: {
    traffic: () => Pick<TrafficMetrics, 'requests' | 'latency_p99'> | undefined;
    metrics: () => Record<string, number>;
  },
): number | undefined {
  if (metric === 'cpu_util') return from.metrics().cpu_util;
  const traffic = from.traffic();
  return traffic && traffic.requests > 0 ? traffic.latency_p99 : undefined;
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
  /** See AutoscalingOptions.saturated. */
  saturated?: AutoscalingOptions['saturated'];
}

/** The control plane's autoscaling: metrics from its gateways and scrapes, scaling through its supervisor. */
export function controlPlaneAutoscaling(options: ControlPlaneAutoscalingOptions): Autoscaling {
  const { supervisor, desired } = options;
  return new Autoscaling({
    clock: options.clock,
    services: Object.values(options.config().services),
    log: options.log,
    recordAttempt: options.recordAttempt,
    replicas: (name) => desired.get(name) ?? 0,
    // The healthy replicas, those the gateway sends requests to.
    ready: (name) => supervisor.upstreams(name).length,
    ...(options.saturated ? { saturated: options.saturated } : {}),
    inflight: (name) => options.gateways.get(name)?.inflight,
    metric: (name, metric) =>
      autoscaleMetric(metric, {
        traffic: () => options.gateways.get(name)?.metrics(),
        metrics: () => options.metricsOf(name),
      }),
    busy: (name) => {
      if (options.stopped.has(name)) return 'stopped';
      if (supervisor.isCritical(name)) return 'critical';
      if (options.restarting(name)) return 'restarting';
      // A rollout or a scale under way changes the replicas: wait until they settle. Replicas that
      // are starting or restarting do not hold the decision: the autoscaler is told how many serve.
      return supervisor.replicas(name).length === desired.get(name) ? undefined : 'settling';
    },
    // Done once the new replicas are started, not once they serve: the next decisions go on while
    // they start (they are counted as replicas, not as ready), as the autoscaler expects.
    scale: async (name, replicas) => {
      desired.set(name, replicas);
      await supervisor.scale(name, replicas, { waitReady: false });
      options.updateState(name);
    },
  });
}

function restartInterval(scaled: Scaled, now: number): void {
  scaled.lastAt = now;
  scaled.sampled = 0;
  scaled.samples = 0;
}
