// Backoff schedules for retry: how long to wait before each retry (constant, linear, exponential with
// jitter, or a function), plus their validation and `backoffDelays` to print a schedule.

import { OptionProblems } from './options.ts';

export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

export interface ConstantBackoff {
  kind: 'constant';
  delayMs: number;
}

export interface LinearBackoff {
  kind: 'linear';
  baseMs: number;
  /** Added per retry; default `baseMs`. */
  stepMs?: number;
  /** Default `Infinity`. */
  maxMs?: number;
}

export interface ExponentialBackoff {
  kind: 'exponential';
  baseMs: number;
  /** Default 2. */
  factor?: number;
  /** Default 30_000. */
  maxMs?: number;
  /** Default `'full'`. */
  jitter?: Jitter;
}

/**
 * A custom schedule. `attempt` is the number of the attempt about to be made (1 for the first retry,
 * as in `ctx.attempt` and `onRetry`); `previousDelayMs` is the previous value this schedule returned
 * (0 before the first retry); `error` is `undefined` for a result rejected by `retryOnResult` and in
 * `backoffDelays`. Negative or NaN results mean 0.
 */
export type BackoffFunction = (attempt: number, error: unknown, previousDelayMs: number) => number;

export type Backoff = ConstantBackoff | LinearBackoff | ExponentialBackoff | BackoffFunction;

export const LINEAR_BACKOFF_DEFAULTS = { maxMs: Number.POSITIVE_INFINITY } as const;
export const EXPONENTIAL_BACKOFF_DEFAULTS = { factor: 2, maxMs: 30_000, jitter: 'full' } as const;
/** retry()'s schedule when none is given: 100 ms, doubling, capped at 30 s, full jitter. */
export const DEFAULT_BACKOFF: Readonly<ExponentialBackoff> = Object.freeze({
  kind: 'exponential',
  baseMs: 100,
  ...EXPONENTIAL_BACKOFF_DEFAULTS,
});

/** The longest wait a Node.js timer honours; longer ones would fire after 1 ms. */
export const MAX_DELAY_MS = 2_147_483_647;

const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated'];

/**
 * The delay before retry number `retry` (0 for the first retry). `previousDelayMs` is what this
 * function returned for the previous retry (decorrelated jitter and functions build on it).
 */
export function backoffDelay(
  backoff: Backoff,
  retry: number,
  error: unknown,
  previousDelayMs: number,
  random: () => number,
): number {
  if (typeof backoff === 'function') return clampDelay(backoff(retry + 1, error, previousDelayMs));
  switch (backoff.kind) {
    case 'constant':
      return clampDelay(backoff.delayMs);
    case 'linear': {
      const maxMs = backoff.maxMs ?? LINEAR_BACKOFF_DEFAULTS.maxMs;
      return clampDelay(Math.min(backoff.baseMs + (backoff.stepMs ?? backoff.baseMs) * retry, maxMs));
    }
    case 'exponential':
      return clampDelay(exponentialDelay(backoff, retry, previousDelayMs, random));
  }
}

function exponentialDelay(
  backoff: ExponentialBackoff,
  retry: number,
  previousDelayMs: number,
  random: () => number,
): number {
  const baseMs = backoff.baseMs;
  const maxMs = backoff.maxMs ?? EXPONENTIAL_BACKOFF_DEFAULTS.maxMs;
  const jitter = backoff.jitter ?? EXPONENTIAL_BACKOFF_DEFAULTS.jitter;
  if (jitter === 'decorrelated') {
    // AWS's "decorrelated jitter": each wait is drawn from [base, 3 × previous wait]. The lower end
    // stays at base even if the previous wait was shorter (e.g. after a schedule switch by a rule).
    const previous = retry === 0 ? baseMs : previousDelayMs;
    const upper = Math.max(baseMs, previous * 3);
    return Math.min(maxMs, baseMs + random() * (upper - baseMs));
  }
  // 0 × Infinity is NaN: a zero base stays zero however far the exponent runs.
  const grown = baseMs === 0 ? 0 : baseMs * (backoff.factor ?? EXPONENTIAL_BACKOFF_DEFAULTS.factor) ** retry;
  const capped = Math.min(grown, maxMs);
  if (jitter === 'none') return capped;
  if (jitter === 'full') return random() * capped;
  return capped / 2 + random() * (capped / 2);
}

function clampDelay(ms: number): number {
  // `ms > 0` is false for NaN too.
  return ms > 0 ? Math.min(ms, MAX_DELAY_MS) : 0;
}

/**
 * The first `count` delays of a schedule, as a retry policy would wait them for errors that carry no
 * `retryAfterMs` (for documentation and tests). Validates `backoff` first.
 */
export function backoffDelays(backoff: Backoff, count: number, random: () => number = Math.random): number[] {
  const problems = new OptionProblems();
  checkBackoff(problems, 'backoff', backoff);
  problems.number('count', count, { min: 0, integer: true });
  if (count === Number.POSITIVE_INFINITY) problems.add('count must be finite, got Infinity');
  problems.func('random', random);
  problems.throwIfAny();
  const delays: number[] = [];
  let previous = 0;
  for (let retry = 0; retry < count; retry++) {
    previous = backoffDelay(backoff, retry, undefined, previous, random);
    delays.push(previous);
  }
  return delays;
}

/** Adds every problem of a backoff option to `problems`, each with its path (`retry.backoff.baseMs`). */
export function checkBackoff(problems: OptionProblems, path: string, backoff: unknown): void {
  if (typeof backoff === 'function') return;
  if (typeof backoff !== 'object' || backoff === null) {
    problems.add(`${path} must be a backoff object or a function, got ${String(backoff)}`);
    return;
  }
  const value = backoff as Record<string, unknown>;
  switch (value.kind) {
    case 'constant':
      problems.number(`${path}.delayMs`, value.delayMs, { min: 0 });
      return;
    case 'linear':
      problems.number(`${path}.baseMs`, value.baseMs, { min: 0 });
      problems.number(`${path}.stepMs`, value.stepMs, { min: 0, optional: true });
      problems.number(`${path}.maxMs`, value.maxMs, { min: 0, optional: true });
      return;
    case 'exponential':
      problems.number(`${path}.baseMs`, value.baseMs, { min: 0 });
      problems.number(`${path}.factor`, value.factor, { min: 1, optional: true });
      problems.number(`${path}.maxMs`, value.maxMs, { min: 0, optional: true });
      problems.oneOf(`${path}.jitter`, value.jitter, JITTERS, true);
      return;
    default:
      problems.oneOf(`${path}.kind`, value.kind, ['constant', 'linear', 'exponential']);
  }
}
