// The circuit breaker's options, their defaults, the saved-state format, and their one-time validation.

import { type Clock, systemClock } from './clock.ts';
import { OptionProblems } from './options.ts';

export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

export const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];

/** What makes a closed breaker open. */
export type CircuitTripOptions =
  /** `failures` failed calls in a row. */
  | { kind: 'consecutive'; failures: number }
  /** `failures` failed calls within the last `windowMs` (a call exactly `windowMs` old has left it). */
  | { kind: 'window'; windowMs: number; failures: number }
  /** A failure share of at least `failureRate` among the calls of the last `windowMs`, once there are `minimumCalls`. */
  | { kind: 'rate'; windowMs: number; minimumCalls: number; failureRate: number }
  /** A failure share of at least `failureRate` among the last `size` calls, once there are `minimumCalls`. */
  | { kind: 'count'; size: number; minimumCalls: number; failureRate: number };

export type CircuitTripKind = CircuitTripOptions['kind'];

export interface CircuitBreakerOptions {
  /** Carried by the errors the breaker throws and by its stats. Default `'circuit-breaker'`. */
  name?: string;
  /** Default `{ kind: 'consecutive', failures: 5 }`. */
  trip?: CircuitTripOptions;
  /** Time OPEN before a trial call is allowed. Default 60_000. */
  openMs?: number;
  /**
   * Each failed trial multiplies the next open period by `factor`, up to `maxMs` (never below
   * `openMs`): the n-th re-open in a row lasts `min(openMs × factorⁿ, max(maxMs, openMs))`.
   * Closing the breaker starts again from `openMs`.
   */
  openBackoff?: { factor: number; maxMs: number };
  /** Trial calls: `maxCalls` at once (default 1); `successes` in a row close the breaker (default 1). */
  halfOpen?: { maxCalls?: number; successes?: number };
  /**
   * Calls that take longer than `ms` are slow. The breaker trips (reason `'slow-calls'`) when the
   * slow share of its recent window reaches `rate`, once that window holds enough calls: for
   * `consecutive` the last 100 calls, from `failures` calls on; for `window` the calls of the last
   * `windowMs`, from `failures` calls on; for `rate` and `count` their own window, from
   * `minimumCalls` on. A slow trial call counts as a failed trial (reason `'trial-slow'`).
   */
  slowCall?: { ms: number; rate: number };
  /**
   * Which errors count as failures; default: all. An error that does not count is, for the breaker,
   * a success: the dependency answered (as in cockatiel, Polly and opossum).
   */
  isFailure?: (error: unknown) => boolean;
  /** Results that count as failures (the call still resolves with them). */
  isResultFailure?: (result: unknown) => boolean;
  /** State saved by `toJSON()`, possibly in another process. */
  initialState?: CircuitBreakerSnapshot;
  clock?: Clock;
}

export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  name: 'circuit-breaker',
  trip: Object.freeze({ kind: 'consecutive', failures: 5 }) as CircuitTripOptions,
  openMs: 60_000,
  halfOpen: Object.freeze({ maxCalls: 1, successes: 1 }),
});

/**
 * What `toJSON()` returns and `initialState` takes: plain JSON, restorable in another process
 * (times are the clock's epoch milliseconds). A breaker saved while HALF-OPEN is restored
 * HALF-OPEN with no trial in flight.
 */
export interface CircuitBreakerSnapshot {
  readonly version: 1;
  readonly state: CircuitState;
  /** OPEN: when it opened. */
  readonly openedAt: number | null;
  /** OPEN: when the next call may be a trial. */
  readonly openUntil: number | null;
  /** Failed trials since the breaker last closed: the exponent of `openBackoff`. */
  readonly backoffLevel: number;
  /** HALF-OPEN: trial successes so far. */
  readonly trialSuccesses: number;
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly rejected: number;
  readonly tripCount: number;
  readonly lastTripAt: number | null;
  /** The trip window's contents; dropped on restore when the trip options differ. */
  readonly window: unknown;
}

/** Options after defaults and validation: what the breaker reads at run time. */
export interface ResolvedCircuitBreakerOptions {
  readonly name: string;
  readonly trip: CircuitTripOptions;
  readonly openMs: number;
  readonly backoffFactor: number;
  readonly backoffMaxMs: number;
  readonly halfOpenMaxCalls: number;
  readonly halfOpenSuccesses: number;
  /** `Infinity` when slow calls are not watched. */
  readonly slowCallMs: number;
  readonly slowCallRate: number;
  readonly isFailure: ((error: unknown) => boolean) | undefined;
  readonly isResultFailure: ((result: unknown) => boolean) | undefined;
  readonly initialState: CircuitBreakerSnapshot | undefined;
  readonly clock: Clock;
}

/** Applies defaults and checks every option, throwing one InvalidOptionsError that lists every problem. */
export function resolveCircuitBreakerOptions(
  options: CircuitBreakerOptions = {},
  path = 'circuitBreaker',
): ResolvedCircuitBreakerOptions {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`${path} options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  const name = options.name ?? CIRCUIT_BREAKER_DEFAULTS.name;
  if (typeof name !== 'string' || name.length === 0) {
    problems.add(`${path}.name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  const trip = options.trip ?? CIRCUIT_BREAKER_DEFAULTS.trip;
  checkTrip(problems, `${path}.trip`, trip);
  const openMs = options.openMs ?? CIRCUIT_BREAKER_DEFAULTS.openMs;
  problems.number(`${path}.openMs`, openMs, { min: 0 });

  let backoffFactor = 1;
  let backoffMaxMs = openMs;
  if (isPresent(problems, `${path}.openBackoff`, options.openBackoff)) {
    const { factor, maxMs } = options.openBackoff;
    problems.number(`${path}.openBackoff.factor`, factor, { min: 1 });
    problems.number(`${path}.openBackoff.maxMs`, maxMs, { min: 0 });
    backoffFactor = factor;
    backoffMaxMs = Math.max(maxMs, openMs);
  }

  let halfOpenMaxCalls: number = CIRCUIT_BREAKER_DEFAULTS.halfOpen.maxCalls;
  let halfOpenSuccesses: number = CIRCUIT_BREAKER_DEFAULTS.halfOpen.successes;
  if (isPresent(problems, `${path}.halfOpen`, options.halfOpen)) {
    halfOpenMaxCalls = options.halfOpen.maxCalls ?? halfOpenMaxCalls;
    halfOpenSuccesses = options.halfOpen.successes ?? halfOpenSuccesses;
    problems.number(`${path}.halfOpen.maxCalls`, halfOpenMaxCalls, { min: 1, integer: true });
    problems.number(`${path}.halfOpen.successes`, halfOpenSuccesses, { min: 1, integer: true });
  }

  let slowCallMs = Number.POSITIVE_INFINITY;
  let slowCallRate = Number.POSITIVE_INFINITY;
  if (isPresent(problems, `${path}.slowCall`, options.slowCall)) {
    slowCallMs = options.slowCall.ms;
    slowCallRate = options.slowCall.rate;
    problems.number(`${path}.slowCall.ms`, slowCallMs, { min: 0 });
    problems.number(`${path}.slowCall.rate`, slowCallRate, { above: 0, max: 1 });
  }

  problems.func(`${path}.isFailure`, options.isFailure);
  problems.func(`${path}.isResultFailure`, options.isResultFailure);
  const clock = options.clock ?? systemClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    problems.add(`${path}.clock must be a Clock (an object with now()), got ${String(clock)}`);
  }
  if (options.initialState !== undefined)
    checkSnapshot(problems, `${path}.initialState`, options.initialState);
  problems.throwIfAny();

  return {
    name,
    trip,
    openMs,
    backoffFactor,
    backoffMaxMs,
    halfOpenMaxCalls,
    halfOpenSuccesses,
    slowCallMs,
    slowCallRate,
    isFailure: options.isFailure,
    isResultFailure: options.isResultFailure,
    initialState: options.initialState,
    clock,
  };
}

function isPresent<T>(problems: OptionProblems, path: string, value: T | undefined): value is T {
  if (value === undefined) return false;
  if (typeof value === 'object' && value !== null) return true;
  problems.add(`${path} must be an object, got ${String(value)}`);
  return false;
}

function checkTrip(problems: OptionProblems, path: string, trip: CircuitTripOptions): void {
  if (typeof trip !== 'object' || trip === null) {
    problems.add(`${path} must be an object, got ${String(trip)}`);
    return;
  }
  switch (trip.kind) {
    case 'consecutive':
      problems.number(`${path}.failures`, trip.failures, { min: 1, integer: true });
      return;
    case 'window':
      problems.number(`${path}.windowMs`, trip.windowMs, { above: 0 });
      problems.number(`${path}.failures`, trip.failures, { min: 1, integer: true });
      return;
    case 'rate':
      problems.number(`${path}.windowMs`, trip.windowMs, { above: 0 });
      problems.number(`${path}.minimumCalls`, trip.minimumCalls, { min: 1, integer: true });
      problems.number(`${path}.failureRate`, trip.failureRate, { above: 0, max: 1 });
      return;
    case 'count':
      problems.number(`${path}.size`, trip.size, { min: 1, integer: true });
      problems.number(`${path}.minimumCalls`, trip.minimumCalls, { min: 1, integer: true });
      problems.number(`${path}.failureRate`, trip.failureRate, { above: 0, max: 1 });
      if (
        Number.isInteger(trip.size) &&
        Number.isInteger(trip.minimumCalls) &&
        trip.minimumCalls > trip.size &&
        trip.size >= 1
      ) {
        // The window could never hold enough calls: the breaker would never trip.
        problems.add(`${path}.minimumCalls must be <= ${path}.size (${trip.size}), got ${trip.minimumCalls}`);
      }
      return;
    default:
      problems.oneOf(`${path}.kind`, (trip as { kind: unknown }).kind, [
        'consecutive',
        'window',
        'rate',
        'count',
      ]);
  }
}

function checkSnapshot(problems: OptionProblems, path: string, snapshot: CircuitBreakerSnapshot): void {
  if (typeof snapshot !== 'object' || snapshot === null) {
    problems.add(`${path} must be an object saved by toJSON(), got ${String(snapshot)}`);
    return;
  }
  problems.oneOf(`${path}.version`, snapshot.version, [1]);
  problems.oneOf(`${path}.state`, snapshot.state, CIRCUIT_STATES);
  for (const key of [
    'calls',
    'successes',
    'failures',
    'rejected',
    'tripCount',
    'backoffLevel',
    'trialSuccesses',
  ] as const) {
    problems.number(`${path}.${key}`, snapshot[key], { min: 0, integer: true });
  }
  for (const key of ['openedAt', 'lastTripAt'] as const) {
    if (snapshot[key] !== null) problems.number(`${path}.${key}`, snapshot[key]);
  }
  if (snapshot.state === 'open' || snapshot.openUntil !== null) {
    problems.number(`${path}.openUntil`, snapshot.openUntil);
  }
}
