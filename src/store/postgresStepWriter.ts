// Group commit of workflow steps on PostgreSQL: one statement in flight at a time; records that
// arrive meanwhile are written together in the next one, each caller learning its own outcome.
// The writer keeps one connection of the pool for itself (when the pool has more than one): no
// pool checkout per step, and its statements stay prepared on it.

import type pg from 'pg';
import type { StepRecord } from './types.ts';

// Fenced in the same statement: the row is written only while `owner` runs the workflow. FOR SHARE
// makes a concurrent claim or cancel wait for this commit (and this insert wait for theirs, then
// see the new owner), so a step is never recorded by an executor that has already lost the workflow.
const RECORD_ONE = `
  INSERT INTO rebound_steps
    (workflow_id, position, name, status, output, checksum, attempts, started_at, ended_at)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
  FROM rebound_workflows
  WHERE id = $1 AND owner = $10 AND status = 'running'
  FOR SHARE
  ON CONFLICT (workflow_id, position) DO NOTHING`;

const RECORD_MANY = `
  INSERT INTO rebound_steps
    (workflow_id, position, name, status, output, checksum, attempts, started_at, ended_at)
  SELECT s.workflow_id, s.position, s.name, s.status, s.output, s.checksum, s.attempts,
         s.started_at, s.ended_at
  FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::integer[], $8::bigint[], $9::bigint[], $10::text[])
       AS s(workflow_id, position, name, status, output, checksum, attempts, started_at, ended_at, owner)
  JOIN rebound_workflows w ON w.id = s.workflow_id AND w.owner = s.owner AND w.status = 'running'
  FOR SHARE OF w
  ON CONFLICT (workflow_id, position) DO NOTHING
  RETURNING workflow_id, position`;

/** Bounds one statement's size; a longer queue is written in several. */
const MAX_BATCH = 512;

interface PendingStep {
  readonly step: StepRecord;
  readonly owner: string;
  readonly resolve: (recorded: boolean) => void;
  readonly reject: (error: unknown) => void;
}

function keyOf(step: StepRecord): string {
  return `${step.position}\u0000${step.workflowId}`;
}

export class PostgresStepWriter {
  private readonly pool: pg.Pool;
  private readonly dedicated: boolean;
  private client: pg.PoolClient | undefined;
  private queue: PendingStep[] = [];
  private writing: Promise<void> | undefined;

  constructor(pool: pg.Pool, poolSize: number) {
    this.pool = pool;
    // With a single connection, keeping it would starve every other query.
    this.dedicated = poolSize > 1;
  }

  record(step: StepRecord, owner: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ step, owner, resolve, reject });
      this.writing ??= this.writeQueued();
    });
  }

  /** Writes what is queued, then gives the writer's connection back to the pool. */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    this.dropClient();
  }

  private async connection(): Promise<pg.Pool | pg.PoolClient> {
    if (!this.dedicated) return this.pool;
    if (!this.client) {
      const client = await this.pool.connect();
      // A checked-out client's connection errors are ours to handle (the pool only watches idle ones).
      client.on('error', (error) => this.dropClient(client, error));
      this.client = client;
    }
    return this.client;
  }

  private dropClient(client = this.client, error?: Error): void {
    if (!client || client !== this.client) return;
    this.client = undefined;
    client.release(error);
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      try {
        if (batch.length === 1) await this.writeOne(batch[0]!);
        else await this.writeMany(batch);
      } catch (error) {
        // A connection-level failure (no server severity) leaves the connection unusable.
        if (!(error as { severity?: unknown }).severity) this.dropClient(this.client, error as Error);
        for (const pending of batch) pending.reject(error);
      }
    }
    this.writing = undefined;
  }

  private takeBatch(): PendingStep[] {
    const queue = this.queue;
    if (queue.length === 1) {
      this.queue = [];
      return queue;
    }
    // Two records of one position in one statement would leave unclear which of them won: the later
    // one waits for the next statement, where it is refused like any second record.
    const batch: PendingStep[] = [];
    const rest: PendingStep[] = [];
    const keys = new Set<string>();
    for (const pending of queue) {
      const key = keyOf(pending.step);
      if (batch.length >= MAX_BATCH || keys.has(key)) {
        rest.push(pending);
      } else {
        keys.add(key);
        batch.push(pending);
      }
    }
    this.queue = rest;
    return batch;
  }

  private async writeOne(pending: PendingStep): Promise<void> {
    const { step } = pending;
    const connection = await this.connection();
    const result = await connection.query({
      name: 'rebound_record_step',
      text: RECORD_ONE,
      values: [
        step.workflowId,
        step.position,
        step.name,
        step.status,
        step.output,
        step.checksum,
        step.attempts,
        step.startedAt,
        step.endedAt,
        pending.owner,
      ],
    });
    pending.resolve(result.rowCount === 1);
  }

  private async writeMany(batch: readonly PendingStep[]): Promise<void> {
    const columns: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
    for (const { step, owner } of batch) {
      columns[0]!.push(step.workflowId);
      columns[1]!.push(step.position);
      columns[2]!.push(step.name);
      columns[3]!.push(step.status);
      columns[4]!.push(step.output);
      columns[5]!.push(step.checksum);
      columns[6]!.push(step.attempts);
      columns[7]!.push(step.startedAt);
      columns[8]!.push(step.endedAt);
      columns[9]!.push(owner);
    }
    const connection = await this.connection();
    const result = await connection.query<{ workflow_id: string; position: number }>({
      name: 'rebound_record_steps',
      text: RECORD_MANY,
      values: columns,
    });
    const recorded = new Set<string>();
    for (const row of result.rows) recorded.add(`${row.position}\u0000${row.workflow_id}`);
    for (const pending of batch) pending.resolve(recorded.has(keyOf(pending.step)));
  }
}
