// Durable workflows on PostgreSQL with two executors (separate processes on one database): one is
// killed with SIGKILL at a random point, the survivor takes its workflows over, by seeing its pid is
// dead (same host) or after its lease lapses (as for another machine), and finishes everything with
// no recorded step lost or run again. Needs REBOUND_TEST_POSTGRES_URL (`npm test` sets it).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { describeRun, postgresCrashRun } from './scenarios.ts';

const RUNS = 12;
const serverUrl = process.env.REBOUND_TEST_POSTGRES_URL;

if (!serverUrl) {
  describe('workflows on PostgreSQL, two executors, one killed', () => {
    it('needs a PostgreSQL server', () =>
      assert.fail(
        'REBOUND_TEST_POSTGRES_URL is not set, so the two-executor crash test has no server. Run with ' +
          '`npm test` (it starts a throwaway PostgreSQL and sets the variable), or start one with ' +
          '`npm run postgres` and export REBOUND_TEST_POSTGRES_URL=<the URL it prints>.',
      ));
  });
} else {
  const directory = mkdtempSync(join(tmpdir(), 'rebound-pg-crash-'));
  const database = `rebound_crash_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  admin.on('error', () => {});
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
  });
  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    rmSync(directory, { recursive: true, force: true });
  });

  describe(`workflows on PostgreSQL, two executors, one killed with SIGKILL (${RUNS} runs)`, () => {
    for (let run = 0; run < RUNS; run++) {
      const viaLease = run % 2 === 1;
      const how = viaLease ? 'after its lease lapses (another host)' : 'at once (its pid is dead)';
      it(`run ${run}: the survivor takes over ${how}`, { timeout: 120_000 }, async (t) => {
        const result = await postgresCrashRun({ url: url.toString(), directory, run, viaLease });
        t.diagnostic(describeRun(result));
      });
    }
  });
}
