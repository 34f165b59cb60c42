// Probes one replica on its schedule and turns the results into healthy/unhealthy transitions.

import {
  type Clock,
  Emitter,
  OptionProblems,
  type Subscribe,
  systemClock,
  type TimerHandle,
} from '../policies/index.ts';
import type { HealthConfig } from './configTypes.ts';
import { probe as runProbe, type ProbeResult, type ProbeTarget } from './probes.ts';

/** How often a replica that has never passed is probed: like a Kubernetes startup probe, but fast. */
export const STARTUP_PROBE_INTERVAL_MS = 20;
/** Extra time a starting replica gets beyond `initialDelayMs + failureThreshold × intervalMs`. */
export const STARTUP_GRACE_MS = 10_000;

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthCheckerOptions {
  health: HealthConfig;
  target: ProbeTarget;
  clock?: Clock;
  /** The probe to run (tests inject a fake); default: probes.ts. */
  probe?: typeof runProbe;
  /** How often a starting replica is probed; default STARTUP_PROBE_INTERVAL_MS. */
  startupIntervalMs?: number;
  /** See `startupBudgetMs`; default STARTUP_GRACE_MS. */
  startupGraceMs?: number;
}

export type HealthListener = (healthy: boolean, result: ProbeResult) => void;

/**
 * How long a replica may stay `starting` (never passing) before it counts as unhealthy: the time a
 * liveness probe would take to give up on it (`initialDelayMs + failureThreshold × intervalMs`),
 * plus a grace for slow starts, since a process that is still booting is not yet hung.
 */
export function startupBudgetMs(health: HealthConfig, graceMs = STARTUP_GRACE_MS): number {
  return health.initialDelayMs + health.failureThreshold * health.intervalMs + graceMs;
}

/**
 * One per replica, with one timer. While `starting` it probes every `startupIntervalMs` so a fresh
 * replica is marked healthy within tens of milliseconds of answering; the first success makes it
 * healthy. After that it probes every `intervalMs`: `failureThreshold` consecutive failures make it
 * unhealthy, `successThreshold` consecutive successes make it healthy again. A replica that never
 * passes within `startupBudgetMs` becomes unhealthy too. Probes never overlap: the next one is
 * scheduled when the current one has finished, an interval after it started.
 */
export class HealthChecker {
  private readonly health: HealthConfig;
  private readonly target: ProbeTarget;
  private readonly clock: Clock;
  private readonly probe: typeof runProbe;
  private readonly startupIntervalMs: number;
  private readonly startupBudget: number;
  private readonly changeEmitter = new Emitter<{ healthy: boolean; result: ProbeResult }>();
  private readonly probeEmitter = new Emitter<ProbeResult>();
  private currentStatus: HealthStatus = 'starting';
  private latest: ProbeResult | undefined;
  private failures = 0;
  private successes = 0;
  private startedAt = 0;
  private timer: TimerHandle | undefined;
  private inFlight: AbortController | undefined;
  private running = false;

  /** Every transition: `healthy` true on becoming healthy, false on becoming unhealthy. */
  readonly onChange = (listener: HealthListener): (() => void) =>
    this.changeEmitter.subscribe((change) => listener(change.healthy, change.result));
  /** Every probe result (the supervisor samples the replica's memory on each). */
  readonly onProbe: Subscribe<ProbeResult> = this.probeEmitter.subscribe;

  constructor(options: HealthCheckerOptions) {
    const problems = new OptionProblems();
    problems.clock('healthChecker.clock', options.clock);
    problems.func('healthChecker.probe', options.probe);
    problems.number('healthChecker.startupIntervalMs', options.startupIntervalMs, {
      above: 0,
      optional: true,
    });
    problems.number('healthChecker.startupGraceMs', options.startupGraceMs, { min: 0, optional: true });
    problems.throwIfAny();
    this.health = options.health;
    this.target = options.target;
    this.clock = options.clock ?? systemClock;
    this.probe = options.probe ?? runProbe;
    this.startupIntervalMs = options.startupIntervalMs ?? STARTUP_PROBE_INTERVAL_MS;
    this.startupBudget = startupBudgetMs(options.health, options.startupGraceMs);
  }

  get status(): HealthStatus {
    return this.currentStatus;
  }

  get lastResult(): ProbeResult | undefined {
    return this.latest;
  }

  /** Starts probing after `initialDelayMs`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = this.clock.now();
    this.schedule(this.health.initialDelayMs);
  }

  /** Stops probing; a probe in flight is aborted and its result ignored. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  private schedule(delayMs: number): void {
    this.timer = this.clock.setTimeout(() => this.tick(), delayMs);
    this.timer.unref?.();
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    const controller = new AbortController();
    this.inFlight = controller;
    const began = this.clock.now();
    this.probe(this.health.probe, this.target, controller.signal).then(
      (result) => this.settle(controller, began, result),
      (error: unknown) =>
        this.settle(controller, began, {
          ok: false,
          detail: `probe failed: ${error instanceof Error ? error.message : String(error)}`,
          durationMs: 0,
        }),
    );
  }

  private settle(controller: AbortController, began: number, result: ProbeResult): void {
    if (!this.running || this.inFlight !== controller) return;
    this.inFlight = undefined;
    this.latest = result;
    if (this.probeEmitter.active) this.probeEmitter.emit(result);
    this.record(result);
    if (!this.running) return; // a listener stopped it
    const interval = this.currentStatus === 'starting' ? this.startupIntervalMs : this.health.intervalMs;
    this.schedule(Math.max(0, interval - (this.clock.now() - began)));
  }

  private record(result: ProbeResult): void {
    switch (this.currentStatus) {
      case 'starting':
        if (result.ok) this.become('healthy', result);
        else if (this.clock.now() - this.startedAt >= this.startupBudget) this.become('unhealthy', result);
        return;
      case 'healthy':
        if (result.ok) this.failures = 0;
        else if (++this.failures >= this.health.failureThreshold) this.become('unhealthy', result);
        return;
      case 'unhealthy':
        if (!result.ok) this.successes = 0;
        else if (++this.successes >= this.health.successThreshold) this.become('healthy', result);
        return;
    }
  }

  private become(status: 'healthy' | 'unhealthy', result: ProbeResult): void {
    this.currentStatus = status;
    this.failures = 0;
    this.successes = 0;
    this.changeEmitter.emit({ healthy: status === 'healthy', result });
  }
}
