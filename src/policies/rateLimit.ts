// rateLimit(): admits at most `max` calls in any `perMs` window, for every one of several limits at once.

import { type Clock, systemClock } from './clock.ts';
import { RateLimitedError } from './errors.ts';
import { Emitter } from './events.ts';
import { OptionProblems } from './options.ts';
import {
  type ComposablePolicy,
  type ExecuteContext,
  executeRoot,
  invoke,
  type Operation,
  run,
} from './policy.ts';

export interface RateLimit {
  /** Calls admitted in any window of `perMs` (an integer >= 1). */
  max: number;
  perMs: number;
}

export interface RateLimitOptions {
  /** Every limit applies: a call is admitted only if each of them has room. */
  limits: RateLimit[];
  /**
   * Largest `max` tracked exactly, with one remembered admission time per token (8 bytes each).
   * A larger limit counts admissions in fixed slots of its window instead: constant memory, still
   * never more than `max` per window, but it may refuse up to 2/128 of `perMs` early.
   */
  exactUpTo?: number;
  clock?: Clock;
}

export const RATE_LIMIT_DEFAULTS = Object.freeze({ exactUpTo: 4096 });

export interface RateLimitStats {
  /** Calls and `tryAcquire`s that got a token. */
  admitted: number;
  /** Calls and `tryAcquire`s refused. */
  rejected: number;
  /** Time until every limit can give a token (0 if one can be taken now). */
  retryAfterMs: number;
  limits: Array<{ max: number; perMs: number; available: number }>;
}

export interface RateLimitedEvent {
  retryAfterMs: number;
}

/** One limit's memory of recent admissions. */
interface AdmissionWindow {
  readonly max: number;
  readonly perMs: number;
  /** 0 when a token can be taken at `now`, otherwise how long until one can. */
  waitMs(now: number): number;
  /** Records an admission at `now`; only after `waitMs(now)` returned 0. */
  take(now: number): void;
  available(now: number): number;
}

/**
 * Exact: keeps the times of the last `max` admissions in a ring and admits a call only if the
 * oldest of them is at least `perMs` old. So any `max + 1` consecutive admissions span at least
 * `perMs`: no window [t, t + perMs) ever holds more than `max`. A continuously refilled token
 * bucket does not guarantee that (a full bucket drained at t lets refilled tokens through before
 * t + perMs). O(1) per call, `max` numbers of memory.
 */
class AdmissionRing implements AdmissionWindow {
  readonly max: number;
  readonly perMs: number;
  private readonly times: Float64Array;
  /** Where the next admission is written: once the ring is full, the oldest admission. */
  private cursor = 0;
  private filled = 0;

  constructor(max: number, perMs: number) {
    this.max = max;
    this.perMs = perMs;
    this.times = new Float64Array(max);
  }

  waitMs(now: number): number {
    if (this.filled < this.max) return 0;
    // Compared as an elapsed time, the way the invariant is stated, so rounding cannot break it.
    const elapsed = now - this.times[this.cursor]!;
    return elapsed >= this.perMs ? 0 : this.perMs - elapsed;
  }

  take(now: number): void {
    this.times[this.cursor] = now;
    this.cursor = this.cursor + 1 === this.max ? 0 : this.cursor + 1;
    if (this.filled < this.max) this.filled++;
  }

  available(now: number): number {
    let free = this.max - this.filled;
    // Entries from the oldest on, while they have aged out of the window.
    for (let seen = 0; seen < this.filled; seen++) {
      const index = (this.cursor + seen + this.max - this.filled) % this.max;
      if (now - this.times[index]! < this.perMs) break;
      free++;
    }
    return free;
  }
}

const SLOTS_PER_WINDOW = 128;

/**
 * Bounded, for large `max`: counts admissions per slot of `perMs / 128` and admits a call while the
 * slots overlapping [now - perMs, now] hold fewer than `max`. Counting the partly elapsed oldest
 * slot in full (and one extra slot, against rounding at the edge) can only refuse early, never
 * admit more than `max` in a window.
 */
class SlottedWindow implements AdmissionWindow {
  readonly max: number;
  readonly perMs: number;
  private readonly slotMs: number;
  /** Counts by slot number modulo the length: the current slot, 128 before it, and the guard slot. */
  private readonly counts = new Float64Array(SLOTS_PER_WINDOW + 2);
  private newest = Number.NEGATIVE_INFINITY;
  private total = 0;

  constructor(max: number, perMs: number) {
    this.max = max;
    this.perMs = perMs;
    this.slotMs = perMs / SLOTS_PER_WINDOW;
  }

  waitMs(now: number): number {
    this.advance(now);
    if (this.total < this.max) return 0;
    const length = this.counts.length;
    let remaining = this.total;
    for (let slot = this.newest - length + 1; slot <= this.newest; slot++) {
      remaining -= this.counts[this.indexOf(slot)]!;
      // That slot stops counting once the current slot number reaches slot + length. Kept above 0
      // against rounding, since 0 would mean "take it now".
      if (remaining < this.max) return Math.max((slot + length) * this.slotMs - now, Number.MIN_VALUE);
    }
    return this.perMs;
  }

  take(now: number): void {
    this.advance(now);
    this.counts[this.indexOf(this.newest)]!++;
    this.total++;
  }

  available(now: number): number {
    this.advance(now);
    return Math.max(0, this.max - this.total);
  }

  private advance(now: number): void {
    const slot = Math.floor(now / this.slotMs);
    // A clock that steps back keeps counting in the newest slot: it can only refuse more.
    if (slot <= this.newest) return;
    if (slot - this.newest >= this.counts.length) {
      this.counts.fill(0);
      this.total = 0;
    } else {
      for (let expired = this.newest + 1; expired <= slot; expired++) {
        const index = this.indexOf(expired);
        this.total -= this.counts[index]!;
        this.counts[index] = 0;
      }
    }
    this.newest = slot;
  }

  private indexOf(slot: number): number {
    const length = this.counts.length;
    return ((slot % length) + length) % length;
  }
}

export class RateLimiter implements ComposablePolicy {
  readonly limits: readonly Readonly<RateLimit>[];
  private readonly windows: AdmissionWindow[];
  private readonly clock: Clock;
  private admitted = 0;
  private rejected = 0;

  private readonly rejectedEmitter = new Emitter<RateLimitedEvent>();
  /** A call or `tryAcquire` was refused. */
  readonly onRejected = this.rejectedEmitter.subscribe;

  constructor(options: RateLimitOptions) {
    const problems = new OptionProblems();
    const limits: unknown = options?.limits;
    if (!Array.isArray(limits) || limits.length === 0) {
      problems.add(`rateLimit.limits must be a non-empty array, got ${describe(limits)}`);
    } else {
      limits.forEach((limit: Partial<RateLimit> | undefined, index) => {
        problems.number(`rateLimit.limits[${index}].max`, limit?.max, { integer: true, min: 1 });
        problems.number(`rateLimit.limits[${index}].perMs`, limit?.perMs, { above: 0 });
        if (limit?.max === Number.POSITIVE_INFINITY || limit?.perMs === Number.POSITIVE_INFINITY) {
          problems.add(`rateLimit.limits[${index}] must be finite`);
        }
      });
    }
    problems.number('rateLimit.exactUpTo', options?.exactUpTo, { integer: true, min: 0, optional: true });
    problems.throwIfAny();

    const exactUpTo = options.exactUpTo ?? RATE_LIMIT_DEFAULTS.exactUpTo;
    this.limits = Object.freeze(options.limits.map(({ max, perMs }) => Object.freeze({ max, perMs })));
    this.windows = this.limits.map(({ max, perMs }) =>
      max <= exactUpTo ? new AdmissionRing(max, perMs) : new SlottedWindow(max, perMs),
    );
    this.clock = options.clock ?? systemClock;
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    const waitMs = this.acquire(this.clock.now());
    if (waitMs === 0) return invoke(fn, ctx);
    return Promise.reject(new RateLimitedError(waitMs));
  }

  /** Takes a token from every limit without making a call; false (and nothing taken) if any has none. */
  tryAcquire(): boolean {
    return this.acquire(this.clock.now()) === 0;
  }

  stats(): RateLimitStats {
    const now = this.clock.now();
    return {
      admitted: this.admitted,
      rejected: this.rejected,
      retryAfterMs: this.waitMs(now),
      limits: this.windows.map((window) => ({
        max: window.max,
        perMs: window.perMs,
        available: window.available(now),
      })),
    };
  }

  /** Takes one token from every limit, or none: returns 0, or the wait before all can give one. */
  private acquire(now: number): number {
    const waitMs = this.waitMs(now);
    if (waitMs > 0) {
      this.rejected++;
      if (this.rejectedEmitter.active) this.rejectedEmitter.emit({ retryAfterMs: waitMs });
      return waitMs;
    }
    const windows = this.windows;
    for (let index = 0; index < windows.length; index++) windows[index]!.take(now);
    this.admitted++;
    return 0;
  }

  private waitMs(now: number): number {
    const windows = this.windows;
    let longest = 0;
    for (let index = 0; index < windows.length; index++) {
      const waitMs = windows[index]!.waitMs(now);
      if (waitMs > longest) longest = waitMs;
    }
    return longest;
  }
}

/** `rateLimit({ limits: [{ max: 10, perMs: 1_000 }, { max: 100, perMs: 60_000 }] })`. */
export function rateLimit(options: RateLimitOptions): RateLimiter {
  return new RateLimiter(options);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'an empty array' : String(value);
}
