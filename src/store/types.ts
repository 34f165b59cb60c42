// The Store interface: what rebound keeps durably, independent of where. Every adapter (sqlite,
// postgres, memory) implements it and passes one contract suite (contract.ts).
//
// Values the modules above store (results, inputs, outputs, errors) are JSON text: the store keeps
// them byte for byte and never parses them. Times are epoch milliseconds.

export type StoreKind = 'sqlite' | 'postgres' | 'memory';

export interface Store {
  readonly kind: StoreKind;
  /** The URL it was opened with, any password masked. */
  readonly url: string;
  readonly idempotency: IdempotencyStore;
  readonly workflows: WorkflowStore;
  readonly kv: KeyValueStore;
  readonly records: RecordStore;
  /** The schema version after migrations ran on open. */
  readonly schemaVersion: number;
  /** Finishes pending writes and releases every handle; further calls reject with StoreClosedError. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Idempotency (SPEC 3.1)

export type IdempotencyStatus = 'in-progress' | 'completed';

export interface IdempotencyRecord {
  key: string;
  name: string;
  /** sha256 of the canonical params: a different value under the same key is a conflict. */
  paramsHash: string;
  status: IdempotencyStatus;
  owner: string;
  /** JSON text of the stored result, once completed. */
  result: string | null;
  createdAt: number;
  /** An in-progress claim older than this may be taken over (its owner is presumed dead). */
  leaseUntil: number;
  /** After this the record is as if it did not exist. */
  expiresAt: number;
}

export interface IdempotencyClaim {
  key: string;
  name: string;
  paramsHash: string;
  owner: string;
  now: number;
  leaseUntil: number;
  expiresAt: number;
}

export type ClaimOutcome =
  /** The caller now owns the key (`takenOver`: from a crashed owner's lapsed claim, or an expired record). */
  | { claimed: true; takenOver: boolean }
  /** Someone else holds or has completed it; the caller decides what that means. */
  | { claimed: false; record: IdempotencyRecord };

export interface IdempotencyStore {
  /** Atomically claims `key` unless a live record exists (completed and unexpired, or in progress under a lease). */
  claim(claim: IdempotencyClaim): Promise<ClaimOutcome>;
  /** Stores the result if `owner` still holds the key; false if it lost it. */
  complete(key: string, owner: string, result: string, expiresAt: number): Promise<boolean>;
  /** Extends an in-progress claim held by `owner`; false if it lost it. */
  renew(key: string, owner: string, leaseUntil: number): Promise<boolean>;
  /** Deletes an in-progress claim held by `owner` (a failed action releases its key). */
  release(key: string, owner: string): Promise<void>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /** Deletes records expired at `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Durable workflows (SPEC 3.2)

export type WorkflowStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'succeeded' | 'failed';

export interface WorkflowRecord {
  id: string;
  name: string;
  status: WorkflowStatus;
  /** JSON text. */
  input: string;
  /** JSON text, once succeeded. */
  output: string | null;
  /** JSON text of a serialised error, once failed. */
  error: string | null;
  /** The executor running it; null while nobody has claimed it. */
  owner: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface StepRecord {
  workflowId: string;
  /** 0-based position in the workflow's deterministic sequence of steps. */
  position: number;
  name: string;
  status: StepStatus;
  /** JSON text of the output (succeeded) or of the serialised error (failed). */
  output: string;
  /** Checksum of `output`, written in the same commit. */
  checksum: string;
  attempts: number;
  startedAt: number;
  endedAt: number;
}

export interface ExecutorRecord {
  id: string;
  host: string;
  pid: number;
  heartbeatAt: number;
}

export interface WorkflowFilter {
  status?: WorkflowStatus | readonly WorkflowStatus[];
  name?: string;
  owner?: string;
  limit?: number;
}

export interface WorkflowStore {
  /** Inserts the workflow unless one with its id exists; either way answers the stored record. */
  create(workflow: WorkflowRecord): Promise<{ created: boolean; workflow: WorkflowRecord }>;
  get(id: string): Promise<WorkflowRecord | undefined>;
  /** Newest first. */
  list(filter?: WorkflowFilter): Promise<WorkflowRecord[]>;
  /** In position order. */
  steps(workflowId: string): Promise<StepRecord[]>;
  /**
   * Records a finished step in one durable commit, only if `owner` still owns the workflow and it
   * is running; false otherwise (the caller lost it, or it was cancelled). Adapters may group the
   * records of concurrent workflows into one commit; each promise resolves once its own is durable.
   * A second record at the same position is refused (false): a step is never recorded twice.
   */
  recordStep(step: StepRecord, owner: string): Promise<boolean>;
  /** Sets the status (and output or error) if `owner` owns it and it is not finished; false otherwise. */
  finish(
    id: string,
    owner: string,
    outcome: { status: 'succeeded' | 'failed'; output?: string; error?: string },
    now: number,
  ): Promise<boolean>;
  /** Moves an unfinished workflow to 'cancelled'; false if it had already finished. */
  cancel(id: string, now: number): Promise<boolean>;
  /**
   * Compare-and-set of the owner: succeeds only if the current owner is `expectedOwner` and the
   * workflow is unfinished; sets status 'running'.
   */
  claim(id: string, owner: string, expectedOwner: string | null, now: number): Promise<boolean>;
  /** Records that an executor is alive (upsert). */
  heartbeat(executor: ExecutorRecord): Promise<void>;
  /** Forgets an executor that stopped cleanly. */
  removeExecutor(id: string): Promise<void>;
  executors(): Promise<ExecutorRecord[]>;
}

// ---------------------------------------------------------------------------------------------
// Small keyed values (the degradation cache, later the control plane's own state)

export interface KeyValueEntry {
  key: string;
  /** JSON text. */
  value: string;
  updatedAt: number;
}

export interface KeyValueStore {
  get(namespace: string, key: string): Promise<KeyValueEntry | undefined>;
  set(namespace: string, key: string, value: string, now: number): Promise<void>;
  delete(namespace: string, key: string): Promise<void>;
  list(namespace: string): Promise<KeyValueEntry[]>;
}

// ---------------------------------------------------------------------------------------------
// The control plane's records: events, healing attempts, service history, escalations, replicas

export interface StoredRecord {
  /** What it is, e.g. 'event', 'attempt', 'history', 'escalation', 'replica', 'incident'. */
  kind: string;
  /** Unique within its kind. */
  id: string;
  /** The service it concerns, when it concerns one. */
  service: string | null;
  /** When it happened (epoch ms); lists are ordered by it. */
  at: number;
  /** JSON text. */
  data: string;
}

export interface RecordFilter {
  service?: string;
  /** Only records with `at >= since`. */
  since?: number;
  /** Only records with `at < until`. */
  until?: number;
  /** At most this many, the newest. */
  limit?: number;
}

export interface RecordStore {
  /** Inserts or replaces the record with its kind and id, durably before resolving. */
  put(record: StoredRecord): Promise<void>;
  get(kind: string, id: string): Promise<StoredRecord | undefined>;
  /** Newest first (`at` descending, then `id` descending). */
  list(kind: string, filter?: RecordFilter): Promise<StoredRecord[]>;
  /** False when there was none. */
  delete(kind: string, id: string): Promise<boolean>;
  /** Deletes the records of a kind older than `before`; returns how many. */
  prune(kind: string, before: number): Promise<number>;
}
