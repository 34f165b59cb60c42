// The SQL of the PostgreSQL workflow writer (postgresWorkflowWriter.ts): one statement per kind of
// write for a write alone, and the statement that carries a batch of several, with what it answers.

import type { WorkflowRecord } from './types.ts';

const WORKFLOW_COLUMNS = `id, name, status, input, output, error, owner,
  created_at AS "createdAt", updated_at AS "updatedAt"`;
const UNFINISHED = `status IN ('pending', 'running')`;

// Fenced in the same statement: the row is written only while `owner` runs the workflow. FOR SHARE
// makes a concurrent claim or cancel wait for this commit (and this insert wait for theirs, then
// see the new owner), so a step is never recorded by an executor that has already lost the workflow.
// A second record at one position breaks the primary key, which answers false (see refusedTwice):
// cheaper than ON CONFLICT's speculative insertion, for a case the engine never causes.
export const RECORD_ONE = `
  INSERT INTO rebound_steps
    (workflow_id, position, name, status, output, checksum, attempts, started_at, ended_at)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
  FROM rebound_workflows
  WHERE id = $1 AND owner = $10 AND status = 'running'
  FOR SHARE`;

// A created workflow is stored exactly as given, so only its id comes back (see createdRecord).
export const CREATE_ONE = `
  INSERT INTO rebound_workflows (id, name, status, input, output, error, owner, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

export const FINISH_ONE = `
  UPDATE rebound_workflows SET status = $3, output = $4, error = $5, updated_at = $6
  WHERE id = $1 AND owner = $2 AND ${UNFINISHED}`;

export const GET_ONE = `SELECT ${WORKFLOW_COLUMNS} FROM rebound_workflows WHERE id = $1`;

// Several writes in one statement: a data-modifying CTE per kind, over arrays (unnest). They all see
// the snapshot the statement started with, so a batch never holds two writes to one workflow that
// depend on each other (see the writer's takeBatch). The writer's connection uses generic plans
// only (planning this statement costs more than running it), so each part reaches
// rebound_workflows through its primary key whatever the arrays hold: by = ANY, or per row in a
// LATERAL subquery.
export const CREATE_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint'];
export const FINISH_TYPES = ['text', 'text', 'text', 'text', 'text', 'bigint'];
export const STEP_TYPES = [
  'text',
  'integer',
  'text',
  'text',
  'text',
  'text',
  'integer',
  'bigint',
  'bigint',
  'text',
];
const NO_RECORD = 'NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL';

function arrays(first: number, types: readonly string[]): string {
  return types.map((type, index) => `$${first + index}::${type}[]`).join(', ');
}

/** The statement for a batch holding these kinds of writes; parameters: creates', finishes', steps' arrays. */
export function batchStatement(creates: boolean, finishes: boolean, steps: boolean): string {
  const parts: string[] = [];
  const answers: string[] = [];
  let next = 1;
  if (creates) {
    parts.push(`created AS (
      INSERT INTO rebound_workflows (id, name, status, input, output, error, owner, created_at, updated_at)
      SELECT c.id, c.name, c.status, c.input, c.output, c.error, c.owner, c.created_at, c.updated_at
      FROM unnest(${arrays(next, CREATE_TYPES)}) WITH ORDINALITY
           AS c(id, name, status, input, output, error, owner, created_at, updated_at, ordinal)
      ORDER BY c.ordinal
      ON CONFLICT (id) DO NOTHING
      RETURNING id)`);
    answers.push(
      `SELECT 'created', id, NULL::integer, ${NO_RECORD} FROM created`,
      // What a create that found its id taken answers: the record as of the statement's snapshot.
      `SELECT 'existing', id, NULL, name, status, input, output, error, owner, created_at, updated_at
       FROM rebound_workflows WHERE id = ANY($${next}::text[])`,
    );
    next += CREATE_TYPES.length;
  }
  if (finishes) {
    parts.push(`finished AS (
      UPDATE rebound_workflows w
         SET status = f.status, output = f.output, error = f.error, updated_at = f.updated_at
      FROM unnest(${arrays(next, FINISH_TYPES)}) AS f(id, owner, status, output, error, updated_at)
      WHERE w.id = ANY($${next}::text[]) AND w.id = f.id AND w.owner = f.owner AND w.${UNFINISHED}
      RETURNING w.id)`);
    answers.push(`SELECT 'finished', id, NULL::integer, ${NO_RECORD} FROM finished`);
    next += FINISH_TYPES.length;
  }
  if (steps) {
    // No ON CONFLICT, as in RECORD_ONE: a second record at one position fails the statement, and
    // each of its writes is then tried on its own.
    parts.push(`recorded AS (
      INSERT INTO rebound_steps
        (workflow_id, position, name, status, output, checksum, attempts, started_at, ended_at)
      SELECT s.workflow_id, s.position, s.name, s.status, s.output, s.checksum, s.attempts,
             s.started_at, s.ended_at
      FROM unnest(${arrays(next, STEP_TYPES)})
           AS s(workflow_id, position, name, status, output, checksum, attempts, started_at, ended_at, owner)
      CROSS JOIN LATERAL (
        SELECT FROM rebound_workflows w
        WHERE w.id = s.workflow_id AND w.owner = s.owner AND w.status = 'running'
        FOR SHARE
      ) AS fence
      RETURNING workflow_id, position)`);
    answers.push(`SELECT 'recorded', workflow_id, position, ${NO_RECORD} FROM recorded`);
  }
  return `WITH ${parts.join(',\n')}
    SELECT * FROM (${answers.join('\n UNION ALL ')})
      AS answer(kind, id, position, name, status, input, output, error, owner, "createdAt", "updatedAt")`;
}

export interface BatchAnswer {
  kind: 'created' | 'existing' | 'finished' | 'recorded';
  id: string;
  position: number | null;
  name: string;
  status: WorkflowRecord['status'];
  input: string;
  output: string | null;
  error: string | null;
  owner: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The primary key of rebound_steps refused a second record at one position. */
export function refusedTwice(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'rebound_steps_pkey';
}

/** The record a create stored: its values, in CREATE_ONE's parameter order, as given. */
export function createdRecord(values: readonly unknown[]): WorkflowRecord {
  const [id, name, status, input, output, error, owner, createdAt, updatedAt] = values;
  return { id, name, status, input, output, error, owner, createdAt, updatedAt } as WorkflowRecord;
}

/** The workflow record in an 'existing' answer row of a batch. */
export function recordOf(row: BatchAnswer): WorkflowRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    input: row.input,
    output: row.output,
    error: row.error,
    owner: row.owner,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
