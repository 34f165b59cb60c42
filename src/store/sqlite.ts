// The SQLite adapter on node:sqlite: one synchronous connection per store, WAL, durable commits by
// default, every statement prepared once. Workflows and their group-committed writes live in
// sqliteWorkflows.ts, the schema in sqliteMigrations.ts.

import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { dirname, resolve } from 'node:path';
import { InvalidOptionsError } from '../policies/index.ts';
import { StoreOpenError, StoreSchemaError, StoreUrlError } from './errors.ts';
import type { OpenStoreOptions } from './openStore.ts';
import { ensureOpen, type SqliteConnection } from './sqliteConnection.ts';
import { latestVersion, migrate, recordedVersion, SQLITE_MIGRATIONS } from './sqliteMigrations.ts';
import { SqliteWorkflowStore } from './sqliteWorkflows.ts';
import type {
  ClaimOutcome,
  IdempotencyClaim,
  IdempotencyRecord,
  IdempotencyStore,
  KeyValueEntry,
  KeyValueStore,
  RecordFilter,
  RecordStore,
  Store,
  StoredRecord,
} from './types.ts';

export interface SqliteStoreOptions {
  /** 'full' (default): synchronous=FULL, a resolved write survives power loss. 'normal': synchronous=NORMAL. */
  durability?: 'full' | 'normal';
  /** How long a write waits for another connection's lock (busy_timeout). */
  busyTimeoutMs?: number;
}

export const SQLITE_STORE_DEFAULTS = { durability: 'full', busyTimeoutMs: 5_000 } as const;

const IDEMPOTENCY_COLUMNS = `key, name, params_hash AS paramsHash, status, owner, result, created_at AS createdAt,
  lease_until AS leaseUntil, expires_at AS expiresAt`;

class SqliteIdempotencyStore implements IdempotencyStore {
  readonly #connection: SqliteConnection;
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #replaceDead: StatementSync;
  readonly #complete: StatementSync;
  readonly #renew: StatementSync;
  readonly #release: StatementSync;
  readonly #purge: StatementSync;

  constructor(connection: SqliteConnection) {
    const { db } = connection;
    this.#connection = connection;
    this.#select = db.prepare(`SELECT ${IDEMPOTENCY_COLUMNS} FROM rebound_idempotency WHERE key = ?`);
    this.#insert = db.prepare(
      `INSERT INTO rebound_idempotency
         (key, name, params_hash, status, owner, result, created_at, lease_until, expires_at)
       VALUES (?, ?, ?, 'in-progress', ?, NULL, ?, ?, ?)
       ON CONFLICT (key) DO NOTHING`,
    );
    // Replaces a record only while it is still dead at `now`: another process may have revived it.
    this.#replaceDead = db.prepare(
      `UPDATE rebound_idempotency
          SET name = ?1, params_hash = ?2, status = 'in-progress', owner = ?3, result = NULL,
              created_at = ?4, lease_until = ?5, expires_at = ?6
        WHERE key = ?7 AND (expires_at <= ?4 OR (status = 'in-progress' AND lease_until <= ?4))`,
    );
    this.#complete = db.prepare(
      `UPDATE rebound_idempotency SET status = 'completed', result = ?, expires_at = ?
        WHERE key = ? AND owner = ? AND status = 'in-progress'`,
    );
    this.#renew = db.prepare(
      `UPDATE rebound_idempotency SET lease_until = ?
        WHERE key = ? AND owner = ? AND status = 'in-progress'`,
    );
    this.#release = db.prepare(
      `DELETE FROM rebound_idempotency WHERE key = ? AND owner = ? AND status = 'in-progress'`,
    );
    this.#purge = db.prepare('DELETE FROM rebound_idempotency WHERE expires_at <= ?');
  }

  async claim(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    ensureOpen(this.#connection);
    const { key, now } = claim;
    // Read first (no lock, no commit): a hit on a live record is the common case and stays a read.
    // Each write below re-checks its condition, so a race with another process only means another turn.
    for (;;) {
      const row = this.#select.get(key) as IdempotencyRecord | undefined;
      if (row) {
        if (row.expiresAt > now && (row.status === 'completed' || row.leaseUntil > now)) {
          return { claimed: false, record: { ...row } };
        }
        const replaced = this.#replaceDead.run(
          claim.name,
          claim.paramsHash,
          claim.owner,
          now,
          claim.leaseUntil,
          claim.expiresAt,
          key,
        );
        if (replaced.changes === 1) return { claimed: true, takenOver: true };
      } else {
        const inserted = this.#insert.run(
          key,
          claim.name,
          claim.paramsHash,
          claim.owner,
          now,
          claim.leaseUntil,
          claim.expiresAt,
        );
        if (inserted.changes === 1) return { claimed: true, takenOver: false };
      }
    }
  }

  async complete(key: string, owner: string, result: string, expiresAt: number): Promise<boolean> {
    ensureOpen(this.#connection);
    return this.#complete.run(result, expiresAt, key, owner).changes === 1;
  }

  async renew(key: string, owner: string, leaseUntil: number): Promise<boolean> {
    ensureOpen(this.#connection);
    return this.#renew.run(leaseUntil, key, owner).changes === 1;
  }

  async release(key: string, owner: string): Promise<void> {
    ensureOpen(this.#connection);
    this.#release.run(key, owner);
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    ensureOpen(this.#connection);
    const row = this.#select.get(key) as IdempotencyRecord | undefined;
    return row && { ...row };
  }

  async purgeExpired(now: number): Promise<number> {
    ensureOpen(this.#connection);
    return Number(this.#purge.run(now).changes);
  }
}

class SqliteKeyValueStore implements KeyValueStore {
  readonly #connection: SqliteConnection;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #delete: StatementSync;
  readonly #list: StatementSync;

  constructor(connection: SqliteConnection) {
    const { db } = connection;
    this.#connection = connection;
    const columns = 'key, value, updated_at AS updatedAt';
    this.#get = db.prepare(`SELECT ${columns} FROM rebound_kv WHERE namespace = ? AND key = ?`);
    this.#set = db.prepare(
      `INSERT INTO rebound_kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.#delete = db.prepare('DELETE FROM rebound_kv WHERE namespace = ? AND key = ?');
    this.#list = db.prepare(`SELECT ${columns} FROM rebound_kv WHERE namespace = ? ORDER BY key`);
  }

  async get(namespace: string, key: string): Promise<KeyValueEntry | undefined> {
    ensureOpen(this.#connection);
    const row = this.#get.get(namespace, key) as KeyValueEntry | undefined;
    return row && { ...row };
  }

  async set(namespace: string, key: string, value: string, now: number): Promise<void> {
    ensureOpen(this.#connection);
    this.#set.run(namespace, key, value, now);
  }

  async delete(namespace: string, key: string): Promise<void> {
    ensureOpen(this.#connection);
    this.#delete.run(namespace, key);
  }

  async list(namespace: string): Promise<KeyValueEntry[]> {
    ensureOpen(this.#connection);
    return (this.#list.all(namespace) as unknown as KeyValueEntry[]).map((row) => ({ ...row }));
  }
}

const RECORD_COLUMNS = 'kind, id, service, at, data';

class SqliteRecordStore implements RecordStore {
  readonly #connection: SqliteConnection;
  readonly #put: StatementSync;
  readonly #get: StatementSync;
  readonly #delete: StatementSync;
  readonly #prune: StatementSync;
  /** List statements by the shape of their filter (which of service, since, until, limit it has). */
  readonly #lists = new Map<number, StatementSync>();

  constructor(connection: SqliteConnection) {
    const { db } = connection;
    this.#connection = connection;
    // Autocommit: each put is its own durable commit before it resolves.
    this.#put = db.prepare(
      `INSERT INTO rebound_records (kind, id, service, at, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kind, id) DO UPDATE SET service = excluded.service, at = excluded.at, data = excluded.data`,
    );
    this.#get = db.prepare(`SELECT ${RECORD_COLUMNS} FROM rebound_records WHERE kind = ? AND id = ?`);
    this.#delete = db.prepare('DELETE FROM rebound_records WHERE kind = ? AND id = ?');
    this.#prune = db.prepare('DELETE FROM rebound_records WHERE kind = ? AND at < ?');
  }

  async put(record: StoredRecord): Promise<void> {
    ensureOpen(this.#connection);
    this.#put.run(record.kind, record.id, record.service, record.at, record.data);
  }

  async get(kind: string, id: string): Promise<StoredRecord | undefined> {
    ensureOpen(this.#connection);
    const row = this.#get.get(kind, id) as StoredRecord | undefined;
    return row && { ...row };
  }

  async list(kind: string, filter: RecordFilter = {}): Promise<StoredRecord[]> {
    ensureOpen(this.#connection);
    const limit = filter.limit === undefined ? undefined : Math.max(0, Math.floor(filter.limit));
    if (limit === 0) return [];
    const params: SQLInputValue[] = [kind];
    const conditions = ['kind = ?'];
    let shape = 0;
    if (filter.service !== undefined) {
      conditions.push('service = ?');
      params.push(filter.service);
      shape |= 1;
    }
    if (filter.since !== undefined) {
      conditions.push('at >= ?');
      params.push(filter.since);
      shape |= 2;
    }
    if (filter.until !== undefined) {
      conditions.push('at < ?');
      params.push(filter.until);
      shape |= 4;
    }
    if (limit !== undefined) {
      params.push(limit);
      shape |= 8;
    }
    let statement = this.#lists.get(shape);
    if (!statement) {
      statement = this.#connection.db.prepare(
        `SELECT ${RECORD_COLUMNS} FROM rebound_records WHERE ${conditions.join(' AND ')}
          ORDER BY at DESC, id DESC${limit !== undefined ? ' LIMIT ?' : ''}`,
      );
      this.#lists.set(shape, statement);
    }
    return (statement.all(...params) as unknown as StoredRecord[]).map((row) => ({ ...row }));
  }

  async delete(kind: string, id: string): Promise<boolean> {
    ensureOpen(this.#connection);
    return this.#delete.run(kind, id).changes === 1;
  }

  async prune(kind: string, before: number): Promise<number> {
    ensureOpen(this.#connection);
    return Number(this.#prune.run(kind, before).changes);
  }
}

/** Each open SQLite store's connection, for sqliteDatabaseOf. */
const databases = new WeakMap<Store, DatabaseSync>();

/**
 * The node:sqlite connection behind a store opened with 'sqlite:', for diagnostics and tests (its
 * PRAGMAs, its files); writing through it bypasses the store's rules. Not part of rebound/store.
 */
export function sqliteDatabaseOf(store: Store): DatabaseSync | undefined {
  return databases.get(store);
}

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly url: string;
  readonly schemaVersion: number;
  readonly idempotency: SqliteIdempotencyStore;
  readonly workflows: SqliteWorkflowStore;
  readonly kv: SqliteKeyValueStore;
  readonly records: SqliteRecordStore;
  readonly #connection: SqliteConnection;

  constructor(url: string, db: DatabaseSync, schemaVersion: number) {
    this.url = url;
    this.schemaVersion = schemaVersion;
    this.#connection = { db, closed: false };
    this.idempotency = new SqliteIdempotencyStore(this.#connection);
    this.workflows = new SqliteWorkflowStore(this.#connection);
    this.kv = new SqliteKeyValueStore(this.#connection);
    this.records = new SqliteRecordStore(this.#connection);
    databases.set(this, db);
  }

  async close(): Promise<void> {
    if (this.#connection.closed) return;
    this.#connection.closed = true;
    try {
      this.workflows.flush();
    } finally {
      this.#connection.db.close();
    }
  }
}

/** The file path of a sqlite: URL ('sqlite:state.db', 'sqlite:///abs/state.db', 'sqlite::memory:'). */
export function sqlitePathOf(url: string): string {
  let path = url.slice('sqlite:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (path.length === 0) {
    throw new StoreUrlError(
      url,
      `store URL '${url}' names no file; write 'sqlite:<path>', e.g. 'sqlite:.rebound/state.db'`,
    );
  }
  return path;
}

function validate(options: OpenStoreOptions): Required<SqliteStoreOptions> {
  const durability = options.durability ?? SQLITE_STORE_DEFAULTS.durability;
  const busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_STORE_DEFAULTS.busyTimeoutMs;
  const problems: string[] = [];
  if (durability !== 'full' && durability !== 'normal') {
    problems.push(`sqlite.durability must be one of "full", "normal", got ${JSON.stringify(durability)}`);
  }
  if (typeof busyTimeoutMs !== 'number' || !Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    problems.push(`sqlite.busyTimeoutMs must be an integer >= 0, got ${String(busyTimeoutMs)}`);
  }
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  return { durability, busyTimeoutMs };
}

/** Refuses, before SQLite touches anything, a path that is a directory or that we may not write. */
function checkPath(url: string, path: string): void {
  let isNew = false;
  try {
    const stats = statSync(path);
    if (stats.isDirectory())
      throw new StoreOpenError(url, `cannot open the SQLite store '${path}': it is a directory`);
    if (!stats.isFile())
      throw new StoreOpenError(url, `cannot open the SQLite store '${path}': not a regular file`);
  } catch (error) {
    if (error instanceof StoreOpenError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StoreOpenError(
        url,
        `cannot open the SQLite store '${path}': ${(error as Error).message}`,
        error,
      );
    }
    isNew = true;
  }
  const directory = dirname(path);
  try {
    if (isNew) mkdirSync(directory, { recursive: true });
    // WAL keeps two files beside the database, so the directory must be writable too.
    accessSync(directory, constants.W_OK);
    if (!isNew) accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new StoreOpenError(url, `cannot open the SQLite store '${path}': ${reason}`, error);
  }
}

function describeSqliteError(error: unknown): string {
  const { errstr, message } = error as { errstr?: string; message?: string };
  if (/not a database/i.test(message ?? '')) return 'the file is not a SQLite database';
  return errstr ?? message ?? String(error);
}

/**
 * Runs `step` again while SQLite answers SQLITE_BUSY, for up to `timeoutMs`. Connections opening a
 * new file together all switch it to WAL, which needs an exclusive lock: SQLite answers one of
 * two connections waiting for each other BUSY at once, without its busy handler (a deadlock
 * otherwise), so the wait is here. Only at open: the store is synchronous, so it sleeps.
 */
function whenNotBusy<T>(timeoutMs: number, step: () => T): T {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return step();
    } catch (error) {
      if ((((error as { errcode?: number }).errcode ?? 0) & 0xff) !== SQLITE_BUSY || Date.now() >= deadline) {
        throw error;
      }
      Atomics.wait(SLEEPER, 0, 0, Math.min(50, 2 ** attempt));
    }
  }
}

const SQLITE_BUSY = 5;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** Opens (creating and migrating if needed) the SQLite store of a 'sqlite:<path>' URL. */
export function openSqliteStore(url: string, options: OpenStoreOptions = {}): Store {
  const settings = validate(options);
  const given = sqlitePathOf(url);
  const inMemory = given === ':memory:';
  const path = inMemory ? given : resolve(given);
  if (!inMemory) checkPath(url, path);

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: settings.busyTimeoutMs, enableForeignKeyConstraints: true });
  } catch (error) {
    throw new StoreOpenError(
      url,
      `cannot open the SQLite store '${path}': ${describeSqliteError(error)}`,
      error,
    );
  }
  try {
    // Reads only, until we know the file is a database whose schema we understand.
    const found = whenNotBusy(settings.busyTimeoutMs, () => recordedVersion(db));
    const latest = latestVersion(SQLITE_MIGRATIONS);
    if (found > latest) throw new StoreSchemaError(found, latest);

    const mode = whenNotBusy(
      settings.busyTimeoutMs,
      () => (db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string }).journal_mode,
    );
    if (!inMemory && mode !== 'wal') throw new Error(`journal_mode is '${mode}', WAL could not be enabled`);
    db.exec(`PRAGMA synchronous = ${settings.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.exec('PRAGMA foreign_keys = ON');
    const version = migrate(db, SQLITE_MIGRATIONS);
    return new SqliteStore(url, db, version);
  } catch (error) {
    db.close();
    if (error instanceof StoreSchemaError) throw error;
    throw new StoreOpenError(
      url,
      `cannot open the SQLite store '${path}': ${describeSqliteError(error)}`,
      error,
    );
  }
}
