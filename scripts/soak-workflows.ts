// Soak test of durable workflows under kill -9: many more crash runs than the test suite makes, with
// the same scenarios and checks (test/crash/). Stops at the first run that loses or reruns a step.
//
//   node --conditions=source scripts/soak-workflows.ts [--runs 500] [--parallel 3] [--postgres 50]
//
// --postgres N adds N two-executor runs on REBOUND_TEST_POSTGRES_URL's server (a fresh database,
// dropped afterwards); without the variable, start a server with `npm run postgres` first.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { inParallel } from '../test/crash/harness.ts';
import { type CrashRun, describeRun, postgresCrashRun, sqliteCrashRun } from '../test/crash/scenarios.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '500' },
    parallel: { type: 'string', default: '3' },
    postgres: { type: 'string', default: '0' },
    verbose: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const parallel = Number(values.parallel);
const postgresRuns = Number(values.postgres);

function summarize(label: string, results: readonly CrashRun[], elapsedMs: number): void {
  const midRun = results.filter((r) => r.recordedBeforeKill > 0 && r.recordedBeforeKill < r.totalSteps);
  const reruns = results.reduce((sum, r) => sum + r.reruns, 0);
  const steps = results.reduce((sum, r) => sum + r.totalSteps, 0);
  console.log(
    `${label}: ${results.length} runs passed in ${(elapsedMs / 1000).toFixed(1)} s; ` +
      `${midRun.length} killed mid-workflow; ${steps} steps checked; ` +
      `${reruns} reruns of steps killed before their record committed; 0 recorded steps lost or rerun`,
  );
}

async function soakSqlite(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'rebound-soak-'));
  const results: CrashRun[] = [];
  const began = performance.now();
  try {
    await inParallel(
      parallel,
      Array.from({ length: runs }, (_, run) => async () => {
        const result = await sqliteCrashRun({ directory, run });
        results.push(result);
        if (values.verbose) console.log(describeRun(result));
        else if (results.length % 50 === 0) console.log(`  sqlite: ${results.length}/${runs} runs passed`);
      }),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  summarize('SQLite, one executor killed, a fresh process recovers', results, performance.now() - began);
}

async function soakPostgres(): Promise<void> {
  const serverUrl = process.env.REBOUND_TEST_POSTGRES_URL;
  if (!serverUrl) {
    throw new Error('--postgres needs REBOUND_TEST_POSTGRES_URL (start a server with `npm run postgres`)');
  }
  const database = `rebound_soak_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const directory = mkdtempSync(join(tmpdir(), 'rebound-soak-pg-'));
  const results: CrashRun[] = [];
  const began = performance.now();
  try {
    // One run at a time: each already runs two executors, and the lease runs wait on real time.
    for (let run = 0; run < postgresRuns; run++) {
      const result = await postgresCrashRun({ url: url.toString(), directory, run, viaLease: run % 2 === 1 });
      results.push(result);
      if (values.verbose) console.log(describeRun(result));
      else if (results.length % 10 === 0)
        console.log(`  postgres: ${results.length}/${postgresRuns} runs passed`);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
  summarize('PostgreSQL, two executors, one killed', results, performance.now() - began);
}

try {
  if (runs > 0) await soakSqlite();
  if (postgresRuns > 0) await soakPostgres();
} catch (error) {
  console.error(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
}
