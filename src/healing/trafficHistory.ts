// Persisted gateway traffic: each service's requests and failures per minute, kept in the store as
// 'traffic' records so that availability over an SLO window of days survives restarts of rebound up.
// The gateways' counters are read every 10 s (one timer for all, nothing per request) and their
// deltas added to the current minute's record, which is upserted: a crash loses at most 10 s.
// The minutes are also held in memory (loaded once on start, in a TrafficLedger), so that reading
// the figures of a window touches neither the store nor JSON.

import { type Clock, OptionProblems, systemClock, type TimerHandle } from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import { TrafficLedger, type TrafficTotals } from './trafficHistoryLedger.ts';

export const TRAFFIC_KIND = 'traffic';
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export const TRAFFIC_HISTORY_DEFAULTS = Object.freeze({ flushEveryMs: 10_000 });

/** A gateway's counters since it started. */
export interface TrafficCounters {
  service: string;
  requestsTotal: number;
  errorsTotal: number;
}

export interface TrafficHistoryOptions {
  store: Store;
  /** The gateways' counters now. */
  read: () => Iterable<TrafficCounters>;
  /** Minutes older than this are pruned from the store (the longest SLO window and a day). */
  retentionMs: number;
  /** How often the counters are read and the current minutes written; default 10 000 ms. */
  flushEveryMs?: number;
  clock?: Clock;
  /** After each timed flush, with the time it read the counters at (burn-rate alerts). */
  onFlushed?: (now: number) => void;
  /** A write or prune that failed; the minutes stay pending and are written next time. */
  onError?: (error: Error) => void;
}

export class TrafficHistory {
  readonly #store: Store;
  readonly #read: () => Iterable<TrafficCounters>;
  readonly #retentionMs: number;
  readonly #flushEveryMs: number;
  readonly #clock: Clock;
  readonly #onFlushed: ((now: number) => void) | undefined;
  readonly #onError: (error: Error) => void;
  /** The counters read last, per service: the next read adds what grew since. */
  readonly #last = new Map<string, { requests: number; errors: number }>();
  /** Every minute within the retention, per service: what the windows' sums are read from. */
  readonly #ledgers = new Map<string, TrafficLedger>();
  /** The minutes counted since they were last written, by record id. */
  readonly #dirty = new Map<string, { service: string; at: number }>();
  #chain: Promise<void> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #prunedAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(options: TrafficHistoryOptions) {
    const problems = new OptionProblems();
    problems.number('trafficHistory.retentionMs', options.retentionMs, { above: 0 });
    problems.number('trafficHistory.flushEveryMs', options.flushEveryMs, {
      above: 0,
      finite: true,
      optional: true,
    });
    problems.clock('trafficHistory.clock', options.clock);
    problems.throwIfAny();
    this.#store = options.store;
    this.#read = options.read;
    this.#retentionMs = options.retentionMs;
    this.#flushEveryMs = options.flushEveryMs ?? TRAFFIC_HISTORY_DEFAULTS.flushEveryMs;
    this.#clock = options.clock ?? systemClock;
    this.#onFlushed = options.onFlushed;
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * Loads the minutes a previous run wrote within the retention, once (so that the current minute's
   * record is added to, not overwritten), and starts reading the counters every `flushEveryMs`. The
   * counters start from zero: a gateway counts since it started, and it starts with this run.
   */
  async start(): Promise<void> {
    const now = this.#clock.now();
    for (const record of await this.#store.records.list(TRAFFIC_KIND, { since: now - this.#retentionMs })) {
      if (record.service === null) continue;
      const { requests, errors } = JSON.parse(record.data) as TrafficTotals;
      this.#ledgerOf(record.service).add(record.at, requests, errors);
    }
    this.#arm();
  }

  /** Reads the counters, adds what grew to the current minutes and writes them; resolves once durable. */
  flush(): Promise<void> {
    const now = this.#clock.now();
    this.#sample(now);
    this.#chain = this.#chain.then(() => this.#write(now));
    return this.#chain;
  }

  /**
   * A service's requests and errors over the minutes that started within `windowMs` before `now`
   * (and not after it), from memory: what the SLO and burn-rate windows' figures read. Call
   * `sample` first for the counts since the last flush.
   */
  totals(service: string, now: number, windowMs: number): TrafficTotals {
    return this.#ledgers.get(service)?.totals(now, windowMs) ?? { requests: 0, errors: 0 };
  }

  /**
   * Reads the counters and adds what grew to the current minutes, in memory; the next flush writes
   * them. What a read of the figures does first, so that they include the last seconds.
   */
  sample(now = this.#clock.now()): void {
    this.#sample(now);
  }

  /** Stops the timer and writes what was counted; the store stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    await this.flush();
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      const now = this.#clock.now();
      this.flush()
        .then(() => this.#onFlushed?.(now))
        .finally(() => this.#arm())
        .catch(() => {});
    }, this.#flushEveryMs);
    this.#timer.unref?.();
  }

  #sample(now: number): void {
    const minuteStart = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    for (const { service, requestsTotal, errorsTotal } of this.#read()) {
      const last = this.#last.get(service) ?? { requests: 0, errors: 0 };
      // A counter that went down belongs to a gateway that started again: all it holds is new.
      const requests = requestsTotal >= last.requests ? requestsTotal - last.requests : requestsTotal;
      const errors = errorsTotal >= last.errors ? errorsTotal - last.errors : errorsTotal;
      this.#last.set(service, { requests: requestsTotal, errors: errorsTotal });
      if (requests === 0 && errors === 0) continue;
      this.#ledgerOf(service).add(minuteStart, requests, errors);
      this.#dirty.set(`${service}:${minuteStart}`, { service, at: minuteStart });
    }
  }

  async #write(now: number): Promise<void> {
    const pending = [...this.#dirty];
    this.#dirty.clear();
    for (const [id, minute] of pending) {
      // The minute's whole count so far, read when written: what was added while a write waited too.
      const { requests, errors } = this.#ledgers.get(minute.service)?.minute(minute.at) ?? {
        requests: 0,
        errors: 0,
      };
      try {
        await this.#store.records.put({
          kind: TRAFFIC_KIND,
          id,
          service: minute.service,
          at: minute.at,
          data: JSON.stringify({ requests, errors }),
        });
      } catch (error) {
        this.#dirty.set(id, minute);
        this.#onError(error as Error);
      }
    }
    if (now - this.#prunedAt >= HOUR_MS) {
      this.#prunedAt = now;
      for (const [service, ledger] of this.#ledgers) {
        ledger.prune(now - this.#retentionMs);
        if (ledger.empty) this.#ledgers.delete(service);
      }
      await this.#store.records
        .prune(TRAFFIC_KIND, now - this.#retentionMs)
        .catch((error: unknown) => this.#onError(error as Error));
    }
  }

  #ledgerOf(service: string): TrafficLedger {
    let ledger = this.#ledgers.get(service);
    if (!ledger) {
      ledger = new TrafficLedger();
      this.#ledgers.set(service, ledger);
    }
    return ledger;
  }
}

export function trafficHistory(options: TrafficHistoryOptions): TrafficHistory {
  return new TrafficHistory(options);
}
