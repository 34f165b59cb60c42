// The errors rebound's policies throw: one base class with a stable `code`, and guards that work
// across duplicated module copies (they compare codes, not prototypes).

export type ReboundErrorCode =
  | 'CIRCUIT_OPEN'
  | 'CIRCUIT_ISOLATED'
  | 'TIMEOUT'
  | 'BULKHEAD_FULL'
  | 'RATE_LIMITED'
  | 'RETRY_BUDGET_EXCEEDED'
  | (string & {});

/** Marks rebound's errors; registered, so copies of this module recognise each other's errors. */
const reboundErrorBrand = Symbol.for('rebound.error');

export class ReboundError extends Error {
  readonly code: ReboundErrorCode;

  constructor(code: ReboundErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class BrokenCircuitError extends ReboundError {
  readonly circuit: string;
  readonly retryAfterMs: number;

  constructor(circuit: string, retryAfterMs: number, message?: string) {
    super(
      'CIRCUIT_OPEN',
      message ?? `circuit '${circuit}' is open; retry after ${Math.ceil(retryAfterMs)} ms`,
    );
    this.circuit = circuit;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Thrown while a breaker is held open by `isolate()`: no trial call is made until `reset()`. */
export class IsolatedCircuitError extends ReboundError {
  readonly circuit: string;

  constructor(circuit: string) {
    super('CIRCUIT_ISOLATED', `circuit '${circuit}' is isolated`);
    this.circuit = circuit;
  }
}

export class TimeoutError extends ReboundError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super('TIMEOUT', `operation timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export class BulkheadRejectedError extends ReboundError {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /** 'full': no slot and no room in the queue; 'queue-timeout': waited `queueTimeoutMs` in the queue. */
  readonly reason: 'full' | 'queue-timeout';

  constructor(maxConcurrent: number, maxQueue: number, reason: 'full' | 'queue-timeout' = 'full') {
    super(
      'BULKHEAD_FULL',
      reason === 'full'
        ? `bulkhead full: ${maxConcurrent} running, ${maxQueue} queued`
        : `bulkhead queue wait timed out (${maxConcurrent} running)`,
    );
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
    this.reason = reason;
  }
}

export class RateLimitedError extends ReboundError {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super('RATE_LIMITED', `rate limit exceeded; retry after ${Math.ceil(retryAfterMs)} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}

export class RetryBudgetExceededError extends ReboundError {
  readonly lastError: unknown;

  constructor(budgetMs: number, lastError: unknown) {
    super('RETRY_BUDGET_EXCEEDED', `retry budget of ${budgetMs} ms exceeded`, { cause: lastError });
    this.lastError = lastError;
  }
}

/**
 * Whether `error` carries this `code`: what every `isX` guard of rebound checks, so that a guard
 * recognises an error made by another copy of the module, where `instanceof` would not.
 */
export function hasErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

Object.defineProperty(ReboundError.prototype, reboundErrorBrand, { value: true });

/** True for errors rebound made (any subclass of ReboundError), not for any error with a `code`. */
export function isReboundError(error: unknown): error is ReboundError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [reboundErrorBrand]?: unknown })[reboundErrorBrand] === true
  );
}
export const isBrokenCircuitError = (error: unknown): error is BrokenCircuitError =>
  hasErrorCode(error, 'CIRCUIT_OPEN');
export const isIsolatedCircuitError = (error: unknown): error is IsolatedCircuitError =>
  hasErrorCode(error, 'CIRCUIT_ISOLATED');
export const isTimeoutError = (error: unknown): error is TimeoutError => hasErrorCode(error, 'TIMEOUT');
export const isBulkheadRejectedError = (error: unknown): error is BulkheadRejectedError =>
  hasErrorCode(error, 'BULKHEAD_FULL');
export const isRateLimitedError = (error: unknown): error is RateLimitedError =>
  hasErrorCode(error, 'RATE_LIMITED');
export const isRetryBudgetExceededError = (error: unknown): error is RetryBudgetExceededError =>
  hasErrorCode(error, 'RETRY_BUDGET_EXCEEDED');

/**
 * The time an error asks callers to wait before trying again: `retryAfterMs` on rebound's own
 * errors, or on any error that carries it (an HTTP client can set it from a 429/503 `Retry-After`).
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/** One message that lists every problem found in a policy's options ("retry.maxRetries must be >= 0, got -1"). */
export class InvalidOptionsError extends ReboundError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('INVALID_OPTIONS', `invalid options:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}
