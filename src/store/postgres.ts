// The PostgreSQL store (`postgres://`): the Store interface on a `pg` Pool, for several processes or
// machines sharing one database. Schema from postgresMigrations.ts, group commit of workflow writes
// (creates, step records, finishes) from postgresWorkflowWriter.ts. Every statement is named, so
// each connection parses and plans it once.

import pg from 'pg';
import { InvalidOptionsError } from '../policies/index.ts';
import { StoreClosedError, StoreOpenError, StoreSchemaError, StoreUrlError } from './errors.ts';
import { migrate } from './postgresMigrations.ts';
import { PostgresWorkflowWriter } from './postgresWorkflowWriter.ts';
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
  Store,
  StoredRecord,
  WorkflowFilter,
  WorkflowRecord,
  WorkflowStore,
} from './types.ts';

export interface PostgresStoreOptions {
  /** Connections in the pool. */
  poolSize?: number;
  /** How long opening a connection may take before it fails. */
  connectTimeoutMs?: number;
  /** openStore passes every option it was given; the ones for other adapters are ignored. */
  [option: string]: unknown;
}

export const POSTGRES_STORE_DEFAULTS = { poolSize: 10, connectTimeoutMs: 10_000 } as const;

// BIGINT (int8, oid 20) is parsed as a number: times are epoch milliseconds, far below 2^53. Set on
// this pool's clients only, never on pg's global parsers, which the application may rely on.
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** The URL with any password replaced by `***`. */
export function maskPostgresUrl(url: string): string {
  // Textual, so the rest of the URL stays exactly as given, and a URL the parser rejects is masked too.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#]*@/i, '$1:***@');
}

function validate(options: PostgresStoreOptions): { poolSize: number; connectTimeoutMs: number } {
  const merged = {
    poolSize: options.poolSize ?? POSTGRES_STORE_DEFAULTS.poolSize,
    connectTimeoutMs: options.connectTimeoutMs ?? POSTGRES_STORE_DEFAULTS.connectTimeoutMs,
  };
  const problems: string[] = [];
  if (!Number.isInteger(merged.poolSize) || merged.poolSize < 1) {
    problems.push(`postgres.poolSize must be an integer >= 1, got ${String(merged.poolSize)}`);
  }
  if (typeof merged.connectTimeoutMs !== 'number' || !(merged.connectTimeoutMs > 0)) {
    problems.push(`postgres.connectTimeoutMs must be > 0, got ${String(merged.connectTimeoutMs)}`);
  }
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  return merged;
}

function describeFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused (is the server running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  // Server refusals (wrong password, no such database) say it themselves, without the password.
  if (code === '28P01' || code === '28000' || code === '3D000') return message;
  if (/timeout/i.test(message)) return `no answer: ${message}`;
  return typeof code === 'string' ? `${message} (${code})` : message;
}

/** Opens (and migrates) a PostgreSQL store. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const settings = validate(options);
  const masked = maskPostgresUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreUrlError(masked, `malformed PostgreSQL URL: ${masked}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StoreUrlError(masked, `not a PostgreSQL URL (postgres://…): ${masked}`);
  }
  const host = parsed.hostname || 'localhost';
  const port = parsed.port || '5432';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username);
  const where = `database "${database}" at ${host}:${port}`;

  const pool = new pg.Pool({
    connectionString: url,
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    application_name: 'rebound',
    types,
  });
  // An idle connection the server drops would otherwise be an unhandled 'error' event; the pool
  // discards that client and opens another when needed.
  pool.on('error', () => {});

  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new StoreOpenError(masked, `cannot open the PostgreSQL ${where}: ${describeFailure(error)}`, error);
  }
  let schemaVersion: number;
  try {
    schemaVersion = await migrate(client);
    client.release();
  } catch (error) {
    client.release(true);
    await pool.end().catch(() => {});
    if (error instanceof StoreSchemaError) throw error;
    throw new StoreOpenError(
      masked,
      `cannot migrate the PostgreSQL ${where}: ${describeFailure(error)}`,
      error,
    );
  }
  return new PostgresStore(pool, masked, schemaVersion, settings.poolSize);
}

const IDEMPOTENCY_COLUMNS = `key, name, params_hash AS "paramsHash", status, owner, result,
  created_at AS "createdAt", lease_until AS "leaseUntil", expires_at AS "expiresAt"`;
const WORKFLOW_COLUMNS = `id, name, status, input, output, error, owner,
  created_at AS "createdAt", updated_at AS "updatedAt"`;
const STEP_COLUMNS = `workflow_id AS "workflowId", position, name, status, output, checksum, attempts,
  started_at AS "startedAt", ended_at AS "endedAt"`;

// One statement: insert, or take over a record that expired or whose in-progress lease lapsed.
// xmax is 0 on a freshly inserted row and set on one that ON CONFLICT updated: the takeover flag.
const CLAIM = `
  INSERT INTO rebound_idempotency AS r
    (key, name, params_hash, status, owner, result, created_at, lease_until, expires_at)
  VALUES ($1, $2, $3, 'in-progress', $4, NULL, $5, $6, $7)
  ON CONFLICT (key) DO UPDATE SET
    name = EXCLUDED.name, params_hash = EXCLUDED.params_hash, status = 'in-progress',
    owner = EXCLUDED.owner, result = NULL, created_at = EXCLUDED.created_at,
    lease_until = EXCLUDED.lease_until, expires_at = EXCLUDED.expires_at
  WHERE r.expires_at <= $5 OR (r.status = 'in-progress' AND r.lease_until <= $5)
  RETURNING (r.xmax::text <> '0') AS "takenOver"`;

const UNFINISHED = `status IN ('pending', 'running')`;

const RECORD_COLUMNS = 'kind, id, service, at, data';

class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly url: string;
  readonly schemaVersion: number;
  readonly idempotency: IdempotencyStore;
  readonly workflows: WorkflowStore;
  readonly kv: KeyValueStore;
  readonly records: RecordStore;
  private readonly pool: pg.Pool;
  private readonly writer: PostgresWorkflowWriter;
  private closing: Promise<void> | undefined;

  constructor(pool: pg.Pool, url: string, schemaVersion: number, poolSize: number) {
    this.pool = pool;
    this.url = url;
    this.schemaVersion = schemaVersion;
    this.writer = new PostgresWorkflowWriter(pool, poolSize);
    this.idempotency = {
      claim: (claim) => this.claimKey(claim),
      complete: async (key, owner, result, expiresAt) =>
        (
          await this.run(
            'rebound_idempotency_complete',
            `UPDATE rebound_idempotency SET status = 'completed', result = $3, expires_at = $4
           WHERE key = $1 AND owner = $2 AND status = 'in-progress'`,
            [key, owner, result, expiresAt],
          )
        ).rowCount === 1,
      renew: async (key, owner, leaseUntil) =>
        (
          await this.run(
            'rebound_idempotency_renew',
            `UPDATE rebound_idempotency SET lease_until = $3
           WHERE key = $1 AND owner = $2 AND status = 'in-progress'`,
            [key, owner, leaseUntil],
          )
        ).rowCount === 1,
      release: async (key, owner) => {
        await this.run(
          'rebound_idempotency_release',
          `DELETE FROM rebound_idempotency WHERE key = $1 AND owner = $2 AND status = 'in-progress'`,
          [key, owner],
        );
      },
      get: async (key) => this.readIdempotency(key),
      purgeExpired: async (now) =>
        (
          await this.run(
            'rebound_idempotency_purge',
            'DELETE FROM rebound_idempotency WHERE expires_at <= $1',
            [now],
          )
        ).rowCount ?? 0,
    };
    this.workflows = {
      create: (workflow) => {
        if (this.closing) return Promise.reject(new StoreClosedError());
        return this.writer.create(workflow);
      },
      get: async (id) =>
        (
          await this.run<WorkflowRecord>(
            'rebound_get_workflow',
            `SELECT ${WORKFLOW_COLUMNS} FROM rebound_workflows WHERE id = $1`,
            [id],
          )
        ).rows[0],
      list: (filter) => this.listWorkflows(filter ?? {}),
      steps: async (workflowId) =>
        (
          await this.run<StepRecord>(
            'rebound_steps',
            `SELECT ${STEP_COLUMNS} FROM rebound_steps WHERE workflow_id = $1 ORDER BY position`,
            [workflowId],
          )
        ).rows,
      recordStep: (step, owner) => {
        if (this.closing) return Promise.reject(new StoreClosedError());
        return this.writer.record(step, owner);
      },
      finish: (id, owner, outcome, now) => {
        if (this.closing) return Promise.reject(new StoreClosedError());
        return this.writer.finish(id, owner, outcome, now);
      },
      cancel: async (id, now) =>
        (
          await this.run(
            'rebound_cancel_workflow',
            `UPDATE rebound_workflows SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND ${UNFINISHED}`,
            [id, now],
          )
        ).rowCount === 1,
      claim: async (id, owner, expectedOwner, now) =>
        (
          await this.run(
            'rebound_claim_workflow',
            `UPDATE rebound_workflows SET owner = $2, status = 'running', updated_at = $4
           WHERE id = $1 AND owner IS NOT DISTINCT FROM $3 AND ${UNFINISHED}`,
            [id, owner, expectedOwner, now],
          )
        ).rowCount === 1,
      heartbeat: async (executor) => {
        await this.run(
          'rebound_heartbeat',
          `INSERT INTO rebound_executors (id, host, pid, heartbeat_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
             heartbeat_at = EXCLUDED.heartbeat_at`,
          [executor.id, executor.host, executor.pid, executor.heartbeatAt],
        );
      },
      removeExecutor: async (id) => {
        await this.run('rebound_remove_executor', 'DELETE FROM rebound_executors WHERE id = $1', [id]);
      },
      executors: async () =>
        (
          await this.run<ExecutorRecord>(
            'rebound_executors',
            `SELECT id, host, pid, heartbeat_at AS "heartbeatAt" FROM rebound_executors ORDER BY id`,
          )
        ).rows,
    };
    this.kv = {
      get: async (namespace, key) =>
        (
          await this.run<KeyValueEntry>(
            'rebound_kv_get',
            `SELECT key, value, updated_at AS "updatedAt" FROM rebound_kv WHERE namespace = $1 AND key = $2`,
            [namespace, key],
          )
        ).rows[0],
      set: async (namespace, key, value, now) => {
        await this.run(
          'rebound_kv_set',
          `INSERT INTO rebound_kv (namespace, key, value, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
          [namespace, key, value, now],
        );
      },
      delete: async (namespace, key) => {
        await this.run('rebound_kv_delete', 'DELETE FROM rebound_kv WHERE namespace = $1 AND key = $2', [
          namespace,
          key,
        ]);
      },
      list: async (namespace) =>
        (
          await this.run<KeyValueEntry>(
            'rebound_kv_list',
            `SELECT key, value, updated_at AS "updatedAt" FROM rebound_kv WHERE namespace = $1 ORDER BY key`,
            [namespace],
          )
        ).rows,
    };
    this.records = {
      // One statement in autocommit: committed (and durable, with the server's synchronous_commit)
      // before the promise resolves.
      put: async (record) => {
        await this.run(
          'rebound_records_put',
          `INSERT INTO rebound_records (kind, id, service, at, data) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (kind, id) DO UPDATE SET service = EXCLUDED.service, at = EXCLUDED.at,
             data = EXCLUDED.data`,
          [record.kind, record.id, record.service, record.at, record.data],
        );
      },
      get: async (kind, id) =>
        (
          await this.run<StoredRecord>(
            'rebound_records_get',
            `SELECT ${RECORD_COLUMNS} FROM rebound_records WHERE kind = $1 AND id = $2`,
            [kind, id],
          )
        ).rows[0],
      list: (kind, filter) => this.listRecords(kind, filter ?? {}),
      delete: async (kind, id) =>
        (
          await this.run(
            'rebound_records_delete',
            'DELETE FROM rebound_records WHERE kind = $1 AND id = $2',
            [kind, id],
          )
        ).rowCount === 1,
      prune: async (kind, before) =>
        (
          await this.run('rebound_records_prune', 'DELETE FROM rebound_records WHERE kind = $1 AND at < $2', [
            kind,
            before,
          ])
        ).rowCount ?? 0,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.writer.close();
      await this.pool.end();
    })();
    return this.closing;
  }

  /** Runs a statement on a pooled connection, prepared there under `name` the first time. */
  private async run<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    if (this.closing) throw new StoreClosedError();
    return this.pool.query<Row>({ name, text, values });
  }

  private async readIdempotency(key: string): Promise<IdempotencyRecord | undefined> {
    const { rows } = await this.run<IdempotencyRecord>(
      'rebound_idempotency_get',
      `SELECT ${IDEMPOTENCY_COLUMNS} FROM rebound_idempotency WHERE key = $1`,
      [key],
    );
    return rows[0];
  }

  private async claimKey(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    // Not claimed and then gone (released in between): claim again. Bounded, since each round
    // needs another process to delete the record between our two statements.
    for (let round = 0; ; round++) {
      const { rows } = await this.run<{ takenOver: boolean }>('rebound_idempotency_claim', CLAIM, [
        claim.key,
        claim.name,
        claim.paramsHash,
        claim.owner,
        claim.now,
        claim.leaseUntil,
        claim.expiresAt,
      ]);
      if (rows[0]) return { claimed: true, takenOver: rows[0].takenOver };
      const record = await this.readIdempotency(claim.key);
      if (record || round >= 10) {
        if (record) return { claimed: false, record };
        throw new Error(`idempotency key ${claim.key} kept vanishing while being claimed`);
      }
    }
  }

  private async listRecords(kind: string, filter: RecordFilter): Promise<StoredRecord[]> {
    const limit = filter.limit === undefined ? undefined : Math.max(0, Math.floor(filter.limit));
    if (limit === 0) return [];
    const conditions = ['kind = $1'];
    const values: unknown[] = [kind];
    let name = 'rebound_records_list_';
    if (filter.service !== undefined) {
      values.push(filter.service);
      conditions.push(`service = $${values.length}`);
      name += 's';
    }
    if (filter.since !== undefined) {
      values.push(filter.since);
      conditions.push(`at >= $${values.length}`);
      name += 'f';
    }
    if (filter.until !== undefined) {
      values.push(filter.until);
      conditions.push(`at < $${values.length}`);
      name += 'u';
    }
    let text = `SELECT ${RECORD_COLUMNS} FROM rebound_records WHERE ${conditions.join(' AND ')}
      ORDER BY at DESC, id DESC`;
    if (limit !== undefined) {
      values.push(limit);
      text += ` LIMIT $${values.length}`;
      name += 'l';
    }
    // One prepared statement per shape of filter, like listWorkflows.
    return (await this.run<StoredRecord>(name, text, values)).rows;
  }

  private async listWorkflows(filter: WorkflowFilter): Promise<WorkflowRecord[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (filter.status !== undefined) {
      values.push(typeof filter.status === 'string' ? [filter.status] : [...filter.status]);
      conditions.push(`status = ANY($${values.length}::text[])`);
    }
    if (filter.name !== undefined) {
      values.push(filter.name);
      conditions.push(`name = $${values.length}`);
    }
    if (filter.owner !== undefined) {
      values.push(filter.owner);
      conditions.push(`owner = $${values.length}`);
    }
    let text = `SELECT ${WORKFLOW_COLUMNS} FROM rebound_workflows`;
    if (conditions.length > 0) text += ` WHERE ${conditions.join(' AND ')}`;
    text += ' ORDER BY created_at DESC, seq DESC';
    if (filter.limit !== undefined) {
      values.push(filter.limit);
      text += ` LIMIT $${values.length}`;
    }
    // One prepared statement per shape of filter: the text depends on nothing else.
    const name = `rebound_list_${filter.status !== undefined ? 's' : ''}${filter.name !== undefined ? 'n' : ''}${
      filter.owner !== undefined ? 'o' : ''
    }${filter.limit !== undefined ? 'l' : ''}`;
    return (await this.run<WorkflowRecord>(name, text, values)).rows;
  }
}
