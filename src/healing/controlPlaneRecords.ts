// The control plane's persistence: attempts, events and state history written one after another
// to the store, so a read after them (`healing()`) sees every write made before it.

import type { Clock } from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import type { AttemptView, ServiceState } from './controlPlaneTypes.ts';
import { iso } from './incidents.ts';

export interface ControlPlaneRecordsOptions {
  store: Store;
  clock: Clock;
  log: (line: string) => void;
}

export class ControlPlaneRecords {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  #writes: Promise<void> = Promise.resolve();

  constructor(options: ControlPlaneRecordsOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log;
  }

  /** Settles once every write made so far has. */
  settled(): Promise<void> {
    return this.#writes;
  }

  async attempts(filter: { service?: string; limit?: number } = {}): Promise<AttemptView[]> {
    await this.#writes;
    const records = await this.#store.records.list('attempt', {
      service: filter.service,
      limit: filter.limit ?? 100,
    });
    return records.map((record) => JSON.parse(record.data) as AttemptView);
  }

  #write(kind: string, id: string, service: string | null, at: number, data: unknown): Promise<void> {
    const record = { kind, id, service, at, data: JSON.stringify(data) };
    this.#writes = this.#writes
      .then(() => this.#store.records.put(record))
      .catch((error: unknown) => this.#log(`rebound: could not record ${kind}: ${(error as Error).message}`));
    return this.#writes;
  }

  recordAttempt(attempt: AttemptView): Promise<void> {
    if (attempt.status !== 'running') {
      const who = attempt.policy ? `policy "${attempt.policy}"` : attempt.source;
      this.#log(`rebound: ${attempt.service}: ${who} ${attempt.status}: ${attempt.outcome}`);
    }
    return this.#write('attempt', attempt.id, attempt.service, Date.parse(attempt.startedAt), attempt);
  }

  recordEvent(service: string | null, type: string, data: Record<string, unknown>): Promise<void> {
    const at = this.#clock.now();
    return this.#write('event', `${at}-${crypto.randomUUID().slice(0, 8)}`, service, at, {
      type,
      service,
      at: iso(at),
      ...data,
    });
  }

  recordHistory(service: string, from: string, to: ServiceState): Promise<void> {
    const at = this.#clock.now();
    return this.#write('history', `${service}-${at}-${crypto.randomUUID().slice(0, 8)}`, service, at, {
      service,
      from,
      to,
      at: iso(at),
    });
  }
}
