// One service's traffic minutes held in memory, so that the requests and errors over an SLO window of
// days are read without the store: the minutes are kept in hour blocks (an hour's totals and its 60
// minutes in one typed array), and each window asked for keeps a running sum that new counts are
// added to and that the minutes falling out of the window are subtracted from, minute by minute.
// The window edge moves by the minute, so the minutes themselves are kept, not only hour totals:
// at most 960 bytes an hour, 0.7 MB for 31 days of traffic in every minute.

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** Requests and errors summed over some minutes. */
export interface TrafficTotals {
  requests: number;
  errors: number;
}

interface HourBlock {
  requests: number;
  errors: number;
  /** Minute i of the hour: requests at 2i, errors at 2i + 1. */
  readonly minutes: Float64Array;
}

interface RunningWindow extends TrafficTotals {
  /** The sum covers the minutes that start at or after this. */
  since: number;
}

export class TrafficLedger {
  /** By the hour's start. */
  readonly #hours = new Map<number, HourBlock>();
  /** By window length. */
  readonly #windows = new Map<number, RunningWindow>();
  #newest = Number.NEGATIVE_INFINITY;

  /** Adds counts to the minute that starts at `at` (a minute start). */
  add(at: number, requests: number, errors: number): void {
    const hourStart = Math.floor(at / HOUR_MS) * HOUR_MS;
    let block = this.#hours.get(hourStart);
    if (!block) {
      block = { requests: 0, errors: 0, minutes: new Float64Array(120) };
      this.#hours.set(hourStart, block);
    }
    const index = 2 * Math.floor((at - hourStart) / MINUTE_MS);
    block.minutes[index]! += requests;
    block.minutes[index + 1]! += errors;
    block.requests += requests;
    block.errors += errors;
    if (at > this.#newest) this.#newest = at;
    for (const window of this.#windows.values()) {
      if (at < window.since) continue;
      window.requests += requests;
      window.errors += errors;
    }
  }

  /** The requests and errors of the minute that starts at `at` (a minute start). */
  minute(at: number): TrafficTotals {
    const hourStart = Math.floor(at / HOUR_MS) * HOUR_MS;
    const block = this.#hours.get(hourStart);
    if (!block) return { requests: 0, errors: 0 };
    const index = 2 * Math.floor((at - hourStart) / MINUTE_MS);
    return { requests: block.minutes[index]!, errors: block.minutes[index + 1]! };
  }

  /**
   * The requests and errors of the minutes that started within `windowMs` before `now` and not
   * after it (what `trafficIn` sums over the same minutes). Costs what the minutes that left the
   * window since the last call cost to subtract: a read every few seconds subtracts one at most.
   */
  totals(now: number, windowMs: number): TrafficTotals {
    const since = now - windowMs;
    let window = this.#windows.get(windowMs);
    if (!window || since < window.since || since - window.since >= windowMs) {
      // New, or the clock went back, or the whole window went by: summed afresh from the hours.
      window = { since, ...this.#sum(since, Number.POSITIVE_INFINITY) };
      this.#windows.set(windowMs, window);
    } else if (since > window.since) {
      const left = this.#sum(window.since, since);
      window.requests -= left.requests;
      window.errors -= left.errors;
      window.since = since;
    }
    if (this.#newest <= now) return { requests: window.requests, errors: window.errors };
    // Minutes after `now` exist only when the clock went back: they do not count yet.
    const ahead = this.#sum(now + 1, Number.POSITIVE_INFINITY);
    return { requests: window.requests - ahead.requests, errors: window.errors - ahead.errors };
  }

  /** Forgets the hours that ended at or before `before`; the running sums are summed afresh. */
  prune(before: number): void {
    let pruned = false;
    for (const hourStart of this.#hours.keys()) {
      if (hourStart + HOUR_MS > before) continue;
      this.#hours.delete(hourStart);
      pruned = true;
    }
    if (pruned) this.#windows.clear();
  }

  /** Whether no minute is held. */
  get empty(): boolean {
    return this.#hours.size === 0;
  }

  /** The minutes that start at or after `from` and before `to`. */
  #sum(from: number, to: number): TrafficTotals {
    const totals = { requests: 0, errors: 0 };
    if (to <= from) return totals;
    // Step through the hours of the span when it is short (the usual eviction of a minute or two),
    // through the held hours otherwise.
    const firstHour = Math.floor(from / HOUR_MS) * HOUR_MS;
    const hourStarts =
      (to - firstHour) / HOUR_MS <= this.#hours.size ? hoursBetween(firstHour, to) : this.#hours.keys();
    for (const hourStart of hourStarts) {
      const block = this.#hours.get(hourStart);
      if (!block || hourStart + HOUR_MS <= from || hourStart >= to) continue;
      if (hourStart >= from && hourStart + HOUR_MS <= to) {
        totals.requests += block.requests;
        totals.errors += block.errors;
        continue;
      }
      const first = Math.max(0, Math.ceil((from - hourStart) / MINUTE_MS));
      const last = Math.min(60, Math.ceil((to - hourStart) / MINUTE_MS));
      for (let minute = first; minute < last; minute++) {
        totals.requests += block.minutes[2 * minute]!;
        totals.errors += block.minutes[2 * minute + 1]!;
      }
    }
    return totals;
  }
}

function* hoursBetween(firstHour: number, to: number): Generator<number> {
  for (let hourStart = firstHour; hourStart < to; hourStart += HOUR_MS) yield hourStart;
}
