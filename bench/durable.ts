// Durable benchmark: a workflow of 10 steps, each returning a small JSON value, run sequentially and
// 8 at a time, on SQLite and PostgreSQL, beside DBOS Transact on the same PostgreSQL and beside the
// physical limit of each store (a bare single-row INSERT commit). Also idempotency hits on SQLite.
//
// Per-step latency is the marginal cost of a step: (time of a 10-step workflow − time of a 0-step
// workflow) / 10, so the workflow's own start and finish commits are reported apart.
//
// Disk latency on a VM drifts by tens of percent from one second to the next, so a store's bare
// commits and rebound on it are measured in interleaved rounds (bare, 10-step, 0-step, 8 at a time,
// again), and each figure is the median of its rounds: a slow moment hurts both sides alike.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { idempotency, workflows } from 'rebound/durable';
import { openStore, type Store } from 'rebound/store';
import { startThrowawayPostgres } from '../scripts/postgres.ts';
import { machine, table } from './harness.ts';

const STEPS = 10;
const SEQUENTIAL_WORKFLOWS = Number(process.env.BENCH_WORKFLOWS ?? 200);
const CONCURRENT_WORKFLOWS = SEQUENTIAL_WORKFLOWS * 2;
const CONCURRENCY = 8;
const BARE_COMMITS = SEQUENTIAL_WORKFLOWS * STEPS;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Row {
  store: string;
  system: string;
  stepMs: number | undefined;
  workflowMs: number | undefined;
  sequentialStepsPerSecond: number;
  concurrentStepsPerSecond: number | undefined;
}

const step = (i: number) => ({ step: i, ok: true, at: 'checkpoint' });

function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function runInParallel(total: number, concurrency: number, one: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `count` bare commits and answers the milliseconds each took. */
type BareCommits = (count: number) => Promise<number>;

/**
 * Sequential and concurrent figures for a system that runs `workflow(steps)` durably, and those of
 * the store's bare commits (`bare`) measured in the same rounds, each the median of its rounds.
 */
async function measureWorkflows(
  storeName: string,
  system: string,
  workflow: (steps: number) => Promise<unknown>,
  bare?: BareCommits,
): Promise<Row[]> {
  for (let i = 0; i < 20; i++) await workflow(STEPS); // warm-up
  await bare?.(100);
  const sequential = Math.max(1, Math.round(SEQUENTIAL_WORKFLOWS / ROUNDS));
  const concurrent = Math.max(CONCURRENCY, Math.round(CONCURRENT_WORKFLOWS / ROUNDS));
  const samples = {
    bare: [] as number[],
    step: [] as number[],
    workflow: [] as number[],
    concurrent: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    if (bare) samples.bare.push(await bare(Math.max(1, Math.round(BARE_COMMITS / ROUNDS))));
    let start = process.hrtime.bigint();
    for (let i = 0; i < sequential; i++) await workflow(STEPS);
    const withSteps = msSince(start) / sequential;
    start = process.hrtime.bigint();
    for (let i = 0; i < sequential; i++) await workflow(0);
    const empty = msSince(start) / sequential;
    start = process.hrtime.bigint();
    await runInParallel(concurrent, CONCURRENCY, () => workflow(STEPS));
    samples.step.push((withSteps - empty) / STEPS);
    samples.workflow.push(withSteps);
    samples.concurrent.push((concurrent * STEPS * 1000) / msSince(start));
  }
  const rows: Row[] = [];
  if (bare) rows.push(bareRow(storeName, median(samples.bare)));
  const workflowMs = median(samples.workflow);
  rows.push({
    store: storeName,
    system,
    stepMs: median(samples.step),
    workflowMs,
    sequentialStepsPerSecond: (STEPS * 1000) / workflowMs,
    concurrentStepsPerSecond: median(samples.concurrent),
  });
  return rows;
}

async function reboundRows(storeName: string, store: Store, bare: BareCommits): Promise<Row[]> {
  const engine = workflows(store, { recoverEveryMs: 0 });
  engine.register('bench', async (ctx, steps: number) => {
    for (let i = 0; i < steps; i++) await ctx.step(`step-${i}`, () => step(i));
    return steps;
  });
  try {
    return await measureWorkflows(
      storeName,
      'rebound',
      async (steps) => {
        const handle = await engine.start('bench', steps);
        return handle.result();
      },
      bare,
    );
  } finally {
    await engine.close();
  }
}

function bareRow(storeName: string, commitMs: number): Row {
  return {
    store: storeName,
    system: 'bare INSERT commit (1 per step)',
    stepMs: commitMs,
    workflowMs: undefined,
    sequentialStepsPerSecond: 1000 / commitMs,
    concurrentStepsPerSecond: undefined,
  };
}

/** Bare commits on a SQLite file of their own; close() when done. */
function bareSqlite(path: string): { commits: BareCommits; close: () => void } {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;');
  db.exec('CREATE TABLE bare (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO bare (body) VALUES (?)');
  const body = JSON.stringify(step(0));
  const commits = async (count: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) insert.run(body);
    return msSince(start) / count;
  };
  return { commits, close: () => db.close() };
}

/** Bare commits on a PostgreSQL database of their own; close() when done. */
async function barePostgres(url: string): Promise<{ commits: BareCommits; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE IF NOT EXISTS bare (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)');
  const body = JSON.stringify(step(0));
  const insert = { name: 'bare-insert', text: 'INSERT INTO bare (body) VALUES ($1)', values: [body] };
  const commits = async (count: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) await client.query(insert);
    return msSince(start) / count;
  };
  return { commits, close: () => client.end() };
}

async function dbosRow(url: string): Promise<Row> {
  DBOS.setConfig({ name: 'rebound-bench', systemDatabaseUrl: url, logLevel: 'error' });
  const benchWorkflow = DBOS.registerWorkflow(
    async (steps: number) => {
      for (let i = 0; i < steps; i++) await DBOS.runStep(async () => step(i), { name: `step-${i}` });
      return steps;
    },
    { name: 'bench' },
  );
  await DBOS.launch();
  try {
    const [row] = await measureWorkflows('PostgreSQL', 'DBOS Transact', (steps) => benchWorkflow(steps));
    return row!;
  } finally {
    await DBOS.shutdown();
  }
}

async function idempotencyHitsPerSecond(store: Store): Promise<number> {
  const idem = idempotency(store);
  const request = { name: 'set_pod_memory', params: { pod: 'payment', memory: '2Gi' } };
  await idem.run(request, async () => ({ applied: true }));
  const calls = 50_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await idem.run(request, async () => ({ applied: true }));
  return (calls * 1000) / msSince(start);
}

async function postgresDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const directory = mkdtempSync(join(tmpdir(), 'rebound-bench-durable-'));
const server = process.env.REBOUND_BENCH_POSTGRES_URL
  ? undefined
  : await startThrowawayPostgres({ log: () => {} });
const adminUrl = process.env.REBOUND_BENCH_POSTGRES_URL ?? server!.url;
const rows: Row[] = [];
let hitsPerSecond: number;
try {
  console.log(
    `# durable benchmark\n\n${machine()}; ${STEPS}-step workflows: ${SEQUENTIAL_WORKFLOWS} sequential, ` +
      `${CONCURRENT_WORKFLOWS} with ${CONCURRENCY} at a time, in ${ROUNDS} interleaved rounds (medians); ` +
      `SQLite WAL synchronous=FULL; PostgreSQL fsync on\n`,
  );
  const sqliteBare = bareSqlite(join(directory, 'bare.db'));
  const sqlite = await openStore(`sqlite:${join(directory, 'state.db')}`);
  rows.push(...(await reboundRows('SQLite', sqlite, sqliteBare.commits)));
  sqliteBare.close();
  hitsPerSecond = await idempotencyHitsPerSecond(sqlite);
  await sqlite.close();

  const postgresBare = await barePostgres(await postgresDatabase(adminUrl, 'bench_bare'));
  const postgres = await openStore(await postgresDatabase(adminUrl, 'bench_rebound'));
  rows.push(...(await reboundRows('PostgreSQL', postgres, postgresBare.commits)));
  await postgresBare.close();
  await postgres.close();
  rows.push(await dbosRow(await postgresDatabase(adminUrl, 'bench_dbos')));
} finally {
  await server?.stop();
  rmSync(directory, { recursive: true, force: true });
}

const fmt = (n: number | undefined, digits = 3) => (n === undefined ? '' : n.toFixed(digits));
console.log(
  table(
    [
      'store',
      'system',
      'ms per step',
      'ms per 10-step workflow',
      'steps/s sequential',
      `steps/s ${CONCURRENCY} at a time`,
    ],
    rows.map((r) => [
      r.store,
      r.system,
      fmt(r.stepMs),
      fmt(r.workflowMs, 2),
      r.sequentialStepsPerSecond.toFixed(0),
      r.concurrentStepsPerSecond === undefined ? '' : r.concurrentStepsPerSecond.toFixed(0),
    ]),
  ),
);

const find = (store: string, system: string) =>
  rows.find((r) => r.store === store && r.system.startsWith(system))!;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const lines: (string | number)[][] = [];
for (const store of ['SQLite', 'PostgreSQL']) {
  const bare = find(store, 'bare');
  const ours = find(store, 'rebound');
  lines.push([`${store}: rebound step / bare commit`, ratio(ours.stepMs!, bare.stepMs!), '<= 1.2x']);
  lines.push([
    `${store}: rebound ${CONCURRENCY} at a time / bare sequential rate`,
    ratio(ours.concurrentStepsPerSecond!, bare.sequentialStepsPerSecond),
    '>= 3x',
  ]);
}
const dbos = find('PostgreSQL', 'DBOS');
const ours = find('PostgreSQL', 'rebound');
lines.push([
  'PostgreSQL: rebound / DBOS sequential steps/s',
  ratio(ours.sequentialStepsPerSecond, dbos.sequentialStepsPerSecond),
  '> 4x',
]);
lines.push([
  `PostgreSQL: rebound / DBOS steps/s, ${CONCURRENCY} at a time`,
  ratio(ours.concurrentStepsPerSecond!, dbos.concurrentStepsPerSecond!),
  '>= 3x',
]);
lines.push(['SQLite: idempotency hits on a completed key per second', hitsPerSecond.toFixed(0), '>= 50,000']);
console.log(`\n## ratios\n`);
console.log(table(['comparison', 'measured', 'goal'], lines));
