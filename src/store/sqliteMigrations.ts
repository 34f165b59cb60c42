// The SQLite schema as an ordered list of migrations, and how they are applied on open: each in its
// own BEGIN IMMEDIATE transaction, recorded in rebound_migrations, so several processes opening one
// file at once apply each migration exactly once.

import type { DatabaseSync } from 'node:sqlite';
import { StoreSchemaError } from './errors.ts';

export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  /** SQL run in the migration's transaction. */
  readonly up: string;
}

// Times are INTEGER epoch milliseconds; values are TEXT, kept byte for byte. Workflows keep their
// rowid, which orders those created in the same millisecond (last created first); their indexes
// are ascending because a backward scan of (created_at, rowid) is exactly the listing order.
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'idempotency, workflows, steps, executors, kv',
    up: `
      CREATE TABLE rebound_idempotency (
        key          TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        params_hash  TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('in-progress', 'completed')),
        owner        TEXT NOT NULL,
        result       TEXT,
        created_at   INTEGER NOT NULL,
        lease_until  INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX rebound_idempotency_expires ON rebound_idempotency (expires_at);

      CREATE TABLE rebound_workflows (
        id          TEXT PRIMARY KEY NOT NULL,
        name        TEXT NOT NULL,
        status      TEXT NOT NULL
                    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
        input       TEXT NOT NULL,
        output      TEXT,
        error       TEXT,
        owner       TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      CREATE INDEX rebound_workflows_created ON rebound_workflows (created_at);
      CREATE INDEX rebound_workflows_status ON rebound_workflows (status, created_at);

      CREATE TABLE rebound_steps (
        workflow_id  TEXT NOT NULL,
        position     INTEGER NOT NULL CHECK (position >= 0),
        name         TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
        output       TEXT NOT NULL,
        checksum     TEXT NOT NULL,
        attempts     INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        ended_at     INTEGER NOT NULL,
        PRIMARY KEY (workflow_id, position)
      ) WITHOUT ROWID;

      CREATE TABLE rebound_executors (
        id            TEXT PRIMARY KEY,
        host          TEXT NOT NULL,
        pid           INTEGER NOT NULL,
        heartbeat_at  INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE rebound_kv (
        namespace   TEXT NOT NULL,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (namespace, key)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'records',
    // A rowid table, not WITHOUT ROWID: `data` may be large (a whole incident), and SQLite keeps
    // large rows better outside the primary key's b-tree. Both indexes end in the listing order.
    up: `
      CREATE TABLE rebound_records (
        kind     TEXT NOT NULL,
        id       TEXT NOT NULL,
        service  TEXT,
        at       INTEGER NOT NULL,
        data     TEXT NOT NULL,
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX rebound_records_at ON rebound_records (kind, at, id);
      CREATE INDEX rebound_records_service ON rebound_records (kind, service, at, id);
    `,
  },
];

export function latestVersion(migrations: readonly SqliteMigration[]): number {
  return migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
}

/** The version recorded in the database, 0 when rebound never migrated it. Reads only. */
export function recordedVersion(db: DatabaseSync): number {
  const table = db
    .prepare("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'rebound_migrations'")
    .get();
  if (!table) return 0;
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS version FROM rebound_migrations').get() as {
    version: number;
  };
  return row.version;
}

/**
 * Brings the schema up to the newest migration and returns its version. A database recorded at a
 * newer version than this code knows is refused with StoreSchemaError before anything is written.
 */
export function migrate(
  db: DatabaseSync,
  migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS,
): number {
  const latest = latestVersion(migrations);
  const found = recordedVersion(db);
  if (found > latest) throw new StoreSchemaError(found, latest);
  if (found === latest) return found;

  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of ordered) {
    if (migration.version <= found) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(`CREATE TABLE IF NOT EXISTS rebound_migrations (
        version     INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        applied_at  INTEGER NOT NULL
      )`);
      // Another process may have applied it between our read and our lock.
      const current = recordedVersion(db);
      if (current > latest) throw new StoreSchemaError(current, latest);
      if (current < migration.version) {
        db.exec(migration.up);
        db.prepare('INSERT INTO rebound_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          migration.version,
          migration.name,
          Date.now(),
        );
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
  return recordedVersion(db);
}
