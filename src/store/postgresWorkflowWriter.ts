// Group commit of workflow writes on PostgreSQL: step records, workflow creates and finishes. One
// statement is in flight at a time; the writes that arrive meanwhile, and those that the answers of
// the last statement lead to within the same event-loop turn, go together in the next one, each
// caller learning its own outcome. The writer keeps one connection of the pool for itself (when the
// pool has more than one): no pool checkout per write, and its statements (in
// postgresWorkflowStatements.ts) stay prepared on it.

import type pg from 'pg';
import {
  type BatchAnswer,
  batchStatement,
  CREATE_ONE,
  CREATE_TYPES,
  FINISH_ONE,
  FINISH_TYPES,
  GET_ONE,
  RECORD_ONE,
  createdRecord,
  recordOf,
  refusedTwice,
  STEP_TYPES,
} from './postgresWorkflowStatements.ts';
import type { StepRecord, WorkflowRecord } from './types.ts';

type Created = { created: boolean; workflow: WorkflowRecord };

interface StepWrite {
  readonly kind: 'step';
  readonly id: string;
  readonly position: number;
  readonly values: unknown[];
  readonly resolve: (recorded: boolean) => void;
  readonly reject: (error: unknown) => void;
}

interface CreateWrite {
  readonly kind: 'create';
  readonly id: string;
  readonly values: unknown[];
  readonly resolve: (outcome: Created) => void;
  readonly reject: (error: unknown) => void;
}

interface FinishWrite {
  readonly kind: 'finish';
  readonly id: string;
  readonly values: unknown[];
  readonly resolve: (finished: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** A requested write; `values` taken when it was requested, in its statement's parameter order. */
type PendingWrite = StepWrite | CreateWrite | FinishWrite;

/** Bounds one statement's size; a longer queue is written in several. */
const MAX_BATCH = 512;

/** Settles once the microtasks queued so far (and those they queue) have run: process.nextTick waits for them. */
const afterMicrotasks = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

function stepKey(id: string, position: number): string {
  return `${position}\u0000${id}`;
}

export class PostgresWorkflowWriter {
  private readonly pool: pg.Pool;
  private readonly dedicated: boolean;
  private client: pg.PoolClient | undefined;
  private queue: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  private readonly statements = new Map<string, string>();

  constructor(pool: pg.Pool, poolSize: number) {
    this.pool = pool;
    // With a single connection, keeping it would starve every other query.
    this.dedicated = poolSize > 1;
  }

  /** Records a finished step, fenced by owner and running status; false if refused. */
  record(step: StepRecord, owner: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.enqueue({
        kind: 'step',
        id: step.workflowId,
        position: step.position,
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
          owner,
        ],
        resolve,
        reject,
      });
    });
  }

  /** Inserts the workflow unless its id exists; answers the stored record either way. */
  create(workflow: WorkflowRecord): Promise<Created> {
    return new Promise<Created>((resolve, reject) => {
      this.enqueue({
        kind: 'create',
        id: workflow.id,
        values: [
          workflow.id,
          workflow.name,
          workflow.status,
          workflow.input,
          workflow.output,
          workflow.error,
          workflow.owner,
          workflow.createdAt,
          workflow.updatedAt,
        ],
        resolve,
        reject,
      });
    });
  }

  /** Sets the outcome if `owner` owns the workflow and it is unfinished; false otherwise. */
  finish(
    id: string,
    owner: string,
    outcome: { status: 'succeeded' | 'failed'; output?: string; error?: string },
    now: number,
  ): Promise<boolean> {
    const values = [id, owner, outcome.status, outcome.output ?? null, outcome.error ?? null, now];
    return new Promise<boolean>((resolve, reject) => {
      this.enqueue({ kind: 'finish', id, values, resolve, reject });
    });
  }

  /** Writes what is queued, then closes the writer's connection. */
  async close(): Promise<void> {
    while (this.draining) await this.draining;
    this.dropClient();
  }

  private enqueue(write: PendingWrite): void {
    this.queue.push(write);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // The workflows that the last answers (or this turn's callers) woke up ask for their next
        // writes in microtasks: waiting for those lets them join this statement. (setImmediate
        // would catch them too, but add a pass of the event loop before every statement.)
        await afterMicrotasks();
        await this.write(this.takeBatch());
      }
    } finally {
      this.draining = undefined;
    }
  }

  /**
   * The writes for the next statement, in call order. Writes to one workflow share a statement only
   * when they are step records at different positions: anything else (a create, a finish, a second
   * record at one position) would depend on a write the statement's snapshot cannot see, so it
   * waits for the next statement, and so does every later write to that workflow.
   */
  private takeBatch(): PendingWrite[] {
    const queue = this.queue;
    if (queue.length === 1) {
      this.queue = [];
      return queue;
    }
    const batch: PendingWrite[] = [];
    const rest: PendingWrite[] = [];
    const onlySteps = new Map<string, boolean>();
    const positions = new Set<string>();
    const waiting = new Set<string>();
    for (const write of queue) {
      let fits = batch.length < MAX_BATCH && !waiting.has(write.id);
      if (fits) {
        const before = onlySteps.get(write.id);
        if (write.kind === 'step') {
          fits = before !== false && !positions.has(stepKey(write.id, write.position));
        } else {
          fits = before === undefined;
        }
      }
      if (fits) {
        batch.push(write);
        onlySteps.set(write.id, write.kind === 'step');
        if (write.kind === 'step') positions.add(stepKey(write.id, write.position));
      } else {
        rest.push(write);
        waiting.add(write.id);
      }
    }
    this.queue = rest;
    return batch;
  }

  /** Writes one batch and settles each of its writes; never throws. */
  private async write(batch: PendingWrite[]): Promise<void> {
    try {
      if (batch.length === 1) await this.writeOne(batch[0]!);
      else await this.writeMany(batch);
    } catch (error) {
      // A connection-level failure (no server severity) leaves the connection unusable, and whether
      // the statement committed unknown: every write of it fails.
      if (!(error as { severity?: unknown }).severity) {
        this.dropClient(this.client, error as Error);
        for (const write of batch) write.reject(error);
        return;
      }
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // The statement failed as a whole, so nothing of it was written: each write is tried on its
      // own, and only the one at fault fails.
      for (const write of batch) await this.write([write]);
    }
  }

  private async query<Row extends pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<Row>> {
    const connection = await this.connection();
    return connection.query<Row>({ name, text, values });
  }

  private async writeOne(write: PendingWrite): Promise<void> {
    switch (write.kind) {
      case 'step': {
        let recorded: boolean;
        try {
          recorded = (await this.query('rebound_record_step', RECORD_ONE, write.values)).rowCount === 1;
        } catch (error) {
          if (!refusedTwice(error)) throw error;
          recorded = false;
        }
        write.resolve(recorded);
        return;
      }
      case 'finish': {
        const result = await this.query('rebound_finish_workflow', FINISH_ONE, write.values);
        write.resolve(result.rowCount === 1);
        return;
      }
      case 'create': {
        const inserted = await this.query('rebound_create_workflow', CREATE_ONE, write.values);
        if (inserted.rowCount === 1) {
          write.resolve({ created: true, workflow: createdRecord(write.values) });
          return;
        }
        write.resolve({ created: false, workflow: await this.existing(write.id) });
        return;
      }
    }
  }

  /** The record a create found in its place, read after the statement that found it. */
  private async existing(id: string): Promise<WorkflowRecord> {
    const found = await this.query<WorkflowRecord>('rebound_writer_get_workflow', GET_ONE, [id]);
    if (!found.rows[0]) throw new Error(`workflow ${id} existed and then vanished while being created`);
    return found.rows[0];
  }

  private async writeMany(batch: readonly PendingWrite[]): Promise<void> {
    const creates: unknown[][] = CREATE_TYPES.map(() => []);
    const finishes: unknown[][] = FINISH_TYPES.map(() => []);
    const steps: unknown[][] = STEP_TYPES.map(() => []);
    for (const write of batch) {
      const columns = write.kind === 'create' ? creates : write.kind === 'finish' ? finishes : steps;
      for (let index = 0; index < columns.length; index++) columns[index]!.push(write.values[index]);
    }
    const shape = [creates, finishes, steps].map((columns) => (columns[0]!.length > 0 ? 1 : 0));
    const name = `rebound_write_${shape.join('')}`;
    let text = this.statements.get(name);
    if (text === undefined) {
      text = batchStatement(shape[0] === 1, shape[1] === 1, shape[2] === 1);
      this.statements.set(name, text);
    }
    const values = [creates, finishes, steps].flatMap((columns) => (columns[0]!.length > 0 ? columns : []));
    const { rows } = await this.query<BatchAnswer>(name, text, values);

    const created = new Set<string>();
    const existing = new Map<string, WorkflowRecord>();
    const finished = new Set<string>();
    const recorded = new Set<string>();
    for (const row of rows) {
      if (row.kind === 'recorded') recorded.add(stepKey(row.id, row.position!));
      else if (row.kind === 'finished') finished.add(row.id);
      else if (row.kind === 'created') created.add(row.id);
      else existing.set(row.id, recordOf(row));
    }
    const unseen: CreateWrite[] = [];
    for (const write of batch) {
      if (write.kind === 'step') write.resolve(recorded.has(stepKey(write.id, write.position)));
      else if (write.kind === 'finish') write.resolve(finished.has(write.id));
      else {
        const found = existing.get(write.id);
        if (created.has(write.id)) write.resolve({ created: true, workflow: createdRecord(write.values) });
        else if (found) write.resolve({ created: false, workflow: found });
        else unseen.push(write);
      }
    }
    // Taken by a transaction that committed after this statement's snapshot: read it now. The batch
    // is committed, so a failure here fails only the create it is about.
    for (const write of unseen) {
      try {
        write.resolve({ created: false, workflow: await this.existing(write.id) });
      } catch (error) {
        if (!(error as { severity?: unknown }).severity) this.dropClient(this.client, error as Error);
        write.reject(error);
      }
    }
  }

  private async connection(): Promise<pg.Pool | pg.PoolClient> {
    if (!this.dedicated) return this.pool;
    if (!this.client) {
      const client = await this.pool.connect();
      // A checked-out client's connection errors are ours to handle (the pool only watches idle ones).
      client.on('error', (error) => this.dropClient(client, error));
      try {
        await client.query('SET plan_cache_mode = force_generic_plan');
      } catch (error) {
        client.release(error as Error);
        throw error;
      }
      this.client = client;
    }
    return this.client;
  }

  /** Closes the writer's connection rather than giving it back: its session asks for generic plans. */
  private dropClient(client = this.client, error?: Error): void {
    if (!client || client !== this.client) return;
    this.client = undefined;
    client.release(error ?? true);
  }
}
