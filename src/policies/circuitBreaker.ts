// circuitBreaker(): stops calling a failing dependency for a while, then lets trial calls decide
// whether it has recovered. Owns no timer: time is read when a call arrives.

import { abortReason } from './abort.ts';
import {
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  type CircuitState,
  resolveCircuitBreakerOptions,
} from './breakerOptions.ts';
import {
  type BreakerState,
  type CircuitBreakerStats,
  type CircuitFailureEvent,
  type CircuitRejectedEvent,
  type CircuitStateChangeEvent,
  type CircuitStateChangeReason,
  type CircuitSuccessEvent,
  CLOSED,
  type HalfOpenPeriod,
  ISOLATED,
  TRANSITIONS,
  Trial,
} from './breakerState.ts';
import { createTripWindow, FAILED, SLOW, type TripWindow } from './breakerWindow.ts';
import type { Clock } from './clock.ts';
import { BrokenCircuitError, IsolatedCircuitError } from './errors.ts';
import { Emitter, type Subscribe } from './events.ts';
import { type ComposablePolicy, type ExecuteContext, executeRoot, type Operation, run } from './policy.ts';

export {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  type CircuitState,
  type CircuitTripKind,
  type CircuitTripOptions,
} from './breakerOptions.ts';
export type {
  CircuitBreakerStats,
  CircuitFailureEvent,
  CircuitRejectedEvent,
  CircuitStateChangeEvent,
  CircuitStateChangeReason,
  CircuitSuccessEvent,
} from './breakerState.ts';

export class CircuitBreaker implements ComposablePolicy {
  readonly name: string;
  private readonly clock: Clock;
  private readonly window: TripWindow;
  /** Every call needs its start time: slow calls are watched, or the window is timed. */
  private readonly timed: boolean;
  private readonly openMs: number;
  private readonly backoffFactor: number;
  private readonly backoffMaxMs: number;
  private readonly halfOpenMaxCalls: number;
  private readonly halfOpenSuccesses: number;
  private readonly slowCallMs: number;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;
  private readonly isResultFailure: ((result: unknown) => boolean) | undefined;

  private current: BreakerState = CLOSED;
  /** Bumped on every transition and reset: a call admitted under an older one decides nothing. */
  private generation = 0;
  /** The generation at the last reset(): calls admitted before it are left out of the statistics. */
  private countedFrom = 0;
  private backoffLevel = 0;
  private calls = 0;
  private successes = 0;
  private failures = 0;
  private rejected = 0;
  private tripCount = 0;
  private lastTripAt: number | null = null;

  // Created when first subscribed to: four emitters would be most of an idle breaker's memory.
  private stateChangeEmitter: Emitter<CircuitStateChangeEvent> | undefined;
  private successEmitter: Emitter<CircuitSuccessEvent> | undefined;
  private failureEmitter: Emitter<CircuitFailureEvent> | undefined;
  private rejectedEmitter: Emitter<CircuitRejectedEvent> | undefined;

  constructor(options?: CircuitBreakerOptions) {
    const resolved = resolveCircuitBreakerOptions(options);
    this.name = resolved.name;
    this.clock = resolved.clock;
    this.window = createTripWindow(resolved.trip, resolved.slowCallRate);
    this.timed = this.window.timed || resolved.slowCallMs !== Number.POSITIVE_INFINITY;
    this.openMs = resolved.openMs;
    this.backoffFactor = resolved.backoffFactor;
    this.backoffMaxMs = resolved.backoffMaxMs;
    this.halfOpenMaxCalls = resolved.halfOpenMaxCalls;
    this.halfOpenSuccesses = resolved.halfOpenSuccesses;
    this.slowCallMs = resolved.slowCallMs;
    this.isFailure = resolved.isFailure;
    this.isResultFailure = resolved.isResultFailure;
    if (resolved.initialState !== undefined) this.restore(resolved.initialState);
  }

  /** Fires on every state change, with the reason (see CircuitStateChangeReason). */
  get onStateChange(): Subscribe<CircuitStateChangeEvent> {
    this.stateChangeEmitter ??= new Emitter();
    return this.stateChangeEmitter.subscribe;
  }

  /** Fires when a call counts as a success. */
  get onSuccess(): Subscribe<CircuitSuccessEvent> {
    this.successEmitter ??= new Emitter();
    return this.successEmitter.subscribe;
  }

  /** Fires when a call counts as a failure (not for the caller's own abort). */
  get onFailure(): Subscribe<CircuitFailureEvent> {
    this.failureEmitter ??= new Emitter();
    return this.failureEmitter.subscribe;
  }

  /** Fires when a call is refused (open, no trial slot, isolated). */
  get onRejected(): Subscribe<CircuitRejectedEvent> {
    this.rejectedEmitter ??= new Emitter();
    return this.rejectedEmitter.subscribe;
  }

  get state(): CircuitState {
    return this.current.state;
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  async [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    const trial = this.current === CLOSED ? undefined : this.admit(ctx.signal);
    const start =
      this.timed || this.successEmitter?.active || this.failureEmitter?.active ? this.clock.now() : -1;
    const generation = this.generation;
    this.calls++;
    let result: T;
    try {
      result = (await fn(ctx)) as T;
    } catch (error) {
      this.settleError(error, ctx.signal, start, generation, trial);
      throw error;
    }
    const isResultFailure = this.isResultFailure;
    let failed = false;
    if (isResultFailure !== undefined) {
      try {
        failed = isResultFailure(result);
      } catch (predicateError) {
        this.settleFailure(result, start, generation, trial);
        throw predicateError;
      }
    }
    if (failed) {
      this.settleFailure(result, start, generation, trial);
    } else if (trial === undefined && start < 0 && generation === this.generation) {
      // The common case, kept lean: closed, nothing timed, no one listening.
      this.successes++;
      const reason = this.window.record(0, -1);
      if (reason !== undefined) this.open(reason, this.clock.now());
    } else {
      this.settleSuccess(start, generation, trial);
    }
    return result;
  }

  /** Holds the breaker open (IsolatedCircuitError) until `reset()`; trial calls in flight then decide nothing. */
  isolate(): void {
    if (this.current.state === 'isolated') return;
    this.transition(ISOLATED, 'isolated', this.clock.now());
  }

  /**
   * Closes the breaker with clean counters: the trip window, the backoff and every statistic
   * (calls, successes, failures, rejected, tripCount, lastTripAt) start again from zero.
   */
  reset(): void {
    this.window.clear();
    this.backoffLevel = this.calls = this.successes = this.failures = this.rejected = this.tripCount = 0;
    this.lastTripAt = null;
    this.countedFrom = this.generation + 1;
    if (this.current.state === 'closed') this.generation++;
    else this.transition(CLOSED, 'reset', this.clock.now());
  }

  stats(): CircuitBreakerStats {
    const now = this.clock.now();
    const current = this.current;
    const recentCalls = this.window.recentCalls(now);
    const recentFailures = this.window.recentFailures(now);
    const decided = this.successes + this.failures;
    return {
      name: this.name,
      state: current.state,
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      rejected: this.rejected,
      successRate: decided === 0 ? 1 : this.successes / decided,
      recentFailures,
      tripCount: this.tripCount,
      lastTripAt: this.lastTripAt,
      retryAfterMs: current.state === 'open' ? Math.max(0, current.openUntil - now) : 0,
      healthPercent: recentCalls === 0 ? 100 : (100 * (recentCalls - recentFailures)) / recentCalls,
    };
  }

  /** The state to pass as `initialState`, here or in another process; plain JSON. */
  toJSON(): CircuitBreakerSnapshot {
    const current = this.current;
    return {
      version: 1,
      state: current.state,
      openedAt: current.state === 'open' ? current.openedAt : null,
      openUntil: current.state === 'open' ? current.openUntil : null,
      backoffLevel: this.backoffLevel,
      trialSuccesses: current.state === 'half-open' ? current.successes : 0,
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      rejected: this.rejected,
      tripCount: this.tripCount,
      lastTripAt: this.lastTripAt,
      window: this.window.toJSON(),
    };
  }

  /** Lets a call through as a trial, or throws why not. Only called when not CLOSED. */
  private admit(signal: AbortSignal): Trial {
    let current = this.current;
    if (current.state === 'open') {
      const now = this.clock.now();
      if (now < current.openUntil) throw this.reject(current.openUntil - now);
      current = this.transition<HalfOpenPeriod>(
        { state: 'half-open', inFlight: 0, successes: 0 },
        'open-elapsed',
        now,
      );
    }
    if (current.state === 'half-open') {
      if (signal.aborted) throw abortReason(signal);
      if (current.inFlight >= this.halfOpenMaxCalls) throw this.reject(0);
      return new Trial(current, signal);
    }
    throw this.reject(-1);
  }

  /** Counts a refused call; `retryAfterMs` -1 means isolated. */
  private reject(retryAfterMs: number): Error {
    this.rejected++;
    if (this.rejectedEmitter?.active) this.rejectedEmitter.emit({ retryAfterMs: Math.max(0, retryAfterMs) });
    if (retryAfterMs < 0) return new IsolatedCircuitError(this.name);
    if (retryAfterMs > 0) return new BrokenCircuitError(this.name, retryAfterMs);
    return new BrokenCircuitError(
      this.name,
      0,
      `circuit '${this.name}' is half-open and its ${this.halfOpenMaxCalls} trial call(s) are in flight`,
    );
  }

  private settleError(
    error: unknown,
    signal: AbortSignal,
    start: number,
    generation: number,
    trial: Trial | undefined,
  ): void {
    if (signal.aborted && error === signal.reason) {
      // The caller gave up: that says nothing about the dependency, so it is neither a success nor
      // a failure (a timeout meant to count must sit inside the breaker, not around it).
      trial?.release();
      return;
    }
    let counts = true;
    if (this.isFailure !== undefined) {
      try {
        counts = this.isFailure(error);
      } catch (predicateError) {
        this.settleFailure(error, start, generation, trial);
        throw predicateError;
      }
    }
    if (counts) this.settleFailure(error, start, generation, trial);
    else this.settleSuccess(start, generation, trial);
  }

  private settleSuccess(start: number, generation: number, trial: Trial | undefined): void {
    if (generation >= this.countedFrom) this.successes++;
    const now = start >= 0 || trial !== undefined ? this.clock.now() : -1;
    const durationMs = start >= 0 ? now - start : 0;
    const outcome = durationMs > this.slowCallMs ? SLOW : 0;
    const released = trial?.release() ?? false;
    if (this.successEmitter?.active) this.successEmitter.emit({ durationMs });
    if (trial !== undefined) {
      if (!released || this.current !== trial.period) return;
      this.window.record(outcome, now); // for health only: trials decide by their own rule
      if (outcome !== 0) this.reopen('trial-slow', now);
      else if (++trial.period.successes >= this.halfOpenSuccesses) this.close('trial-succeeded', now);
    } else if (generation === this.generation) {
      const reason = this.window.record(outcome, now);
      if (reason !== undefined) this.open(reason, now >= 0 ? now : this.clock.now());
    }
  }

  private settleFailure(error: unknown, start: number, generation: number, trial: Trial | undefined): void {
    if (generation >= this.countedFrom) this.failures++;
    const now = this.clock.now();
    const durationMs = start >= 0 ? now - start : 0;
    const outcome = durationMs > this.slowCallMs ? FAILED | SLOW : FAILED;
    const released = trial?.release() ?? false;
    if (this.failureEmitter?.active) this.failureEmitter.emit({ error, durationMs });
    if (trial !== undefined) {
      if (!released || this.current !== trial.period) return;
      this.window.record(outcome, now);
      this.reopen('trial-failed', now);
    } else if (generation === this.generation) {
      const reason = this.window.record(outcome, now);
      if (reason !== undefined) this.open(reason, now);
    }
  }

  private reopen(reason: CircuitStateChangeReason, now: number): void {
    this.backoffLevel++;
    this.open(reason, now);
  }

  private open(reason: CircuitStateChangeReason, now: number): void {
    const openMs =
      this.backoffLevel === 0
        ? this.openMs
        : Math.min(this.openMs * this.backoffFactor ** this.backoffLevel, this.backoffMaxMs);
    this.tripCount++;
    this.lastTripAt = now;
    this.transition({ state: 'open', openedAt: now, openUntil: now + openMs }, reason, now);
  }

  private close(reason: CircuitStateChangeReason, now: number): void {
    this.backoffLevel = 0;
    this.window.clear();
    this.transition(CLOSED, reason, now);
  }

  private transition<S extends BreakerState>(next: S, reason: CircuitStateChangeReason, now: number): S {
    const from = this.current.state;
    if (!TRANSITIONS[from][next.state]?.includes(reason)) {
      throw new Error(`circuit '${this.name}': illegal transition ${from} -> ${next.state} (${reason})`);
    }
    this.current = next;
    this.generation++;
    if (this.stateChangeEmitter?.active) {
      this.stateChangeEmitter.emit({ from, to: next.state, reason, at: now });
    }
    return next;
  }

  private restore(saved: CircuitBreakerSnapshot): void {
    if (saved.state === 'open') {
      const openUntil = saved.openUntil ?? 0;
      this.current = { state: 'open', openedAt: saved.openedAt ?? openUntil - this.openMs, openUntil };
    } else if (saved.state === 'half-open') {
      this.current = { state: 'half-open', inFlight: 0, successes: saved.trialSuccesses };
    } else {
      this.current = saved.state === 'isolated' ? ISOLATED : CLOSED;
    }
    this.backoffLevel = saved.backoffLevel;
    this.calls = saved.calls;
    this.successes = saved.successes;
    this.failures = saved.failures;
    this.rejected = saved.rejected;
    this.tripCount = saved.tripCount;
    this.lastTripAt = saved.lastTripAt;
    this.window.restore(saved.window);
  }
}

/** A circuit breaker; see CircuitBreakerOptions for every option and its default. */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options);
}
