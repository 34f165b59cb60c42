// retryBudget(): a ratio budget shared by retry policies (as in Finagle and Envoy) so that retries
// stay a fraction of the traffic and a failing dependency does not face a retry storm.

import { type Clock, systemClock } from './clock.ts';
import { OptionProblems } from './options.ts';

export interface RetryBudgetOptions {
  /** Retries allowed per call made, e.g. 0.2: retries may add 20% to the load. */
  ratio: number;
  /**
   * Retries allowed per second whatever the traffic, so that a quiet service can still retry.
   * Default 10 (Finagle's default).
   */
  minPerSecond?: number;
  /** Length of the sliding window calls and retries are counted over. Default 10_000 ms. */
  windowMs?: number;
  clock?: Clock;
}

export const RETRY_BUDGET_DEFAULTS = { minPerSecond: 10, windowMs: 10_000 } as const;

export interface RetryBudgetStats {
  /** First attempts recorded in the current window. */
  calls: number;
  /** Retries granted in the current window. */
  retries: number;
  /** Retries the window allows in all: ratio × calls + minPerSecond × window seconds. */
  allowance: number;
  /** Retries that could still be granted now. */
  available: number;
  /** Retries refused since the budget was created. */
  refused: number;
}

// Ten buckets: the window slides in tenths, and each call costs O(1) with no timer.
const BUCKETS = 10;
// Guards the comparison against ratio × calls landing a hair under a whole number (0.1 × 30).
const EPSILON = 1e-9;

/**
 * Counts calls and retries over a sliding window. Every retry policy given the budget records each
 * first attempt (`recordCall`) and asks before each retry (`tryWithdraw`); a refused retry is not
 * made. Owns no timer: the window moves when the budget is used.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  private readonly clock: Clock;
  private readonly bucketMs: number;
  private readonly reserve: number;
  private readonly callBuckets: number[] = new Array<number>(BUCKETS).fill(0);
  private readonly retryBuckets: number[] = new Array<number>(BUCKETS).fill(0);
  private calls = 0;
  private retries = 0;
  private refused = 0;
  /** Index of the current bucket since the epoch (time / bucketMs). */
  private bucket: number;

  constructor(options: RetryBudgetOptions) {
    const problems = new OptionProblems();
    if (typeof options !== 'object' || options === null) {
      problems.add(`retryBudget options must be an object, got ${String(options)}`);
      problems.throwIfAny();
    }
    problems.number('retryBudget.ratio', options.ratio, { min: 0 });
    problems.number('retryBudget.minPerSecond', options.minPerSecond, { min: 0, optional: true });
    problems.number('retryBudget.windowMs', options.windowMs, { above: 0, optional: true });
    if (options.windowMs === Number.POSITIVE_INFINITY) problems.add('retryBudget.windowMs must be finite');
    if (options.ratio === Number.POSITIVE_INFINITY) problems.add('retryBudget.ratio must be finite');
    problems.clock('retryBudget.clock', options.clock);
    problems.throwIfAny();

    this.ratio = options.ratio;
    this.minPerSecond = options.minPerSecond ?? RETRY_BUDGET_DEFAULTS.minPerSecond;
    this.windowMs = options.windowMs ?? RETRY_BUDGET_DEFAULTS.windowMs;
    this.clock = options.clock ?? systemClock;
    this.bucketMs = this.windowMs / BUCKETS;
    this.reserve = (this.minPerSecond * this.windowMs) / 1000;
    this.bucket = Math.floor(this.clock.now() / this.bucketMs);
  }

  /** Records a first attempt (a deposit). */
  recordCall(): void {
    this.slide();
    this.callBuckets[slot(this.bucket)]!++;
    this.calls++;
  }

  /** True when a retry would be granted now; takes nothing. */
  canRetry(): boolean {
    this.slide();
    return this.retries + 1 <= this.allowance() + EPSILON;
  }

  /** Takes one retry from the budget: false (and nothing taken) when the budget is spent. */
  tryWithdraw(): boolean {
    if (!this.canRetry()) {
      this.refused++;
      return false;
    }
    this.retryBuckets[slot(this.bucket)]!++;
    this.retries++;
    return true;
  }

  stats(): RetryBudgetStats {
    this.slide();
    const allowance = this.allowance();
    return {
      calls: this.calls,
      retries: this.retries,
      allowance,
      available: Math.max(0, Math.floor(allowance + EPSILON - this.retries)),
      refused: this.refused,
    };
  }

  private allowance(): number {
    return this.ratio * this.calls + this.reserve;
  }

  /** Empties the buckets that fell out of the window since the budget was last used. */
  private slide(): void {
    const current = Math.floor(this.clock.now() / this.bucketMs);
    if (current <= this.bucket) return;
    const expired = Math.min(current - this.bucket, BUCKETS);
    for (let step = 1; step <= expired; step++) {
      const index = slot(this.bucket + step);
      this.calls -= this.callBuckets[index]!;
      this.retries -= this.retryBuckets[index]!;
      this.callBuckets[index] = 0;
      this.retryBuckets[index] = 0;
    }
    this.bucket = current;
  }
}

function slot(bucket: number): number {
  return ((bucket % BUCKETS) + BUCKETS) % BUCKETS;
}

/**
 * A retry budget to share between retry policies: `retryBudget({ ratio: 0.2, minPerSecond: 3 })`
 * lets retries add at most 20% to the calls of the last 10 s, plus 3 retries a second.
 */
export function retryBudget(options: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options);
}
