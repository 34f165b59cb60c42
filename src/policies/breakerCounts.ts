// Compact counters of recent call outcomes for the circuit breaker's trip windows: a ring of the
// last N outcomes and a sliding time window of buckets. Storage is allocated on the first call.

/** Outcome bits recorded per call: a success is 0. */
export const FAILED = 1;
export const SLOW = 2;

/** Time windows slide in twentieths: a call leaves between 0.95 and 1 window after it was made. */
const BUCKETS = 20;

/** The last `size` outcomes, one byte each, with running totals. */
export class OutcomeRing {
  readonly size: number;
  calls = 0;
  failures = 0;
  slow = 0;
  private outcomes: Uint8Array | undefined;
  private next = 0;

  constructor(size: number) {
    this.size = size;
  }

  push(outcome: number): void {
    let outcomes = this.outcomes;
    if (outcomes === undefined) outcomes = this.outcomes = new Uint8Array(this.size);
    if (this.calls === this.size) {
      const old = outcomes[this.next]!;
      this.failures -= old & FAILED;
      this.slow -= old >> 1;
    } else {
      this.calls++;
    }
    outcomes[this.next] = outcome;
    this.failures += outcome & FAILED;
    this.slow += outcome >> 1;
    if (++this.next === this.size) this.next = 0;
  }

  clear(): void {
    // Old bytes stay: entries are only read once the ring has wrapped, after being overwritten.
    this.calls = this.failures = this.slow = this.next = 0;
  }

  /** Oldest first. */
  toJSON(): number[] {
    const result: number[] = [];
    const outcomes = this.outcomes;
    if (outcomes === undefined) return result;
    const start = this.calls === this.size ? this.next : 0;
    for (let i = 0; i < this.calls; i++) result.push(outcomes[(start + i) % this.size]!);
    return result;
  }

  restore(saved: unknown): boolean {
    this.clear();
    if (!Array.isArray(saved) || saved.length > this.size) return false;
    for (const outcome of saved) this.push(Number(outcome) & (FAILED | SLOW));
    return true;
  }
}

/** Calls, failures and slow calls over a sliding time window, counted in BUCKETS buckets. */
export class TimeBuckets {
  readonly windowMs: number;
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly width: number;
  /** calls, failures, slow for each bucket. */
  private counts: Uint32Array | undefined;
  /** Start of bucket 0: the time of the first call since the window was last empty. */
  private origin = 0;
  /** Sequence number of the newest bucket; -1 while empty. */
  private head = -1;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
    this.width = windowMs / BUCKETS;
  }

  /** Drops the buckets that have left the window by `now`. */
  advance(now: number): void {
    if (this.head < 0) return;
    const sequence = Math.floor((now - this.origin) / this.width);
    if (sequence <= this.head) return; // same bucket, or a clock that went back: count as now
    const counts = this.counts!;
    const expired = Math.min(sequence - this.head, BUCKETS);
    for (let step = 1; step <= expired; step++) {
      const index = ((this.head + step) % BUCKETS) * 3;
      this.calls -= counts[index]!;
      this.failures -= counts[index + 1]!;
      this.slow -= counts[index + 2]!;
      counts[index] = counts[index + 1] = counts[index + 2] = 0;
    }
    this.head = sequence;
    // Start buckets afresh at the next call, so a quiet spell does not misalign them.
    if (this.calls === 0) this.head = -1;
  }

  push(outcome: number, now: number): void {
    this.advance(now);
    if (this.head < 0) {
      this.counts ??= new Uint32Array(BUCKETS * 3);
      this.origin = now;
      this.head = 0;
    }
    const counts = this.counts!;
    const index = (this.head % BUCKETS) * 3;
    const failed = outcome & FAILED;
    const slow = outcome >> 1;
    counts[index]!++;
    counts[index + 1]! += failed;
    counts[index + 2]! += slow;
    this.calls++;
    this.failures += failed;
    this.slow += slow;
  }

  clear(): void {
    this.counts?.fill(0);
    this.calls = this.failures = this.slow = 0;
    this.head = -1;
  }

  toJSON(): { origin: number; head: number; counts: number[] } {
    return { origin: this.origin, head: this.head, counts: this.counts ? Array.from(this.counts) : [] };
  }

  restore(saved: unknown): boolean {
    this.clear();
    const value = saved as { origin?: unknown; head?: unknown; counts?: unknown } | null;
    if (typeof value !== 'object' || value === null) return false;
    const { origin, head, counts } = value;
    if (typeof origin !== 'number' || typeof head !== 'number' || !Array.isArray(counts)) return false;
    if (head < 0 || counts.length !== BUCKETS * 3) return head < 0;
    this.counts = Uint32Array.from(counts, Number);
    this.origin = origin;
    this.head = head;
    for (let index = 0; index < counts.length; index += 3) {
      this.calls += this.counts[index]!;
      this.failures += this.counts[index + 1]!;
      this.slow += this.counts[index + 2]!;
    }
    return true;
  }
}
