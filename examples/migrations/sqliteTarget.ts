// A SQLite database as migration target (node:sqlite). Each change runs in BEGIN IMMEDIATE, which
// takes the write lock before the history table is read, so two migrators cannot both apply it.

import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import {
  type AppliedMigration,
  type Change,
  type ChangeResult,
  HISTORY_COLUMNS,
  HISTORY_TABLE,
  type Pauses,
  type Target,
  type TargetOptions,
} from './target.ts';

export function openSqliteTarget(path: string, options: TargetOptions): Target {
  // A dry run must not create the file: a missing database is an empty one.
  if (options.readOnly && !existsSync(path)) return new MissingSqliteTarget(path);
  return new SqliteTarget(path, options);
}

class SqliteTarget implements Target {
  readonly kind = 'sqlite';
  readonly key: string;
  readonly display: string;
  private readonly db: DatabaseSync;

  constructor(path: string, options: TargetOptions) {
    this.key = `sqlite:${path}`;
    this.display = path;
    try {
      // timeout: SQLite's busy timeout; past it SQLITE_BUSY, which the agent retries with backoff.
      this.db = new DatabaseSync(path, { readOnly: options.readOnly, timeout: options.lockTimeoutMs });
    } catch (error) {
      throw new Error(`cannot open the SQLite target ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async prepare(): Promise<void> {
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
      id TEXT PRIMARY KEY,
      checksum TEXT NOT NULL,
      applied_at TEXT NOT NULL,
      duration_ms INTEGER NOT NULL,
      workflow_id TEXT NOT NULL
    )`);
    const columns = this.db
      .prepare(`SELECT name FROM pragma_table_info('${HISTORY_TABLE}')`)
      .all()
      .map((row) => String(row.name));
    const missing = HISTORY_COLUMNS.filter((column) => !columns.includes(column));
    if (missing.length > 0) {
      throw new Error(
        `${this.display} already has a ${HISTORY_TABLE} table that this agent did not create ` +
          `(columns ${columns.join(', ')}; missing ${missing.join(', ')})`,
      );
    }
  }

  async applied(): Promise<AppliedMigration[]> {
    const table = this.db
      .prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`)
      .get(HISTORY_TABLE);
    if (table === undefined) return [];
    return this.db
      .prepare(
        `SELECT id, checksum, applied_at, workflow_id FROM ${HISTORY_TABLE} ORDER BY applied_at, rowid`,
      )
      .all()
      .map((row) => ({
        id: String(row.id),
        checksum: String(row.checksum),
        appliedAt: String(row.applied_at),
        workflowId: String(row.workflow_id),
      }));
  }

  async change(change: Change, workflowId: string, pauses: Pauses): Promise<ChangeResult> {
    const db = this.db;
    const began = performance.now();
    db.exec('BEGIN IMMEDIATE');
    try {
      const recorded = db.prepare(`SELECT 1 FROM ${HISTORY_TABLE} WHERE id = ?`).get(change.id) !== undefined;
      if (recorded === (change.direction === 'up')) {
        db.exec('ROLLBACK');
        return { outcome: 'already', durationMs: performance.now() - began };
      }
      db.exec(change.sql);
      const durationMs = Math.round(performance.now() - began);
      if (change.direction === 'up') {
        db.prepare(
          `INSERT INTO ${HISTORY_TABLE} (id, checksum, applied_at, duration_ms, workflow_id) VALUES (?, ?, ?, ?, ?)`,
        ).run(change.id, change.checksum, new Date().toISOString(), durationMs, workflowId);
      } else {
        db.prepare(`DELETE FROM ${HISTORY_TABLE} WHERE id = ?`).run(change.id);
      }
      await pauses.beforeCommit();
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
    const durationMs = performance.now() - began;
    await pauses.afterCommit();
    return { outcome: 'done', durationMs };
  }

  async version(): Promise<string> {
    const row = this.db.prepare('SELECT sqlite_version() AS version').get();
    return `SQLite ${String(row?.version)}`;
  }

  async sizeBytes(): Promise<number> {
    const count = this.db.prepare('SELECT page_count FROM pragma_page_count()').get();
    const size = this.db.prepare('SELECT page_size FROM pragma_page_size()').get();
    return Number(count?.page_count) * Number(size?.page_size);
  }

  async tableCount(): Promise<number> {
    const row = this.db
      .prepare(
        `SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`,
      )
      .get();
    return Number(row?.n);
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

/** The dry-run view of a SQLite file that does not exist yet: empty, and created by the real run. */
class MissingSqliteTarget implements Target {
  readonly kind = 'sqlite';
  readonly key: string;
  readonly display: string;

  constructor(path: string) {
    this.key = `sqlite:${path}`;
    this.display = `${path} (does not exist yet)`;
  }

  async prepare(): Promise<void> {
    throw new Error('a dry run does not create the target');
  }

  async applied(): Promise<AppliedMigration[]> {
    return [];
  }

  async change(): Promise<ChangeResult> {
    throw new Error('a dry run changes nothing');
  }

  async version(): Promise<string> {
    const db = new DatabaseSync(':memory:');
    try {
      return `SQLite ${String(db.prepare('SELECT sqlite_version() AS version').get()?.version)}`;
    } finally {
      db.close();
    }
  }

  async sizeBytes(): Promise<number> {
    return 0;
  }

  async tableCount(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}
}
