// The memory adapter: the Store contract in plain maps, for tests and for processes that need no
// durability. Records are copied on the way in and out so callers can never change stored state.

import { StoreClosedError } from './errors.ts';
import type {
  ClaimOutcome,
  ExecutorRecord,
  IdempotencyClaim,
  IdempotencyRecord,
  IdempotencyStore,
  KeyValueEntry,
  KeyValueStore,
  RecordFilter,
  RecordStore,
  StepRecord,
  StoredRecord,
  Store,
  WorkflowFilter,
  WorkflowRecord,
  WorkflowStatus,
  WorkflowStore,
} from './types.ts';

/** The memory adapter has no migrations; it reports the version the SQL adapters reach. */
export const MEMORY_SCHEMA_VERSION = 2;

const FINISHED: ReadonlySet<WorkflowStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** A record is gone once its expiry time is reached (the boundary instant counts as expired). */
function isLive(record: IdempotencyRecord, now: number): boolean {
  if (record.expiresAt <= now) return false;
  return record.status === 'completed' || record.leaseUntil > now;
}

// Records from callers are copied field by field, so extra properties never get stored.
function copyWorkflow(w: WorkflowRecord): WorkflowRecord {
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    input: w.input,
    output: w.output,
    error: w.error,
    owner: w.owner,
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
  };
}

function copyStep(s: StepRecord): StepRecord {
  return {
    workflowId: s.workflowId,
    position: s.position,
    name: s.name,
    status: s.status,
    output: s.output,
    checksum: s.checksum,
    attempts: s.attempts,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
  };
}

interface Gate {
  closed: boolean;
}

function ensureOpen(gate: Gate): void {
  if (gate.closed) throw new StoreClosedError();
}

class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #gate: Gate;
  readonly #records = new Map<string, IdempotencyRecord>();

  constructor(gate: Gate) {
    this.#gate = gate;
  }

  async claim(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    ensureOpen(this.#gate);
    const existing = this.#records.get(claim.key);
    if (existing && isLive(existing, claim.now)) return { claimed: false, record: { ...existing } };
    this.#records.set(claim.key, {
      key: claim.key,
      name: claim.name,
      paramsHash: claim.paramsHash,
      status: 'in-progress',
      owner: claim.owner,
      result: null,
      createdAt: claim.now,
      leaseUntil: claim.leaseUntil,
      expiresAt: claim.expiresAt,
    });
    return { claimed: true, takenOver: existing !== undefined };
  }

  async complete(key: string, owner: string, result: string, expiresAt: number): Promise<boolean> {
    ensureOpen(this.#gate);
    const record = this.#heldBy(key, owner);
    if (!record) return false;
    this.#records.set(key, { ...record, status: 'completed', result, expiresAt });
    return true;
  }

  async renew(key: string, owner: string, leaseUntil: number): Promise<boolean> {
    ensureOpen(this.#gate);
    const record = this.#heldBy(key, owner);
    if (!record) return false;
    this.#records.set(key, { ...record, leaseUntil });
    return true;
  }

  async release(key: string, owner: string): Promise<void> {
    ensureOpen(this.#gate);
    if (this.#heldBy(key, owner)) this.#records.delete(key);
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    ensureOpen(this.#gate);
    const record = this.#records.get(key);
    return record && { ...record };
  }

  async purgeExpired(now: number): Promise<number> {
    ensureOpen(this.#gate);
    let purged = 0;
    for (const [key, record] of this.#records) {
      if (record.expiresAt <= now) {
        this.#records.delete(key);
        purged++;
      }
    }
    return purged;
  }

  #heldBy(key: string, owner: string): IdempotencyRecord | undefined {
    const record = this.#records.get(key);
    return record && record.status === 'in-progress' && record.owner === owner ? record : undefined;
  }
}

function statusMatches(status: WorkflowStatus, wanted: WorkflowFilter['status']): boolean {
  if (wanted === undefined) return true;
  return typeof wanted === 'string' ? status === wanted : wanted.includes(status);
}

class MemoryWorkflowStore implements WorkflowStore {
  readonly #gate: Gate;
  readonly #workflows = new Map<string, WorkflowRecord>();
  /** Steps of each workflow by position. */
  readonly #steps = new Map<string, Map<number, StepRecord>>();
  readonly #executors = new Map<string, ExecutorRecord>();

  constructor(gate: Gate) {
    this.#gate = gate;
  }

  async create(workflow: WorkflowRecord): Promise<{ created: boolean; workflow: WorkflowRecord }> {
    ensureOpen(this.#gate);
    const existing = this.#workflows.get(workflow.id);
    if (existing) return { created: false, workflow: { ...existing } };
    const stored = copyWorkflow(workflow);
    this.#workflows.set(stored.id, stored);
    return { created: true, workflow: { ...stored } };
  }

  async get(id: string): Promise<WorkflowRecord | undefined> {
    ensureOpen(this.#gate);
    const workflow = this.#workflows.get(id);
    return workflow && { ...workflow };
  }

  async list(filter: WorkflowFilter = {}): Promise<WorkflowRecord[]> {
    ensureOpen(this.#gate);
    const matching: WorkflowRecord[] = [];
    for (const workflow of this.#workflows.values()) {
      if (!statusMatches(workflow.status, filter.status)) continue;
      if (filter.name !== undefined && workflow.name !== filter.name) continue;
      if (filter.owner !== undefined && workflow.owner !== filter.owner) continue;
      matching.push({ ...workflow });
    }
    // Newest first; the map holds creation order, so reversing it before the stable sort puts the
    // last created first among equal creation times.
    matching.reverse().sort((a, b) => b.createdAt - a.createdAt);
    return filter.limit === undefined ? matching : matching.slice(0, Math.max(0, filter.limit));
  }

  async steps(workflowId: string): Promise<StepRecord[]> {
    ensureOpen(this.#gate);
    const steps = this.#steps.get(workflowId);
    if (!steps) return [];
    return [...steps.values()].sort((a, b) => a.position - b.position).map((step) => ({ ...step }));
  }

  async recordStep(step: StepRecord, owner: string): Promise<boolean> {
    ensureOpen(this.#gate);
    const workflow = this.#workflows.get(step.workflowId);
    if (!workflow || workflow.owner !== owner || workflow.status !== 'running') return false;
    let steps = this.#steps.get(step.workflowId);
    if (!steps) {
      steps = new Map();
      this.#steps.set(step.workflowId, steps);
    }
    if (steps.has(step.position)) return false;
    steps.set(step.position, copyStep(step));
    return true;
  }

  async finish(
    id: string,
    owner: string,
    outcome: { status: 'succeeded' | 'failed'; output?: string; error?: string },
    now: number,
  ): Promise<boolean> {
    ensureOpen(this.#gate);
    const workflow = this.#workflows.get(id);
    if (!workflow || workflow.owner !== owner || FINISHED.has(workflow.status)) return false;
    this.#workflows.set(id, {
      ...workflow,
      status: outcome.status,
      output: outcome.output ?? null,
      error: outcome.error ?? null,
      updatedAt: now,
    });
    return true;
  }

  async cancel(id: string, now: number): Promise<boolean> {
    ensureOpen(this.#gate);
    const workflow = this.#workflows.get(id);
    if (!workflow || FINISHED.has(workflow.status)) return false;
    this.#workflows.set(id, { ...workflow, status: 'cancelled', updatedAt: now });
    return true;
  }

  async claim(id: string, owner: string, expectedOwner: string | null, now: number): Promise<boolean> {
    ensureOpen(this.#gate);
    const workflow = this.#workflows.get(id);
    if (!workflow || workflow.owner !== expectedOwner || FINISHED.has(workflow.status)) return false;
    this.#workflows.set(id, { ...workflow, owner, status: 'running', updatedAt: now });
    return true;
  }

  async heartbeat(executor: ExecutorRecord): Promise<void> {
    ensureOpen(this.#gate);
    this.#executors.set(executor.id, {
      id: executor.id,
      host: executor.host,
      pid: executor.pid,
      heartbeatAt: executor.heartbeatAt,
    });
  }

  async removeExecutor(id: string): Promise<void> {
    ensureOpen(this.#gate);
    this.#executors.delete(id);
  }

  async executors(): Promise<ExecutorRecord[]> {
    ensureOpen(this.#gate);
    return [...this.#executors.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((executor) => ({ ...executor }));
  }
}

class MemoryKeyValueStore implements KeyValueStore {
  readonly #gate: Gate;
  /** Entries by namespace, then key. */
  readonly #entries = new Map<string, Map<string, KeyValueEntry>>();

  constructor(gate: Gate) {
    this.#gate = gate;
  }

  async get(namespace: string, key: string): Promise<KeyValueEntry | undefined> {
    ensureOpen(this.#gate);
    const entry = this.#entries.get(namespace)?.get(key);
    return entry && { ...entry };
  }

  async set(namespace: string, key: string, value: string, now: number): Promise<void> {
    ensureOpen(this.#gate);
    let entries = this.#entries.get(namespace);
    if (!entries) {
      entries = new Map();
      this.#entries.set(namespace, entries);
    }
    entries.set(key, { key, value, updatedAt: now });
  }

  async delete(namespace: string, key: string): Promise<void> {
    ensureOpen(this.#gate);
    const entries = this.#entries.get(namespace);
    entries?.delete(key);
    if (entries?.size === 0) this.#entries.delete(namespace);
  }

  async list(namespace: string): Promise<KeyValueEntry[]> {
    ensureOpen(this.#gate);
    const entries = this.#entries.get(namespace);
    if (!entries) return [];
    return [...entries.values()]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((entry) => ({ ...entry }));
  }
}

/** A finite count, floored and at least 0; undefined when there is no limit. */
function recordLimit(limit: number | undefined): number | undefined {
  return limit === undefined ? undefined : Math.max(0, Math.floor(limit));
}

/**
 * Compares by Unicode code point, the order of SQLite's BINARY and PostgreSQL's "C" collation on
 * UTF-8. JavaScript's `<` compares UTF-16 units, which puts U+10000 and above (surrogates, D800–DFFF)
 * before E000–FFFF; shifting the units around that gap gives code point order.
 */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    let x = a.charCodeAt(index);
    let y = b.charCodeAt(index);
    if (x === y) continue;
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** The listing order of records: `at` descending, then `id` descending. */
function newestFirst(a: StoredRecord, b: StoredRecord): number {
  if (a.at !== b.at) return b.at - a.at;
  return compareCodePoints(b.id, a.id);
}

class MemoryRecordStore implements RecordStore {
  readonly #gate: Gate;
  /** Records by kind, then id. */
  readonly #records = new Map<string, Map<string, StoredRecord>>();

  constructor(gate: Gate) {
    this.#gate = gate;
  }

  async put(record: StoredRecord): Promise<void> {
    ensureOpen(this.#gate);
    let records = this.#records.get(record.kind);
    if (!records) {
      records = new Map();
      this.#records.set(record.kind, records);
    }
    records.set(record.id, {
      kind: record.kind,
      id: record.id,
      service: record.service,
      at: record.at,
      data: record.data,
    });
  }

  async get(kind: string, id: string): Promise<StoredRecord | undefined> {
    ensureOpen(this.#gate);
    const record = this.#records.get(kind)?.get(id);
    return record && { ...record };
  }

  async list(kind: string, filter: RecordFilter = {}): Promise<StoredRecord[]> {
    ensureOpen(this.#gate);
    const records = this.#records.get(kind);
    const limit = recordLimit(filter.limit);
    if (!records || limit === 0) return [];
    const matching: StoredRecord[] = [];
    for (const record of records.values()) {
      if (filter.service !== undefined && record.service !== filter.service) continue;
      if (filter.since !== undefined && record.at < filter.since) continue;
      if (filter.until !== undefined && record.at >= filter.until) continue;
      matching.push(record);
    }
    matching.sort(newestFirst);
    const chosen = limit === undefined ? matching : matching.slice(0, limit);
    return chosen.map((record) => ({ ...record }));
  }

  async delete(kind: string, id: string): Promise<boolean> {
    ensureOpen(this.#gate);
    const records = this.#records.get(kind);
    const deleted = records?.delete(id) ?? false;
    if (records?.size === 0) this.#records.delete(kind);
    return deleted;
  }

  async prune(kind: string, before: number): Promise<number> {
    ensureOpen(this.#gate);
    const records = this.#records.get(kind);
    if (!records) return 0;
    let pruned = 0;
    for (const [id, record] of records) {
      if (record.at < before) {
        records.delete(id);
        pruned++;
      }
    }
    if (records.size === 0) this.#records.delete(kind);
    return pruned;
  }
}

class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly url = 'memory:';
  readonly schemaVersion = MEMORY_SCHEMA_VERSION;
  readonly idempotency: IdempotencyStore;
  readonly workflows: WorkflowStore;
  readonly kv: KeyValueStore;
  readonly records: RecordStore;
  readonly #gate: Gate = { closed: false };

  constructor() {
    this.idempotency = new MemoryIdempotencyStore(this.#gate);
    this.workflows = new MemoryWorkflowStore(this.#gate);
    this.kv = new MemoryKeyValueStore(this.#gate);
    this.records = new MemoryRecordStore(this.#gate);
  }

  async close(): Promise<void> {
    this.#gate.closed = true;
  }
}

/** A fresh, empty store held in this process's memory; nothing survives the process. */
export function openMemoryStore(): Store {
  return new MemoryStore();
}
