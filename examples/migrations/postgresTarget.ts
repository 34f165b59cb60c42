// A PostgreSQL database as migration target (pg). DDL is transactional in PostgreSQL, so each
// change (its SQL and its history row) commits or rolls back as one; an advisory lock serializes
// concurrent migrators, and lock_timeout keeps a change from queueing forever behind the application.

import pg from 'pg';
import {
  type AppliedMigration,
  type Change,
  type ChangeResult,
  HISTORY_COLUMNS,
  HISTORY_TABLE,
  isTransient,
  maskUrl,
  type Pauses,
  type Target,
  type TargetOptions,
} from './target.ts';

const LOCK_NAME = `rebound-migrations:${HISTORY_TABLE}`;

export class PostgresTarget implements Target {
  readonly kind = 'postgres';
  readonly key: string;
  readonly display: string;
  private readonly pool: pg.Pool;
  private readonly lockTimeoutMs: number;

  constructor(url: string, options: TargetOptions) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--target is not a valid URL: ${maskUrl(url)}`);
    }
    const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username);
    this.key = `postgres://${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database}`;
    this.display = maskUrl(url);
    this.lockTimeoutMs = options.lockTimeoutMs;
    this.pool = new pg.Pool({
      connectionString: url,
      max: 2,
      connectionTimeoutMillis: 5_000,
      // A dry run cannot write even by mistake.
      ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
    // An idle connection the server drops is replaced on the next checkout; never a crash.
    this.pool.on('error', () => {});
  }

  async prepare(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
        id TEXT PRIMARY KEY,
        checksum TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        workflow_id TEXT NOT NULL
      )`);
    });
    const { rows } = await this.pool.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = $1`,
      [HISTORY_TABLE],
    );
    const columns = rows.map((row) => row.column_name);
    const missing = HISTORY_COLUMNS.filter((column) => !columns.includes(column));
    if (missing.length > 0) {
      throw new Error(
        `${this.key} already has a ${HISTORY_TABLE} table that this agent did not create ` +
          `(columns ${columns.join(', ')}; missing ${missing.join(', ')})`,
      );
    }
  }

  async applied(): Promise<AppliedMigration[]> {
    const exists = await this.pool.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
      HISTORY_TABLE,
    ]);
    if (!exists.rows[0]?.found) return [];
    const { rows } = await this.pool.query<{
      id: string;
      checksum: string;
      applied_at: string;
      workflow_id: string;
    }>(`SELECT id, checksum, applied_at, workflow_id FROM ${HISTORY_TABLE} ORDER BY applied_at, id`);
    return rows.map((row) => ({
      id: row.id,
      checksum: row.checksum,
      appliedAt: row.applied_at,
      workflowId: row.workflow_id,
    }));
  }

  async change(change: Change, workflowId: string, pauses: Pauses): Promise<ChangeResult> {
    const began = performance.now();
    const outcome = await this.transaction(async (client) => {
      const { rowCount } = await client.query(`SELECT 1 FROM ${HISTORY_TABLE} WHERE id = $1`, [change.id]);
      if ((rowCount ?? 0) > 0 === (change.direction === 'up')) return 'already' as const;
      // No parameters: the simple query protocol, so a migration may hold several statements.
      await client.query(change.sql);
      const durationMs = Math.round(performance.now() - began);
      if (change.direction === 'up') {
        await client.query(
          `INSERT INTO ${HISTORY_TABLE} (id, checksum, applied_at, duration_ms, workflow_id) VALUES ($1, $2, $3, $4, $5)`,
          [change.id, change.checksum, new Date().toISOString(), durationMs, workflowId],
        );
      } else {
        await client.query(`DELETE FROM ${HISTORY_TABLE} WHERE id = $1`, [change.id]);
      }
      await pauses.beforeCommit();
      return 'done' as const;
    });
    const durationMs = performance.now() - began;
    if (outcome === 'done') await pauses.afterCommit();
    return { outcome, durationMs };
  }

  /**
   * Runs `body` in a transaction holding the migrators' advisory lock. A 'done' body commits; an
   * 'already' one rolls back (it changed nothing). A connection that failed is discarded, not reused.
   */
  private async transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${Math.round(this.lockTimeoutMs)}`);
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK_NAME]);
      const result = await body(client);
      await client.query(result === 'already' ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      if (!isTransient(error)) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // release(error) destroys the connection: after a transient failure it may be half dead.
      client.release(failure !== undefined && isTransient(failure) ? failure : undefined);
    }
  }

  async version(): Promise<string> {
    const { rows } = await this.pool.query<{ server_version: string }>('SHOW server_version');
    return `PostgreSQL ${rows[0]?.server_version.split(' ')[0] ?? '?'}`;
  }

  async sizeBytes(): Promise<number> {
    const { rows } = await this.pool.query<{ size: string }>(
      'SELECT pg_database_size(current_database())::text AS size',
    );
    return Number(rows[0]?.size);
  }

  async tableCount(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    );
    return rows[0]?.n ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
