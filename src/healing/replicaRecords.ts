// The replicas' records in the store (kind 'replica'): written on spawn, deleted on exit, read on
// the next start to find the processes a killed rebound left behind.

import type { RecordStore } from '../store/index.ts';

export const REPLICA_RECORD_KIND = 'replica';

export interface ReplicaRecordData {
  service: string;
  /** The replica's id within its service, e.g. `r1`. */
  id: string;
  pid: number;
  port: number;
  argv: string[];
  /** Epoch ms. */
  startedAt: number;
}

/**
 * Writes are fire-and-forget for the caller but kept in order per replica (a crash and its restart
 * write the same record id within milliseconds), and `flush()` waits for all of them.
 */
export class ReplicaRecords {
  private readonly records: RecordStore;
  private readonly onError: (error: unknown) => void;
  private readonly tails = new Map<string, Promise<void>>();

  constructor(records: RecordStore, onError: (error: unknown) => void) {
    this.records = records;
    this.onError = onError;
  }

  save(data: ReplicaRecordData): void {
    const id = recordId(data.service, data.id);
    this.enqueue(id, () =>
      this.records.put({
        kind: REPLICA_RECORD_KIND,
        id,
        service: data.service,
        at: data.startedAt,
        data: JSON.stringify(data),
      }),
    );
  }

  forget(service: string, replica: string): void {
    const id = recordId(service, replica);
    this.enqueue(id, () => this.records.delete(REPLICA_RECORD_KIND, id));
  }

  /** Every replica record; `data` is undefined for one that cannot be read. */
  async list(): Promise<{ id: string; data: ReplicaRecordData | undefined }[]> {
    const stored = await this.records.list(REPLICA_RECORD_KIND);
    return stored.map((record) => ({ id: record.id, data: parse(record.data) }));
  }

  async delete(id: string): Promise<void> {
    await this.records.delete(REPLICA_RECORD_KIND, id);
  }

  /** Resolves once every write asked for so far has finished. */
  async flush(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }

  private enqueue(id: string, write: () => Promise<unknown>): void {
    const tail = (this.tails.get(id) ?? Promise.resolve())
      .then(write)
      .then(
        () => {},
        (error: unknown) => this.onError(error),
      )
      .finally(() => {
        if (this.tails.get(id) === tail) this.tails.delete(id);
      });
    this.tails.set(id, tail);
  }
}

export function recordId(service: string, replica: string): string {
  return `${service}/${replica}`;
}

function parse(text: string): ReplicaRecordData | undefined {
  try {
    const data = JSON.parse(text) as Partial<ReplicaRecordData>;
    const valid =
      typeof data.service === 'string' &&
      typeof data.id === 'string' &&
      Number.isInteger(data.pid) &&
      (data.pid ?? 0) > 0 &&
      Array.isArray(data.argv) &&
      data.argv.every((word) => typeof word === 'string');
    return valid ? (data as ReplicaRecordData) : undefined;
  } catch {
    return undefined;
  }
}
