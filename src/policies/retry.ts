// retry(): runs an operation again after a failure, waiting on a backoff schedule between attempts,
// within a retry count, an optional time budget and an optional shared ratio budget.

import { abortableDelay, abortReason } from './abort.ts';
import { type Backoff, backoffDelay, checkBackoff, DEFAULT_BACKOFF, MAX_DELAY_MS } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';
import { RetryBudgetExceededError, retryAfterOf } from './errors.ts';
import { Emitter } from './events.ts';
import { OptionProblems } from './options.ts';
import { isPermanent } from './permanent.ts';
import { type ComposablePolicy, type ExecuteContext, executeRoot, type Operation, run } from './policy.ts';
import { RetryBudget } from './retryBudget.ts';

export interface RetryRule {
  /** Whether this rule governs the error; the first rule that matches wins. */
  when: (error: unknown) => boolean;
  /** Retries allowed while this error class is failing; default the policy's `maxRetries`. */
  maxRetries?: number;
  /** Default the policy's `backoff`. */
  backoff?: Backoff;
}

export interface RetryOptions {
  /** Default 3: up to 4 attempts. */
  maxRetries?: number;
  /** Default `DEFAULT_BACKOFF`: exponential from 100 ms, factor 2, capped at 30 s, full jitter. */
  backoff?: Backoff;
  /**
   * Total time the policy may spend waiting between attempts. A retry whose wait would go over what
   * is left is not made: the call rejects with `RetryBudgetExceededError` (carrying the last error,
   * or the last result rejected by `retryOnResult`).
   */
  budgetMs?: number;
  /** Shared ratio budget: a retry it refuses is not made and the last error is rethrown unchanged. */
  budget?: RetryBudget;
  /**
   * Which errors are retried; `attempt` is the attempt that failed (0 for the first try). Default:
   * every error. Errors marked by `permanent()` are never retried, whatever this says.
   */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /** Results to retry as if they had failed; when retries run out the last result is returned. */
  retryOnResult?: (result: unknown) => boolean;
  /** Per error class retry limit and schedule: the first rule whose `when` matches applies. */
  rules?: RetryRule[];
  /** Default `Math.random`. */
  random?: () => number;
  /** Default `systemClock`. */
  clock?: Clock;
}

export const RETRY_DEFAULTS = { maxRetries: 3, backoff: DEFAULT_BACKOFF } as const;

export interface RetryEvent {
  /** The attempt about to be made: 1 for the first retry (its `ctx.attempt`). */
  attempt: number;
  /** The failure being retried; `undefined` when retrying a result. */
  error: unknown;
  /** The wait before that attempt, after `retryAfterMs` is honoured. */
  delayMs: number;
  /** Present when the retry is for a result rejected by `retryOnResult`. */
  result?: unknown;
}

export interface RetryGiveUpEvent {
  /** Attempts made. */
  attempts: number;
  /** What the call rejects with; `undefined` when it resolves with a rejected result. */
  error: unknown;
  /** Present when the policy gave up on a result rejected by `retryOnResult` (and returns it). */
  result?: unknown;
}

export interface RetrySuccessEvent {
  /** Attempts made, the successful one included. */
  attempts: number;
}

interface Schedule {
  readonly maxRetries: number;
  readonly backoff: Backoff;
}

interface Rule extends Schedule {
  readonly when: (error: unknown) => boolean;
}

export class RetryPolicy implements ComposablePolicy {
  readonly maxRetries: number;
  readonly backoff: Backoff;
  readonly budgetMs: number | undefined;
  readonly budget: RetryBudget | undefined;
  private readonly retryOn: ((error: unknown, attempt: number) => boolean) | undefined;
  private readonly retryOnResult: ((result: unknown) => boolean) | undefined;
  private readonly rules: readonly Rule[];
  private readonly random: () => number;
  private readonly clock: Clock;

  private readonly retryEmitter = new Emitter<RetryEvent>();
  private readonly giveUpEmitter = new Emitter<RetryGiveUpEvent>();
  private readonly successEmitter = new Emitter<RetrySuccessEvent>();
  /** Before each retry's wait. */
  readonly onRetry = this.retryEmitter.subscribe;
  /** When the policy stops without a success: the call rejects (or returns a rejected result). */
  readonly onGiveUp = this.giveUpEmitter.subscribe;
  readonly onSuccess = this.successEmitter.subscribe;

  constructor(options: RetryOptions = {}) {
    validate(options);
    this.maxRetries = options.maxRetries ?? RETRY_DEFAULTS.maxRetries;
    this.backoff = options.backoff ?? RETRY_DEFAULTS.backoff;
    this.budgetMs = options.budgetMs;
    this.budget = options.budget;
    this.retryOn = options.retryOn;
    this.retryOnResult = options.retryOnResult;
    this.rules = (options.rules ?? []).map((rule) => ({
      when: rule.when,
      maxRetries: rule.maxRetries ?? this.maxRetries,
      backoff: rule.backoff ?? this.backoff,
    }));
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  // The first attempt is the hot path: no allocation when the context already says attempt 0, no
  // clock read or timer; everything else lives in `retryAfterFirst`.
  async [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    if (this.budget !== undefined) this.budget.recordCall();
    let result: T;
    try {
      result = await fn(ctx.attempt === 0 ? ctx : { signal: ctx.signal, attempt: 0 });
    } catch (error) {
      return this.retryAfterFirst(fn, ctx.signal, true, error, undefined);
    }
    if (this.retryOnResult !== undefined && this.resultNeedsRetry(result, 1)) {
      return this.retryAfterFirst(fn, ctx.signal, false, undefined, result);
    }
    if (this.successEmitter.active) this.successEmitter.emit({ attempts: 1 });
    return result;
  }

  private async retryAfterFirst<T>(
    fn: Operation<T>,
    signal: AbortSignal,
    failed: boolean,
    error: unknown,
    result: T | undefined,
  ): Promise<T> {
    let attempts = 1;
    let waitedMs = 0;
    let previousDelayMs = 0;
    for (;;) {
      const retries = attempts - 1;
      // A throwing retryOn, rule or backoff function ends the call with its error.
      let schedule: Schedule | undefined;
      try {
        schedule = failed ? this.scheduleFor(error, retries) : this;
      } catch (callbackError) {
        return this.giveUp(attempts, callbackError);
      }
      if (schedule === undefined || retries >= schedule.maxRetries) {
        return failed ? this.giveUp(attempts, error) : this.giveUpWithResult(attempts, result as T);
      }
      if (signal.aborted) return this.giveUp(attempts, abortReason(signal));

      let scheduledMs: number;
      try {
        scheduledMs = backoffDelay(schedule.backoff, retries, error, previousDelayMs, this.random);
      } catch (callbackError) {
        return this.giveUp(attempts, callbackError);
      }

      const retryAfterMs = failed ? retryAfterOf(error) : undefined;
      const delayMs =
        retryAfterMs !== undefined && retryAfterMs > scheduledMs
          ? Math.min(retryAfterMs, MAX_DELAY_MS)
          : scheduledMs;
      if (this.budgetMs !== undefined && waitedMs + delayMs > this.budgetMs) {
        return this.giveUp(attempts, new RetryBudgetExceededError(this.budgetMs, failed ? error : result));
      }
      if (this.budget !== undefined && !this.budget.tryWithdraw()) {
        return failed ? this.giveUp(attempts, error) : this.giveUpWithResult(attempts, result as T);
      }

      if (this.retryEmitter.active) {
        this.retryEmitter.emit(
          failed
            ? { attempt: attempts, error, delayMs }
            : { attempt: attempts, error: undefined, delayMs, result },
        );
      }
      if (delayMs > 0) {
        try {
          await abortableDelay(delayMs, signal, this.clock);
        } catch (reason) {
          return this.giveUp(attempts, reason);
        }
      } else if (signal.aborted) {
        // A retry listener may have aborted; without a wait nothing else would notice.
        return this.giveUp(attempts, abortReason(signal));
      }
      waitedMs += delayMs;
      previousDelayMs = scheduledMs;

      const attempt = attempts;
      attempts++;
      try {
        result = await fn({ signal, attempt });
        failed = false;
        error = undefined;
      } catch (thrown) {
        failed = true;
        error = thrown;
        continue;
      }
      if (this.retryOnResult === undefined || !this.resultNeedsRetry(result, attempts)) {
        if (this.successEmitter.active) this.successEmitter.emit({ attempts });
        return result;
      }
    }
  }

  /** The limit and schedule for `error`, or undefined when it is not to be retried at all. */
  private scheduleFor(error: unknown, attempt: number): Schedule | undefined {
    if (isPermanent(error)) return undefined;
    if (this.retryOn !== undefined && !this.retryOn(error, attempt)) return undefined;
    for (const rule of this.rules) if (rule.when(error)) return rule;
    return this;
  }

  /** Asks retryOnResult; if it throws, the call gives up with its error. */
  private resultNeedsRetry(result: unknown, attempts: number): boolean {
    try {
      return this.retryOnResult!(result);
    } catch (callbackError) {
      return this.giveUp(attempts, callbackError);
    }
  }

  private giveUp(attempts: number, error: unknown): never {
    if (this.giveUpEmitter.active) this.giveUpEmitter.emit({ attempts, error });
    throw error;
  }

  private giveUpWithResult<T>(attempts: number, result: T): T {
    if (this.giveUpEmitter.active) this.giveUpEmitter.emit({ attempts, error: undefined, result });
    return result;
  }
}

function validate(options: RetryOptions): void {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`retry options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  problems.number('retry.maxRetries', options.maxRetries, { min: 0, integer: true, optional: true });
  if (options.backoff !== undefined) checkBackoff(problems, 'retry.backoff', options.backoff);
  problems.number('retry.budgetMs', options.budgetMs, { min: 0, optional: true });
  if (options.budget !== undefined && !(options.budget instanceof RetryBudget)) {
    const budget = options.budget as Partial<RetryBudget> | null;
    // Accept a budget from another copy of this module: what matters is the two methods used.
    if (typeof budget?.recordCall !== 'function' || typeof budget?.tryWithdraw !== 'function') {
      problems.add('retry.budget must be a RetryBudget (from retryBudget())');
    }
  }
  problems.func('retry.retryOn', options.retryOn);
  problems.func('retry.retryOnResult', options.retryOnResult);
  problems.func('retry.random', options.random);
  problems.clock('retry.clock', options.clock);
  if (options.rules !== undefined) {
    if (!Array.isArray(options.rules)) {
      problems.add(`retry.rules must be an array, got ${String(options.rules)}`);
    } else {
      options.rules.forEach((rule: RetryRule | null | undefined, index) => {
        const path = `retry.rules[${index}]`;
        if (typeof rule !== 'object' || rule === null) {
          problems.add(`${path} must be an object, got ${String(rule)}`);
          return;
        }
        problems.func(`${path}.when`, rule.when, false);
        problems.number(`${path}.maxRetries`, rule.maxRetries, { min: 0, integer: true, optional: true });
        if (rule.backoff !== undefined) checkBackoff(problems, `${path}.backoff`, rule.backoff);
      });
    }
  }
  problems.throwIfAny();
}

/**
 * A retry policy: `retry({ maxRetries: 5, backoff: { kind: 'exponential', baseMs: 200 } })`.
 * Each attempt gets `ctx.attempt` (0 first, 1 for the first retry); a wait honours an error's
 * `retryAfterMs` and ends at once when the caller aborts.
 */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
