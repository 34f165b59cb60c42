// The database being migrated: what the agent needs from it, which of its errors are worth a retry,
// and how a --target argument picks SQLite or PostgreSQL.

import { resolve } from 'node:path';

/** The history table in the target: one row per applied migration. */
export const HISTORY_TABLE = 'schema_migrations';
export const HISTORY_COLUMNS = ['id', 'checksum', 'applied_at', 'duration_ms', 'workflow_id'] as const;

export interface AppliedMigration {
  id: string;
  checksum: string;
  appliedAt: string;
  workflowId: string;
}

/** One migration to apply (`up`) or undo (`down`). */
export interface Change {
  id: string;
  direction: 'up' | 'down';
  sql: string;
  /** The checksum of the `up` SQL, recorded with the row. */
  checksum: string;
}

/** Hooks inside a change, used by --step-delay-ms to widen the two crash windows of a step. */
export interface Pauses {
  /** Inside the transaction, after the SQL ran: a crash here must leave nothing applied. */
  beforeCommit(): Promise<void>;
  /** After the commit, before the workflow checkpoints the step: a crash here must not apply it twice. */
  afterCommit(): Promise<void>;
}

export interface ChangeResult {
  /** 'done': this call applied (or undid) it; 'already': the history table said it was done. */
  outcome: 'done' | 'already';
  durationMs: number;
}

export interface Target {
  readonly kind: 'sqlite' | 'postgres';
  /** Identifies the database (no credentials): workflows of different targets never mix. */
  readonly key: string;
  /** For messages. */
  readonly display: string;
  /** Creates the history table if it is missing (refuses a same-named table it did not create). */
  prepare(): Promise<void>;
  /** What the history table lists, in the order applied; empty when there is no table (yet). */
  applied(): Promise<AppliedMigration[]>;
  /**
   * In one transaction: reads the history table and, unless the change is already done, runs its
   * SQL and records (up) or removes (down) its row. Run again after a crash at any point it neither
   * applies twice nor loses the change.
   */
  change(change: Change, workflowId: string, pauses: Pauses): Promise<ChangeResult>;
  /** Context for progress reports. */
  version(): Promise<string>;
  sizeBytes(): Promise<number>;
  tableCount(): Promise<number>;
  close(): Promise<void>;
}

export interface TargetOptions {
  /** Touch nothing: a SQLite file is opened read-only, and not created when missing. */
  readOnly: boolean;
  /** How long a change waits for a lock held by someone else before failing (and being retried). */
  lockTimeoutMs: number;
}

/** A postgres:// URL opens PostgreSQL; anything else is a SQLite file (an optional `sqlite:` prefix is dropped). */
export async function openTarget(spec: string, options: TargetOptions): Promise<Target> {
  if (/^postgres(ql)?:\/\//i.test(spec)) {
    const { PostgresTarget } = await import('./postgresTarget.ts');
    return new PostgresTarget(spec, options);
  }
  const path = spec.replace(/^sqlite:(\/\/(?=\/))?/i, '');
  if (path === '' || path === ':memory:') {
    throw new Error(`--target must be a SQLite file path or a postgres:// URL, got '${spec}'`);
  }
  const { openSqliteTarget } = await import('./sqliteTarget.ts');
  return openSqliteTarget(resolve(path), options);
}

/** The URL without its password, for messages. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#]*@/i, '$1:***@');
}

// Node's network errors that mean "not reachable right now".
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// PostgreSQL SQLSTATEs worth another try: the transaction was rolled back and nothing is half done.
const POSTGRES_TRANSIENT = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '53300', // too_many_connections
  '55P03', // lock_not_available: the lock timeout ran out behind another session
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);
// The pg client reports a lost connection with a plain Error and one of these messages.
const PG_CLIENT_MESSAGES =
  /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error/i;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_NAMES: Record<number, string> = {
  [SQLITE_BUSY]: 'SQLITE_BUSY',
  [SQLITE_LOCKED]: 'SQLITE_LOCKED',
};

/**
 * Connection failures and lock waits: worth a retry with backoff, and counted by the circuit
 * breaker. Anything else (a syntax error, a constraint) fails the migration at once.
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errcode, message, errors } = error as {
    code?: unknown;
    errcode?: unknown;
    message?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || POSTGRES_TRANSIENT.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true; // class 08: connection exception
  }
  if (typeof errcode === 'number' && [SQLITE_BUSY, SQLITE_LOCKED].includes(errcode & 0xff)) return true;
  if (typeof message === 'string' && PG_CLIENT_MESSAGES.test(message)) return true;
  // Connecting to a name with several addresses fails with an AggregateError of each attempt.
  return Array.isArray(errors) && errors.length > 0 && errors.every(isTransient);
}

/** A short reason for logs: the code when there is one, and the message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { errcode } = error as { errcode?: unknown };
  if (typeof errcode === 'number')
    return `${SQLITE_NAMES[errcode & 0xff] ?? `SQLite error ${errcode}`}: ${error.message}`;
  const code = (error as { code?: unknown }).code;
  const message = error.message || (error instanceof AggregateError ? String(error.errors[0]) : error.name);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
