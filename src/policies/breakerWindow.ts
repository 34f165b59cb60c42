// The circuit breaker's trip windows: what each trip kind remembers of recent calls, and when it trips.

import { FAILED, OutcomeRing, TimeBuckets } from './breakerCounts.ts';
import type { CircuitTripOptions } from './breakerOptions.ts';

export { FAILED, SLOW } from './breakerCounts.ts';

export type TripReason = 'consecutive-failures' | 'window-failures' | 'failure-rate' | 'slow-calls';

/**
 * The calls the `consecutive` kind keeps for `healthPercent`, `recentFailures` and slow-call
 * shares: its trip rule needs no window, so it keeps the last 100 outcomes (one byte each).
 */
export const RECENT_CALLS = 100;

export interface TripWindow {
  /** True when recording needs the current time. */
  readonly timed: boolean;
  /** Records one outcome (FAILED and SLOW bits); returns why the breaker must trip, if it must. */
  record(outcome: number, now: number): TripReason | undefined;
  recentCalls(now: number): number;
  recentFailures(now: number): number;
  clear(): void;
  toJSON(): unknown;
  /** Takes back what toJSON() saved; false (and empty) when it was saved under other trip options. */
  restore(saved: unknown): boolean;
}

export function createTripWindow(trip: CircuitTripOptions, slowCallRate: number): TripWindow {
  switch (trip.kind) {
    case 'consecutive':
      return new ConsecutiveWindow(trip.failures, slowCallRate);
    case 'window':
      return new FailuresInTimeWindow(trip.windowMs, trip.failures, slowCallRate);
    case 'rate':
      return new RateInTimeWindow(trip.windowMs, trip.minimumCalls, trip.failureRate, slowCallRate);
    case 'count':
      return new RateInCountWindow(trip.size, trip.minimumCalls, trip.failureRate, slowCallRate);
  }
}

/** Shared rule of every kind for slow calls and for the failure share of the rate kinds. */
function shareReached(part: number, calls: number, minimumCalls: number, rate: number): boolean {
  // Division, not `part >= rate × calls`: 3 / 10 is exactly the double nearest 0.3, 0.3 × 10 is not 3.
  return part > 0 && calls >= minimumCalls && part / calls >= rate;
}

class ConsecutiveWindow implements TripWindow {
  readonly timed = false;
  private readonly failures: number;
  private readonly slowCallRate: number;
  private consecutive = 0;
  private readonly recent = new OutcomeRing(RECENT_CALLS);

  constructor(failures: number, slowCallRate: number) {
    this.failures = failures;
    this.slowCallRate = slowCallRate;
  }

  record(outcome: number): TripReason | undefined {
    const recent = this.recent;
    recent.push(outcome);
    if (outcome & FAILED) {
      if (++this.consecutive >= this.failures) return 'consecutive-failures';
    } else {
      this.consecutive = 0;
      if (recent.slow === 0) return undefined;
    }
    return shareReached(recent.slow, recent.calls, this.failures, this.slowCallRate)
      ? 'slow-calls'
      : undefined;
  }

  recentCalls(): number {
    return this.recent.calls;
  }

  recentFailures(): number {
    return this.recent.failures;
  }

  clear(): void {
    this.consecutive = 0;
    this.recent.clear();
  }

  toJSON(): unknown {
    return { kind: 'consecutive', consecutive: this.consecutive, recent: this.recent.toJSON() };
  }

  restore(saved: unknown): boolean {
    this.clear();
    const value = saved as { kind?: unknown; consecutive?: unknown; recent?: unknown } | null;
    if (value?.kind !== 'consecutive' || typeof value.consecutive !== 'number') return false;
    if (!this.recent.restore(value.recent)) return false;
    this.consecutive = value.consecutive;
    return true;
  }
}

/** `failures` failures within `windowMs`, timed exactly; the calls around them are counted in buckets. */
class FailuresInTimeWindow implements TripWindow {
  readonly timed = true;
  private readonly failures: number;
  private readonly slowCallRate: number;
  private readonly buckets: TimeBuckets;
  /** Times of the last `failures` failures, a ring. */
  private failureTimes: Float64Array | undefined;
  private failureCount = 0;
  private nextFailure = 0;

  constructor(windowMs: number, failures: number, slowCallRate: number) {
    this.failures = failures;
    this.slowCallRate = slowCallRate;
    this.buckets = new TimeBuckets(windowMs);
  }

  record(outcome: number, now: number): TripReason | undefined {
    const buckets = this.buckets;
    buckets.push(outcome, now);
    if (outcome & FAILED && this.pushFailure(now)) return 'window-failures';
    return shareReached(buckets.slow, buckets.calls, this.failures, this.slowCallRate)
      ? 'slow-calls'
      : undefined;
  }

  /** True when the oldest of the last `failures` failures is still within the window. */
  private pushFailure(now: number): boolean {
    this.failureTimes ??= new Float64Array(this.failures);
    const times = this.failureTimes;
    times[this.nextFailure] = now;
    if (++this.nextFailure === this.failures) this.nextFailure = 0;
    if (this.failureCount < this.failures) this.failureCount++;
    // After the push, the slot at nextFailure holds the oldest failure of a full ring.
    return this.failureCount === this.failures && now - times[this.nextFailure]! < this.buckets.windowMs;
  }

  recentCalls(now: number): number {
    this.buckets.advance(now);
    return this.buckets.calls;
  }

  recentFailures(now: number): number {
    this.buckets.advance(now);
    return this.buckets.failures;
  }

  clear(): void {
    this.buckets.clear();
    this.failureCount = this.nextFailure = 0;
  }

  toJSON(): unknown {
    const failureTimes: number[] = [];
    const start = this.failureCount === this.failures ? this.nextFailure : 0;
    for (let i = 0; i < this.failureCount; i++)
      failureTimes.push(this.failureTimes![(start + i) % this.failures]!);
    return {
      kind: 'window',
      windowMs: this.buckets.windowMs,
      failures: this.failures,
      failureTimes,
      buckets: this.buckets.toJSON(),
    };
  }

  restore(saved: unknown): boolean {
    this.clear();
    const value = saved as Partial<
      Record<'kind' | 'windowMs' | 'failures' | 'failureTimes' | 'buckets', unknown>
    >;
    if (
      value?.kind !== 'window' ||
      value.windowMs !== this.buckets.windowMs ||
      value.failures !== this.failures ||
      !Array.isArray(value.failureTimes) ||
      value.failureTimes.length > this.failures ||
      !this.buckets.restore(value.buckets)
    ) {
      this.clear();
      return false;
    }
    for (const time of value.failureTimes) this.pushFailure(Number(time));
    return true;
  }
}

/** Failure share over the calls of the last `windowMs`. */
class RateInTimeWindow implements TripWindow {
  readonly timed = true;
  private readonly minimumCalls: number;
  private readonly failureRate: number;
  private readonly slowCallRate: number;
  private readonly buckets: TimeBuckets;

  constructor(windowMs: number, minimumCalls: number, failureRate: number, slowCallRate: number) {
    this.minimumCalls = minimumCalls;
    this.failureRate = failureRate;
    this.slowCallRate = slowCallRate;
    this.buckets = new TimeBuckets(windowMs);
  }

  record(outcome: number, now: number): TripReason | undefined {
    const buckets = this.buckets;
    buckets.push(outcome, now);
    // Checked after successes too: the call that reaches minimumCalls may be a success.
    if (shareReached(buckets.failures, buckets.calls, this.minimumCalls, this.failureRate))
      return 'failure-rate';
    return shareReached(buckets.slow, buckets.calls, this.minimumCalls, this.slowCallRate)
      ? 'slow-calls'
      : undefined;
  }

  recentCalls(now: number): number {
    this.buckets.advance(now);
    return this.buckets.calls;
  }

  recentFailures(now: number): number {
    this.buckets.advance(now);
    return this.buckets.failures;
  }

  clear(): void {
    this.buckets.clear();
  }

  toJSON(): unknown {
    return { kind: 'rate', windowMs: this.buckets.windowMs, buckets: this.buckets.toJSON() };
  }

  restore(saved: unknown): boolean {
    this.clear();
    const value = saved as { kind?: unknown; windowMs?: unknown; buckets?: unknown } | null;
    if (value?.kind !== 'rate' || value.windowMs !== this.buckets.windowMs) return false;
    return this.buckets.restore(value.buckets);
  }
}

/** Failure share over the last `size` calls. */
class RateInCountWindow implements TripWindow {
  readonly timed = false;
  private readonly minimumCalls: number;
  private readonly failureRate: number;
  private readonly slowCallRate: number;
  private readonly ring: OutcomeRing;

  constructor(size: number, minimumCalls: number, failureRate: number, slowCallRate: number) {
    this.minimumCalls = minimumCalls;
    this.failureRate = failureRate;
    this.slowCallRate = slowCallRate;
    this.ring = new OutcomeRing(size);
  }

  record(outcome: number): TripReason | undefined {
    const ring = this.ring;
    ring.push(outcome);
    if (shareReached(ring.failures, ring.calls, this.minimumCalls, this.failureRate)) return 'failure-rate';
    return shareReached(ring.slow, ring.calls, this.minimumCalls, this.slowCallRate)
      ? 'slow-calls'
      : undefined;
  }

  recentCalls(): number {
    return this.ring.calls;
  }

  recentFailures(): number {
    return this.ring.failures;
  }

  clear(): void {
    this.ring.clear();
  }

  toJSON(): unknown {
    return { kind: 'count', size: this.ring.size, outcomes: this.ring.toJSON() };
  }

  restore(saved: unknown): boolean {
    this.clear();
    const value = saved as { kind?: unknown; size?: unknown; outcomes?: unknown } | null;
    if (value?.kind !== 'count' || value.size !== this.ring.size) return false;
    return this.ring.restore(value.outcomes);
  }
}
