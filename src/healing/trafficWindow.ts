// TrafficWindow: request outcomes over a sliding window (latency percentiles, error rate, throughput,
// in-flight) and in total since it was created, recorded on the gateway's hot path without
// allocation and without timers.

import { type Clock, OptionProblems, systemClock } from '../policies/index.ts';
import type { TrafficMetrics } from './controlPlaneTypes.ts';

export interface TrafficWindowOptions {
  /** Length of the window. Default 10_000 ms. */
  windowMs?: number;
  /** Slots the window slides by: it moves in steps of windowMs / slots. Default 10. */
  slots?: number;
  clock?: Clock;
}

export const TRAFFIC_WINDOW_DEFAULTS = Object.freeze({ windowMs: 10_000, slots: 10 });

// Latencies go into log-linear buckets: 32 per doubling (each ~2.2% wide) from 0.05 ms to 60 s, so a
// percentile read from a bucket's geometric middle is within ~1.1% of the true value, and a slot's
// histogram is a fixed array that recording only increments.
const MIN_LATENCY_MS = 0.05;
const MAX_LATENCY_MS = 60_000;
const BUCKETS_PER_DOUBLING = 32;
const BUCKETS = Math.ceil(Math.log2(MAX_LATENCY_MS / MIN_LATENCY_MS) * BUCKETS_PER_DOUBLING) + 1;
const LAST_BUCKET = BUCKETS - 1;

/** The latency a bucket stands for: its geometric middle. */
function bucketValue(bucket: number): number {
  return Math.min(MIN_LATENCY_MS * 2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING), MAX_LATENCY_MS);
}

function bucketOf(latencyMs: number): number {
  if (!(latencyMs > MIN_LATENCY_MS)) return 0; // also NaN and negatives
  const bucket = Math.floor(Math.log2(latencyMs / MIN_LATENCY_MS) * BUCKETS_PER_DOUBLING);
  return bucket > LAST_BUCKET ? LAST_BUCKET : bucket;
}

/**
 * Counts requests in `slots` slots of `windowMs / slots` each. A slot is emptied lazily, when it is
 * next written or read after its time has passed, using the clock: the window owns no timer.
 *
 * Two kinds of outcome: `record(latency, failed)` for a request that was answered (proxied, or a
 * gateway error such as 502/503/504), and `recordUnmeasured(failed)` for an answer the gateway gave
 * without asking anyone (the fallback): it counts in `requests`, `errors` and `throughput`, and adds
 * nothing to the latency percentiles.
 */
export class TrafficWindow {
  readonly windowMs: number;
  readonly slots: number;
  private readonly clock: Clock;
  private readonly slotMs: number;
  /** slots × BUCKETS latency counts, slot after slot. */
  private readonly histogram: Uint32Array;
  private readonly requests: Float64Array;
  private readonly errors: Float64Array;
  /** The slot number (time / slotMs) each slot's counts belong to. */
  private readonly slotNumbers: Float64Array;
  /** When the window started counting: before it is full, throughput divides by the time since. */
  private readonly startedAt: number;
  private currentSlot = -1;
  private currentIndex = 0;
  private inflightCount = 0;
  private requestsCounted = 0;
  private errorsCounted = 0;

  constructor(options: TrafficWindowOptions = {}) {
    const problems = new OptionProblems();
    problems.number('trafficWindow.windowMs', options.windowMs, { above: 0, finite: true, optional: true });
    problems.number('trafficWindow.slots', options.slots, {
      min: 1,
      max: 1000,
      integer: true,
      optional: true,
    });
    problems.clock('trafficWindow.clock', options.clock);
    problems.throwIfAny();
    this.windowMs = options.windowMs ?? TRAFFIC_WINDOW_DEFAULTS.windowMs;
    this.slots = options.slots ?? TRAFFIC_WINDOW_DEFAULTS.slots;
    this.clock = options.clock ?? systemClock;
    this.slotMs = this.windowMs / this.slots;
    this.histogram = new Uint32Array(this.slots * BUCKETS);
    this.requests = new Float64Array(this.slots);
    this.errors = new Float64Array(this.slots);
    this.slotNumbers = new Float64Array(this.slots).fill(-1);
    this.startedAt = this.clock.now();
  }

  /**
   * A request answered after `latencyMs`; `failed` for 5xx answers, connection failures and timeouts.
   * `now`: the clock's time, when the caller has just read it.
   */
  record(latencyMs: number, failed: boolean, now: number = this.clock.now()): void {
    const index = this.slotFor(now);
    this.histogram[index * BUCKETS + bucketOf(latencyMs)]!++;
    this.requests[index]!++;
    this.requestsCounted++;
    if (failed) {
      this.errors[index]!++;
      this.errorsCounted++;
    }
  }

  /** A request answered without a latency worth measuring (the fallback answer). */
  recordUnmeasured(failed: boolean, now: number = this.clock.now()): void {
    const index = this.slotFor(now);
    this.requests[index]!++;
    this.requestsCounted++;
    if (failed) {
      this.errors[index]!++;
      this.errorsCounted++;
    }
  }

  /** A request starts being served. */
  begin(): void {
    this.inflightCount++;
  }

  /** A request begun with `begin()` is over (whether or not it was recorded). */
  end(): void {
    this.inflightCount--;
  }

  get inflight(): number {
    return this.inflightCount;
  }

  /** Requests recorded since the window was created; they never leave it. */
  get requestsTotal(): number {
    return this.requestsCounted;
  }

  /** Failed requests recorded since the window was created. */
  get errorsTotal(): number {
    return this.errorsCounted;
  }

  /**
   * The window as of now, plus the totals since it was created. Percentiles are 0 when no measured
   * request is in the window.
   */
  snapshot(): TrafficMetrics {
    const now = this.clock.now();
    const newest = Math.floor(now / this.slotMs);
    const oldest = newest - this.slots + 1;
    let requests = 0;
    let errors = 0;
    let measured = 0;
    const merged = new Float64Array(BUCKETS);
    for (let index = 0; index < this.slots; index++) {
      const slotNumber = this.slotNumbers[index]!;
      if (slotNumber < oldest || slotNumber > newest) continue;
      requests += this.requests[index]!;
      errors += this.errors[index]!;
      const base = index * BUCKETS;
      for (let bucket = 0; bucket < BUCKETS; bucket++) {
        const count = this.histogram[base + bucket]!;
        if (count !== 0) {
          merged[bucket]! += count;
          measured += count;
        }
      }
    }
    // The window spans its slots' time up to now; a window younger than that spans its own life.
    const coveredMs = Math.max(now - Math.max(oldest * this.slotMs, this.startedAt), this.slotMs / 10);
    return {
      latency_p50: percentile(merged, measured, 0.5),
      latency_p95: percentile(merged, measured, 0.95),
      latency_p99: percentile(merged, measured, 0.99),
      error_rate: requests === 0 ? 0 : errors / requests,
      throughput: (requests * 1000) / coveredMs,
      inflight: this.inflightCount,
      requests,
      errors,
      requests_total: this.requestsCounted,
      errors_total: this.errorsCounted,
    };
  }

  /** The index of the slot `now` falls in, emptied first if it held an older slot's counts. */
  private slotFor(now: number): number {
    const slotNumber = Math.floor(now / this.slotMs);
    if (slotNumber === this.currentSlot) return this.currentIndex;
    const index = ((slotNumber % this.slots) + this.slots) % this.slots;
    const held = this.slotNumbers[index]!;
    // A time older than what the slot now holds is out of the window: count it as current.
    if (held > slotNumber) return this.currentIndex;
    if (held !== slotNumber) {
      this.slotNumbers[index] = slotNumber;
      this.requests[index] = 0;
      this.errors[index] = 0;
      this.histogram.fill(0, index * BUCKETS, (index + 1) * BUCKETS);
    }
    // Time read by another caller may lag by a hair: only move the cached slot forward.
    if (slotNumber > this.currentSlot) {
      this.currentSlot = slotNumber;
      this.currentIndex = index;
    }
    return index;
  }
}

/** The value below which `quantile` of the `total` counts fall (nearest rank). */
function percentile(histogram: Float64Array, total: number, quantile: number): number {
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(quantile * total));
  let seen = 0;
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    seen += histogram[bucket]!;
    if (seen >= rank) return bucketValue(bucket);
  }
  return bucketValue(LAST_BUCKET);
}

/** A traffic window; see TrafficWindowOptions for the defaults (10 s in 10 slots). */
export function trafficWindow(options?: TrafficWindowOptions): TrafficWindow {
  return new TrafficWindow(options);
}
