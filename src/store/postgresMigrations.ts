// The PostgreSQL schema as an ordered list of migrations, and how they are applied on open: in one
// transaction under an advisory lock, so several processes opening one database at once are safe.

import type pg from 'pg';
import { StoreSchemaError } from './errors.ts';

export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  /** SQL run in the migration's transaction. */
  readonly up: string;
}

// Times are BIGINT epoch milliseconds (read back as numbers by the pool's type parser); values are
// TEXT, kept byte for byte. `seq` orders workflows created in the same millisecond.
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
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
        created_at   BIGINT NOT NULL,
        lease_until  BIGINT NOT NULL,
        expires_at   BIGINT NOT NULL
      );
      CREATE INDEX rebound_idempotency_expires ON rebound_idempotency (expires_at);

      CREATE TABLE rebound_workflows (
        id          TEXT PRIMARY KEY,
        seq         BIGINT GENERATED ALWAYS AS IDENTITY,
        name        TEXT NOT NULL,
        status      TEXT NOT NULL
                    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
        input       TEXT NOT NULL,
        output      TEXT,
        error       TEXT,
        owner       TEXT,
        created_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL
      );
      CREATE INDEX rebound_workflows_created ON rebound_workflows (created_at DESC, seq DESC);
      CREATE INDEX rebound_workflows_status ON rebound_workflows (status, created_at DESC);

      CREATE TABLE rebound_steps (
        workflow_id  TEXT NOT NULL,
        position     INTEGER NOT NULL,
        name         TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
        output       TEXT NOT NULL,
        checksum     TEXT NOT NULL,
        attempts     INTEGER NOT NULL,
        started_at   BIGINT NOT NULL,
        ended_at     BIGINT NOT NULL,
        PRIMARY KEY (workflow_id, position)
      );

      CREATE TABLE rebound_executors (
        id            TEXT PRIMARY KEY,
        host          TEXT NOT NULL,
        pid           INTEGER NOT NULL,
        heartbeat_at  BIGINT NOT NULL
      );

      CREATE TABLE rebound_kv (
        namespace   TEXT NOT NULL,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (namespace, key)
      );
    `,
  },
  {
    version: 2,
    name: 'records',
    // Ids compare in byte order (COLLATE "C"), whatever the database's collation, so records with
    // the same time list in the same order on every adapter. Both indexes end in the listing order.
    up: `
      CREATE TABLE rebound_records (
        kind     TEXT NOT NULL,
        id       TEXT COLLATE "C" NOT NULL,
        service  TEXT,
        at       BIGINT NOT NULL,
        data     TEXT NOT NULL,
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX rebound_records_at ON rebound_records (kind, at DESC, id DESC);
      CREATE INDEX rebound_records_service ON rebound_records (kind, service, at DESC, id DESC);
    `,
  },
];

/** 'rebound' in ASCII: the advisory lock every opener takes around migrations. */
const MIGRATION_LOCK = '32203520187921764';

/**
 * Brings the schema up to the newest migration and returns its version. A database recorded at a
 * newer version than this code knows is refused with StoreSchemaError, and nothing is changed.
 */
export async function migrate(
  client: pg.ClientBase,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<number> {
  const latest = migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS rebound_migrations (
        version     INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        applied_at  BIGINT NOT NULL
      )`);
    const { rows } = await client.query<{ version: number }>(
      'SELECT COALESCE(MAX(version), 0)::integer AS version FROM rebound_migrations',
    );
    const current = rows[0]?.version ?? 0;
    if (current > latest) throw new StoreSchemaError(current, latest);
    const pending = migrations
      .filter((migration) => migration.version > current)
      .sort((a, b) => a.version - b.version);
    for (const migration of pending) {
      await client.query(migration.up);
      await client.query('INSERT INTO rebound_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
    return Math.max(current, latest);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
