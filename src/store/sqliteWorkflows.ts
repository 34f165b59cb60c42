// Workflows on SQLite. Every write (create, claim, finish, cancel, step records, heartbeats) is
// group-committed: those requested within one event-loop turn run in call order inside one
// BEGIN IMMEDIATE…COMMIT on setImmediate, each on its own terms (its own fence, its own outcome, a
// constraint it breaks fails it alone), and each caller's promise resolves once that commit is durable.

import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { StoreClosedError } from './errors.ts';
import { ensureOpen, type SqliteConnection } from './sqliteConnection.ts';
import type { ExecutorRecord, StepRecord, WorkflowFilter, WorkflowRecord, WorkflowStore } from './types.ts';

/** What a queued write answers: whether it changed its row, the created-or-found workflow, or nothing. */
type Answer = 'changed' | 'created' | 'nothing';

interface PendingWrite {
  readonly statement: StatementSync;
  /** Taken when the write was requested: later changes to the caller's objects don't count. */
  readonly params: SQLInputValue[];
  readonly answer: Answer;
  readonly resolve: (value: never) => void;
  readonly reject: (error: unknown) => void;
}

const WORKFLOW_COLUMNS = `id, name, status, input, output, error, owner, created_at AS createdAt,
  updated_at AS updatedAt`;
const STEP_COLUMNS = `workflow_id AS workflowId, position, name, status, output, checksum, attempts,
  started_at AS startedAt, ended_at AS endedAt`;
const UNFINISHED = "status IN ('pending', 'running')";

export class SqliteWorkflowStore implements WorkflowStore {
  readonly #connection: SqliteConnection;
  readonly #insert: StatementSync;
  readonly #get: StatementSync;
  readonly #steps: StatementSync;
  readonly #insertStep: StatementSync;
  readonly #finish: StatementSync;
  readonly #cancel: StatementSync;
  readonly #claim: StatementSync;
  readonly #heartbeat: StatementSync;
  readonly #removeExecutor: StatementSync;
  readonly #executors: StatementSync;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #rollback: StatementSync;
  /** List statements by the shape of their filter. */
  readonly #lists = new Map<string, StatementSync>();
  #queue: PendingWrite[] = [];
  #flushScheduled = false;
  readonly #flushSoon = (): void => {
    this.#flushScheduled = false;
    this.flush();
  };

  constructor(connection: SqliteConnection) {
    const { db } = connection;
    this.#connection = connection;
    this.#insert = db.prepare(
      `INSERT INTO rebound_workflows (id, name, status, input, output, error, owner, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    this.#get = db.prepare(`SELECT ${WORKFLOW_COLUMNS} FROM rebound_workflows WHERE id = ?`);
    this.#steps = db.prepare(
      `SELECT ${STEP_COLUMNS} FROM rebound_steps WHERE workflow_id = ? ORDER BY position`,
    );
    // One statement both fences (owner, running) and refuses a second record at the position.
    this.#insertStep = db.prepare(
      `INSERT INTO rebound_steps
         (workflow_id, position, name, status, output, checksum, attempts, started_at, ended_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
        WHERE EXISTS (SELECT 1 FROM rebound_workflows WHERE id = ?1 AND owner = ?10 AND status = 'running')
       ON CONFLICT (workflow_id, position) DO NOTHING`,
    );
    this.#finish = db.prepare(
      `UPDATE rebound_workflows SET status = ?, output = ?, error = ?, updated_at = ?
        WHERE id = ? AND owner = ? AND ${UNFINISHED}`,
    );
    this.#cancel = db.prepare(
      `UPDATE rebound_workflows SET status = 'cancelled', updated_at = ? WHERE id = ? AND ${UNFINISHED}`,
    );
    this.#claim = db.prepare(
      `UPDATE rebound_workflows SET owner = ?, status = 'running', updated_at = ?
        WHERE id = ? AND owner IS ? AND ${UNFINISHED}`,
    );
    this.#heartbeat = db.prepare(
      `INSERT INTO rebound_executors (id, host, pid, heartbeat_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, heartbeat_at = excluded.heartbeat_at`,
    );
    this.#removeExecutor = db.prepare('DELETE FROM rebound_executors WHERE id = ?');
    this.#executors = db.prepare(
      'SELECT id, host, pid, heartbeat_at AS heartbeatAt FROM rebound_executors ORDER BY id',
    );
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
  }

  create(workflow: WorkflowRecord): Promise<{ created: boolean; workflow: WorkflowRecord }> {
    return this.#enqueue(
      this.#insert,
      [
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
      'created',
    );
  }

  async get(id: string): Promise<WorkflowRecord | undefined> {
    this.#enter();
    return this.#read(id);
  }

  async list(filter: WorkflowFilter = {}): Promise<WorkflowRecord[]> {
    this.#enter();
    const statuses =
      filter.status === undefined
        ? undefined
        : typeof filter.status === 'string'
          ? [filter.status]
          : [...new Set(filter.status)];
    const limit = filter.limit === undefined ? undefined : Math.max(0, Math.floor(filter.limit));
    if (statuses?.length === 0 || limit === 0) return [];

    const params: SQLInputValue[] = [...(statuses ?? [])];
    const conditions: string[] = [];
    if (statuses) conditions.push(`status IN (${statuses.map(() => '?').join(', ')})`);
    if (filter.name !== undefined) {
      conditions.push('name = ?');
      params.push(filter.name);
    }
    if (filter.owner !== undefined) {
      conditions.push('owner = ?');
      params.push(filter.owner);
    }
    if (limit !== undefined) params.push(limit);
    const shape = `${statuses?.length ?? '-'}|${conditions.join('|')}|${limit !== undefined}`;
    let statement = this.#lists.get(shape);
    if (!statement) {
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      statement = this.#connection.db.prepare(
        `SELECT ${WORKFLOW_COLUMNS} FROM rebound_workflows ${where}
          ORDER BY created_at DESC, rowid DESC ${limit !== undefined ? 'LIMIT ?' : ''}`,
      );
      this.#lists.set(shape, statement);
    }
    return (statement.all(...params) as unknown as WorkflowRecord[]).map((row) => ({ ...row }));
  }

  async steps(workflowId: string): Promise<StepRecord[]> {
    this.#enter();
    return (this.#steps.all(workflowId) as unknown as StepRecord[]).map((row) => ({ ...row }));
  }

  recordStep(step: StepRecord, owner: string): Promise<boolean> {
    return this.#enqueue(
      this.#insertStep,
      [
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
      'changed',
    );
  }

  finish(
    id: string,
    owner: string,
    outcome: { status: 'succeeded' | 'failed'; output?: string; error?: string },
    now: number,
  ): Promise<boolean> {
    const { status, output = null, error = null } = outcome;
    return this.#enqueue(this.#finish, [status, output, error, now, id, owner], 'changed');
  }

  cancel(id: string, now: number): Promise<boolean> {
    return this.#enqueue(this.#cancel, [now, id], 'changed');
  }

  claim(id: string, owner: string, expectedOwner: string | null, now: number): Promise<boolean> {
    return this.#enqueue(this.#claim, [owner, now, id, expectedOwner], 'changed');
  }

  heartbeat(executor: ExecutorRecord): Promise<void> {
    return this.#enqueue(
      this.#heartbeat,
      [executor.id, executor.host, executor.pid, executor.heartbeatAt],
      'nothing',
    );
  }

  removeExecutor(id: string): Promise<void> {
    return this.#enqueue(this.#removeExecutor, [id], 'nothing');
  }

  async executors(): Promise<ExecutorRecord[]> {
    this.#enter();
    return (this.#executors.all() as unknown as ExecutorRecord[]).map((row) => ({ ...row }));
  }

  /**
   * Commits every queued write in one transaction, in call order, and settles their promises. Also
   * run before any read, so that a read sees every write requested before it.
   */
  flush(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    if (batch.length === 1) {
      // One write alone is one statement: in autocommit it is as atomic and durable, and cheaper.
      const write = batch[0]!;
      let answer: unknown;
      try {
        answer = this.#apply(write);
      } catch (error) {
        write.reject(error);
        return;
      }
      write.resolve(answer as never);
      return;
    }
    const { db } = this.#connection;
    const answers: unknown[] = new Array(batch.length);
    const failed: boolean[] = new Array(batch.length).fill(false);
    try {
      this.#begin.run();
      for (let index = 0; index < batch.length; index++) {
        try {
          answers[index] = this.#apply(batch[index]!);
        } catch (error) {
          // A constraint error undoes only its own statement; anything that ended the transaction
          // undid the writes before it too, so it fails the whole batch.
          if (!db.isTransaction) throw error;
          failed[index] = true;
          answers[index] = error;
        }
      }
      this.#commit.run();
    } catch (error) {
      if (db.isTransaction) this.#rollback.run();
      for (const write of batch) write.reject(error);
      return;
    }
    for (let index = 0; index < batch.length; index++) {
      if (failed[index]) batch[index]!.reject(answers[index]);
      else batch[index]!.resolve(answers[index] as never);
    }
  }

  /** Runs one write (inside the batch's transaction when there is one) and returns its answer. */
  #apply(write: PendingWrite): unknown {
    const { changes } = write.statement.run(...write.params);
    if (write.answer === 'changed') return changes === 1;
    if (write.answer === 'nothing') return undefined;
    // Read back in the same transaction: the record as this commit leaves it, created or found.
    const id = write.params[0] as string;
    const workflow = this.#read(id);
    if (workflow === undefined) throw new Error(`workflow ${id} vanished while being created`);
    return { created: changes === 1, workflow };
  }

  #enqueue<T>(statement: StatementSync, params: SQLInputValue[], answer: Answer): Promise<T> {
    if (this.#connection.closed) return Promise.reject(new StoreClosedError());
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ statement, params, answer, resolve: resolve as (value: never) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flushSoon);
      }
    });
  }

  #enter(): void {
    ensureOpen(this.#connection);
    if (this.#queue.length > 0) this.flush();
  }

  #read(id: string): WorkflowRecord | undefined {
    const row = this.#get.get(id) as WorkflowRecord | undefined;
    return row && { ...row };
  }
}
