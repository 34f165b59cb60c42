// The circuit breaker's states, the one table of legal transitions between them, its events and
// statistics, and the slot a half-open trial call holds.

import { neverAbortedSignal } from './abort.ts';
import type { CircuitState } from './breakerOptions.ts';
import type { TripReason } from './breakerWindow.ts';

/**
 * Why the state changed:
 * - closed → open: `'consecutive-failures'`, `'window-failures'`, `'failure-rate'` or `'slow-calls'`
 *   (which trip rule fired);
 * - open → half-open: `'open-elapsed'` (the first call after the open period);
 * - half-open → closed: `'trial-succeeded'`; half-open → open: `'trial-failed'`, or `'trial-slow'`
 *   for a trial that succeeded slower than `slowCall.ms`;
 * - any → isolated: `'isolated'`; any → closed: `'reset'`.
 */
export type CircuitStateChangeReason =
  TripReason | 'open-elapsed' | 'trial-succeeded' | 'trial-failed' | 'trial-slow' | 'isolated' | 'reset';

export interface CircuitStateChangeEvent {
  from: CircuitState;
  to: CircuitState;
  reason: CircuitStateChangeReason;
  /** Clock time (epoch ms). */
  at: number;
}

/**
 * `durationMs` is measured only when someone listened (or the breaker needed the time) as the call
 * started; otherwise it is 0.
 */
export interface CircuitSuccessEvent {
  durationMs: number;
}

/** `error` is the thrown error, or the result `isResultFailure` refused. */
export interface CircuitFailureEvent {
  error: unknown;
  durationMs: number;
}

export interface CircuitRejectedEvent {
  /** Time left OPEN; 0 when rejected HALF-OPEN (trial slots busy) or ISOLATED. */
  retryAfterMs: number;
}

export interface CircuitBreakerStats {
  name: string;
  state: CircuitState;
  /** Calls let through to the operation (those in flight included), since creation or `reset()`. */
  calls: number;
  /** Calls that counted as successes (including errors `isFailure` does not count). */
  successes: number;
  failures: number;
  /** Calls refused OPEN, HALF-OPEN (no trial slot) or ISOLATED. */
  rejected: number;
  /** successes / (successes + failures) since creation or `reset()`, 0–1; 1 before any call. */
  successRate: number;
  /** Failures in the recent window: the trip window, or the last 100 calls for `consecutive`. */
  recentFailures: number;
  /** Times the breaker opened (re-opens after a failed trial included; isolation not). */
  tripCount: number;
  /** When it last opened (epoch ms), or null. */
  lastTripAt: number | null;
  /** Time left OPEN; 0 in every other state (and once the open period has elapsed). */
  retryAfterMs: number;
  /** Share of non-failed calls in the recent window, 0–100; 100 when the window is empty. */
  healthPercent: number;
}

/** @internal */
export interface HalfOpenPeriod {
  readonly state: 'half-open';
  inFlight: number;
  successes: number;
}

/** @internal */
export type BreakerState =
  | { readonly state: 'closed' }
  | { readonly state: 'open'; readonly openedAt: number; readonly openUntil: number }
  | HalfOpenPeriod
  | { readonly state: 'isolated' };

/** @internal */
export const CLOSED: BreakerState = Object.freeze({ state: 'closed' });
/** @internal */
export const ISOLATED: BreakerState = Object.freeze({ state: 'isolated' });

/** @internal The legal transitions, and the reasons each may happen for; anything else is a bug. */
export const TRANSITIONS: {
  readonly [From in CircuitState]: { readonly [To in CircuitState]?: readonly CircuitStateChangeReason[] };
} = {
  closed: {
    open: ['consecutive-failures', 'window-failures', 'failure-rate', 'slow-calls'],
    isolated: ['isolated'],
  },
  open: { 'half-open': ['open-elapsed'], closed: ['reset'], isolated: ['isolated'] },
  'half-open': {
    open: ['trial-failed', 'trial-slow'],
    closed: ['trial-succeeded', 'reset'],
    isolated: ['isolated'],
  },
  isolated: { closed: ['reset'] },
};

/** @internal A half-open trial's slot: freed exactly once, when the call settles or its caller aborts. */
export class Trial {
  readonly period: HalfOpenPeriod;
  private readonly signal: AbortSignal;
  private released = false;

  constructor(period: HalfOpenPeriod, signal: AbortSignal) {
    this.period = period;
    this.signal = signal;
    period.inFlight++;
    // A caller that gives up must not hold the slot until work that ignores its signal ends.
    if (signal !== neverAbortedSignal) signal.addEventListener('abort', this, { once: true });
  }

  handleEvent(): void {
    this.release();
  }

  /** False when the slot was already freed (by an abort): the outcome then decides nothing. */
  release(): boolean {
    if (this.released) return false;
    this.released = true;
    this.period.inFlight--;
    if (this.signal !== neverAbortedSignal) this.signal.removeEventListener('abort', this);
    return true;
  }
}
