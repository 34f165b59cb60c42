// examples/migrations end to end, run as a user runs it (its own process): dry run, a full run,
// kill -9 at random points on SQLite and on PostgreSQL (every migration applied exactly once and the
// run resumed as the same workflow), rollback, invalid migration sets, lock waits and a failing migration.

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { openStore } from '../src/store/index.ts';

const root = resolve(import.meta.dirname, '..');
const SCRIPT = join(root, 'examples', 'migrations', 'migrate.ts');
const IDS = readdirSync(join(root, 'examples', 'migrations', 'migrations'))
  .filter((name) => name.endsWith('.sql'))
  .map((name) => name.slice(0, -'.sql'.length))
  .sort();
/** What the sample set leaves behind, applied once (applied twice, 008 would double the stock). */
const MIGRATED = {
  history: IDS,
  relations: [
    'customers',
    'inventory_movements',
    'order_items',
    'orders',
    'products',
    'schema_migrations',
    'stock_levels',
  ],
  products: 4,
  stock: [100, 100, 100, 100],
  customerColumns: ['email', 'id', 'name', 'phone'],
};
const STEP_DELAY_MS = 100;
const KILLS = 5;
const STARTUP_WINDOW_MS = 400;
const MISSING_POSTGRES_URL =
  'REBOUND_TEST_POSTGRES_URL is not set, so the PostgreSQL kill test has no server. Run it with `npm test` ' +
  '(or `node scripts/test.ts test/migrations-example.test.ts`), which start a throwaway PostgreSQL, or start ' +
  'one with `npm run postgres` and export REBOUND_TEST_POSTGRES_URL=<the URL it prints>.';

const directory = mkdtempSync(join(tmpdir(), 'rebound-migrations-'));
after(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
/** A fresh path in the temp directory. */
const fresh = (name: string) => join(directory, `${files++}-${name}`);

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Agent {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<Outcome>;
  /** Resolves with the first line of `stream` matching (or undefined if the agent exits first). */
  line(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<string | undefined>;
}

function startAgent(args: readonly string[]): Agent {
  const child = spawn(process.execPath, ['--conditions=source', SCRIPT, ...args], { cwd: directory });
  const output = { stdout: '', stderr: '' };
  const waiters: Array<{
    pattern: RegExp;
    stream: keyof typeof output;
    resolve: (line: string | undefined) => void;
  }> = [];
  const find = (pattern: RegExp, stream: keyof typeof output) =>
    output[stream].split('\n').find((line) => pattern.test(line));
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk: string) => {
      output[stream] += chunk;
      for (const waiter of [...waiters]) {
        const found = waiter.stream === stream ? find(waiter.pattern, stream) : undefined;
        if (found !== undefined) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(found);
        }
      }
    });
  }
  const exited = new Promise<Outcome>((resolveExit) =>
    child.once('close', (code, signal) => {
      for (const waiter of waiters.splice(0)) waiter.resolve(undefined);
      resolveExit({ code, signal, ...output });
    }),
  );
  return {
    child,
    exited,
    line: (pattern, stream = 'stdout') =>
      new Promise((resolveLine) => {
        const found = find(pattern, stream);
        if (found !== undefined || child.exitCode !== null || child.signalCode !== null) resolveLine(found);
        else waiters.push({ pattern, stream, resolve: resolveLine });
      }),
  };
}

/** Runs the agent to its end; asserts the exit code (0 unless told). */
async function run(args: readonly string[], expectedCode = 0): Promise<Outcome> {
  const outcome = await startAgent(args).exited;
  assert.equal(
    outcome.code,
    expectedCode,
    `migrate.ts ${args.join(' ')} exited with ${outcome.code ?? outcome.signal}\n--- stdout\n${outcome.stdout}\n--- stderr\n${outcome.stderr}`,
  );
  return outcome;
}

interface Facts {
  /** schema_migrations ids, sorted, duplicates kept. */
  history: string[];
  /** The workflow ids that applied them. */
  runs: string[];
  /** Tables and views. */
  relations: string[];
  products?: number;
  /** stock_levels.on_hand per product. */
  stock?: number[];
  customerColumns?: string[];
}

function sqliteFacts(path: string): Facts {
  // Read-write, not read-only: after a kill -9 the target may hold a hot rollback journal, which only
  // a writable connection can roll back (a read-only one fails with SQLITE_READONLY_ROLLBACK). That
  // recovery is what the next agent would do; this never creates a missing file.
  if (!existsSync(path)) throw new Error(`no target database at ${path}`);
  const db = new DatabaseSync(path);
  try {
    const column = (sql: string) =>
      db
        .prepare(sql)
        .all()
        .map((row) => Object.values(row)[0]);
    const relations = column(
      `SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite%' ORDER BY name`,
    ).map(String);
    const has = (name: string) => relations.includes(name);
    return {
      history: has('schema_migrations')
        ? column('SELECT id FROM schema_migrations ORDER BY id').map(String)
        : [],
      runs: has('schema_migrations')
        ? column('SELECT DISTINCT workflow_id FROM schema_migrations ORDER BY 1').map(String)
        : [],
      relations,
      ...(has('products') && { products: Number(column('SELECT count(*) FROM products')[0]) }),
      ...(has('stock_levels') && {
        stock: column('SELECT on_hand FROM stock_levels ORDER BY product_id').map(Number),
      }),
      ...(has('customers') && {
        customerColumns: column(`SELECT name FROM pragma_table_info('customers') ORDER BY name`).map(String),
      }),
    };
  } finally {
    db.close();
  }
}

async function postgresFacts(url: string): Promise<Facts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const column = async (sql: string) => (await client.query(sql)).rows.map((row) => Object.values(row)[0]);
    const relations = (
      await column(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1',
      )
    ).map(String);
    const has = (name: string) => relations.includes(name);
    return {
      history: has('schema_migrations')
        ? (await column('SELECT id FROM schema_migrations ORDER BY id')).map(String)
        : [],
      runs: has('schema_migrations')
        ? (await column('SELECT DISTINCT workflow_id FROM schema_migrations ORDER BY 1')).map(String)
        : [],
      relations,
      ...(has('products') && { products: Number((await column('SELECT count(*) FROM products'))[0]) }),
      ...(has('stock_levels') && {
        stock: (await column('SELECT on_hand FROM stock_levels ORDER BY product_id')).map(Number),
      }),
      ...(has('customers') && {
        customerColumns: (
          await column(
            `SELECT column_name FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = 'customers' ORDER BY 1`,
          )
        ).map(String),
      }),
    };
  } finally {
    await client.end();
  }
}

function assertMigrated(facts: Facts): void {
  const { runs: _runs, ...shape } = facts;
  assert.deepEqual(shape, MIGRATED);
}

const hashOf = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Lines `[i/n] <id>  …` of an agent's output, as [id, rest]. */
function statusLines(stdout: string): Array<[string, string]> {
  return [...stdout.matchAll(/^\[\d+\/\d+\] (\S+)\s+(.*)$/gm)].map((match) => [match[1]!, match[2]!]);
}

interface KillReport {
  /** Migrations applied in the target when each kill happened. */
  appliedAtKill: number[];
  /** Steps a later run found committed in the target but not checkpointed (the crash window between them). */
  foundUncheckpointed: number;
  finalOutput: string;
}

/**
 * Starts the agent KILLS times and SIGKILLs it at a random moment: the first time within
 * STARTUP_WINDOW_MS of its start, then within the work left (timed from the line saying the target
 * is ready); then runs it to the end. Asserts every migration
 * applied exactly once, by one workflow run, that the state store shows it succeeded, and that
 * the kills did land mid-run.
 */
async function killTest(options: {
  args: string[];
  facts: () => Promise<Facts>;
  stateUrl: string;
}): Promise<KillReport> {
  const appliedAtKill: number[] = [];
  let outputs = '';
  for (let kill = 0; kill < KILLS; kill++) {
    const before = (await options.facts()).history.length;
    const agent = startAgent([...options.args, '--step-delay-ms', String(STEP_DELAY_MS)]);
    if (kill === 0) {
      // Anywhere from startup (the state store being created) to the first migrations.
      await sleep(Math.random() * STARTUP_WINDOW_MS);
    } else {
      const ready = await agent.line(/^target: /);
      if (!ready) assert.fail(`the agent exited before it was ready:\n${(await agent.exited).stderr}`);
      await sleep(Math.random() * (IDS.length - before) * STEP_DELAY_MS * 0.9);
    }
    agent.child.kill('SIGKILL');
    const outcome = await agent.exited;
    outputs += outcome.stdout;
    assert.ok(
      outcome.signal === 'SIGKILL' || outcome.code === 0,
      `killed agent ended with ${outcome.code}:\n${outcome.stderr}`,
    );
    appliedAtKill.push((await options.facts()).history.length);
  }
  const last = await run(options.args);
  outputs += last.stdout;
  const facts = await options.facts();
  assertMigrated(facts);
  assert.equal(facts.runs.length, 1, `the migrations were applied by several runs: ${facts.runs.join(', ')}`);
  assert.ok(
    appliedAtKill.some((applied) => applied > 0 && applied < IDS.length),
    `no kill landed mid-run (applied at each kill: ${appliedAtKill.join(', ')})`,
  );

  // The state store agrees: the one run succeeded, with one checkpointed step per migration.
  const store = await openStore(options.stateUrl);
  try {
    const workflow = await store.workflows.get(facts.runs[0]!);
    assert.equal(workflow?.status, 'succeeded');
    const steps = await store.workflows.steps(facts.runs[0]!);
    assert.deepEqual(
      steps.map((step) => step.name),
      IDS.map((id) => `up ${id}`),
    );
  } finally {
    await store.close();
  }
  return {
    appliedAtKill,
    foundUncheckpointed: statusLines(outputs).filter(([, rest]) =>
      rest.startsWith('already applied in the target'),
    ).length,
    finalOutput: last.stdout,
  };
}

/** A port nothing listens on: a monitoring endpoint that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  await new Promise((closed) => server.close(closed));
  return port;
}

describe('examples/migrations', { concurrency: true }, () => {
  it('--dry-run prints the plan in dependency order and changes nothing', async () => {
    const target = fresh('shop.db');
    const state = fresh('state.db');
    const dry = await run(['--target', target, '--state', `sqlite:${state}`, '--dry-run']);
    const planned = [...dry.stdout.matchAll(/^ {2}(\S+)\s+apply \((\d+)\/8\)/gm)].map((match) => [
      match[1],
      match[2],
    ]);
    assert.deepEqual(
      planned,
      IDS.map((id, index) => [id, String(index + 1)]),
      dry.stdout,
    );
    assert.match(dry.stdout, /004_orders\s+apply \(4\/8\)\s+← 001_customers, 002_products/);
    assert.ok(!existsSync(target), 'the dry run created the target');
    assert.ok(!existsSync(state), 'the dry run created the state store');
    assert.ok(!existsSync(join(directory, '.rebound')), 'the dry run created the default state store');

    // On a migrated target: the rollback plan, and not one byte of either database changes.
    await run(['--target', target, '--state', `sqlite:${state}`]);
    const hashes = [hashOf(target), hashOf(state)];
    const rollback = await run([
      '--target',
      target,
      '--state',
      `sqlite:${state}`,
      '--dry-run',
      '--rollback',
      '2',
    ]);
    assert.match(rollback.stdout, /roll back 2 of 8 migrations/);
    assert.match(rollback.stdout, /008_initial_stock\s+roll back \(1\/2\)/);
    assert.match(rollback.stdout, /007_inventory\s+roll back \(2\/2\)/);
    assert.match(rollback.stdout, /006_order_indexes\s+applied/);
    const migrate = await run(['--target', target, '--state', `sqlite:${state}`, '--dry-run']);
    assert.match(migrate.stdout, /apply 0 of 8 migrations/);
    assert.deepEqual([hashOf(target), hashOf(state)], hashes);
    assertMigrated(sqliteFacts(target));
  });

  it('applies every migration once on SQLite, reports progress to a monitoring endpoint, and skips them on a re-run', async () => {
    const events: Array<Record<string, unknown>> = [];
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk));
      request.on('end', () => {
        events.push(JSON.parse(body) as Record<string, unknown>);
        response.end('ok');
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const reportUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    try {
      const target = fresh('shop.db');
      const args = ['--target', target, '--state', `sqlite:${fresh('state.db')}`, '--report-url', reportUrl];
      const first = await run(args);
      assert.deepEqual(
        statusLines(first.stdout).map(([id, rest]) => [
          id,
          /^applied in \d+ ms · SQLite [\d.]+ · \d+ KiB · \d+ tables?$/.test(rest),
        ]),
        IDS.map((id) => [id, true]),
        first.stdout,
      );
      assertMigrated(sqliteFacts(target));
      const changes = events.filter((event) => event.event === 'change');
      assert.deepEqual(
        changes.map((event) => [event.migration, event.outcome, event.direction]),
        IDS.map((id) => [id, 'done', 'up']),
      );

      const second = await run(args);
      assert.match(second.stdout, /nothing to do: all 8 migrations are applied/);
      assert.deepEqual(statusLines(second.stdout), []);
      assertMigrated(sqliteFacts(target));
    } finally {
      server.close();
    }
  });

  it(`survives ${KILLS} kill -9 at random points on SQLite: every migration applied exactly once`, async (t) => {
    const target = fresh('shop.db');
    const state = `sqlite:${fresh('state.db')}`;
    const report = await killTest({
      args: ['--target', target, '--state', state],
      facts: async () =>
        existsSync(target) ? sqliteFacts(target) : { history: [], runs: [], relations: [] },
      stateUrl: state,
    });
    t.diagnostic(
      `applied at each kill: ${report.appliedAtKill.join(', ')}; ` +
        `steps found committed but not checkpointed: ${report.foundUncheckpointed}`,
    );
  });

  it('two agents started together on one target run one workflow: each migration applied once', async () => {
    const target = fresh('shop.db');
    const args = ['--target', target, '--state', `sqlite:${fresh('state.db')}`, '--step-delay-ms', '40'];
    const [first, second] = await Promise.all([startAgent(args).exited, startAgent(args).exited]);
    for (const outcome of [first, second]) assert.equal(outcome.code, 0, outcome.stderr);
    const facts = sqliteFacts(target);
    assertMigrated(facts);
    assert.equal(facts.runs.length, 1);
    // Whichever came second either waited for the first one's run or found nothing left to do.
    assert.match(
      first.stdout + second.stdout,
      /another agent \(.+\) is running migrate-|nothing to do: all 8 migrations are applied/,
    );
  });

  it('rolls back the last N, down to an id, and applies everything again afterwards', async () => {
    const target = fresh('shop.db');
    const args = ['--target', target, '--state', `sqlite:${fresh('state.db')}`];
    await run(args);

    // A monitoring endpoint that is down degrades the status lines, never the rollback.
    const down = `http://127.0.0.1:${await closedPort()}/events`;
    const lastTwo = await run([...args, '--rollback', '2', '--report-url', down]);
    assert.deepEqual(
      statusLines(lastTwo.stdout).map(([id]) => id),
      ['008_initial_stock', '007_inventory'],
    );
    assert.match(lastTwo.stdout, /report failed \(connect ECONNREFUSED/);
    assert.match(lastTwo.stdout, /\[monitoring slight: report\]/);
    let facts = sqliteFacts(target);
    assert.deepEqual(facts.history, IDS.slice(0, 6));
    assert.ok(!facts.relations.includes('inventory_movements') && !facts.relations.includes('stock_levels'));

    const downTo = await run([...args, '--rollback', '004_orders']);
    assert.deepEqual(
      statusLines(downTo.stdout).map(([id]) => id),
      ['006_order_indexes', '005_customer_phone', '004_orders'],
    );
    facts = sqliteFacts(target);
    assert.deepEqual(facts.history, ['001_customers', '002_products', '003_seed_products']);
    assert.deepEqual(facts.customerColumns, ['email', 'id', 'name']);
    assert.ok(!facts.relations.includes('orders'));

    await run([...args, '--rollback', '001_customers']);
    assert.deepEqual(sqliteFacts(target).relations, ['schema_migrations']);

    // The same eight migrations are due again: a new run (the first one's id has finished), once each.
    const again = await run(args);
    assert.match(again.stdout, /as run migrate-[0-9a-f]{16}\.2$/m);
    assertMigrated(sqliteFacts(target));
    await run([...args, '--rollback', 'nonsense'], 2);
  });

  it('refuses a dependency cycle and an unknown dependency, listing every problem and touching nothing', async () => {
    const migrations = fresh('cyclic');
    mkdirSync(migrations);
    const write = (id: string, dependsOn: string[]) =>
      writeFileSync(
        join(migrations, `${id}.sql`),
        `${dependsOn.length > 0 ? `-- depends-on: ${dependsOn.join(', ')}\n` : ''}-- up\nCREATE TABLE ${id} (x INTEGER);\n-- down\nDROP TABLE ${id};\n`,
      );
    write('a', ['c']);
    write('b', ['a']);
    write('c', ['b']);
    write('d', []);
    write('e', ['d', 'missing']);
    write('f', ['g']);
    write('g', ['f']);
    const target = fresh('shop.db');
    const state = fresh('state.db');
    const outcome = await run(
      ['--target', target, '--state', `sqlite:${state}`, '--migrations', migrations],
      2,
    );
    const problems = outcome.stderr.split('\n').filter((line) => line.startsWith('  - '));
    assert.deepEqual(problems, [
      "  - e depends on 'missing', which is not a migration",
      '  - dependency cycle: a → c → b → a',
      '  - dependency cycle: f → g → f',
    ]);
    assert.ok(!existsSync(target) && !existsSync(state), 'an invalid set touched the target or the state');
  });

  it('retries while another session holds the SQLite lock; a failing migration is rolled back and fails the run', async () => {
    const target = fresh('shop.db');
    const state = `sqlite:${fresh('state.db')}`;
    const holder = new DatabaseSync(target);
    holder.exec('CREATE TABLE app_data (x INTEGER)');
    holder.exec('BEGIN EXCLUSIVE');
    const agent = startAgent(['--target', target, '--state', state, '--lock-timeout-ms', '50']);
    const retried = await agent.line(/SQLITE_BUSY: database is locked; retrying/, 'stderr');
    holder.exec('COMMIT');
    holder.close();
    const locked = await agent.exited;
    assert.ok(retried, `the agent did not retry the locked target:\n${locked.stderr}`);
    assert.equal(locked.code, 0, locked.stderr);
    assertMigrated({
      ...sqliteFacts(target),
      relations: sqliteFacts(target).relations.filter((name) => name !== 'app_data'),
    });

    // A broken migration: its transaction rolls back (no half-applied ALTER), the run fails with exit 1.
    const migrations = fresh('broken');
    mkdirSync(migrations);
    writeFileSync(
      join(migrations, '001_ok.sql'),
      '-- up\nCREATE TABLE ok (x INTEGER);\n-- down\nDROP TABLE ok;\n',
    );
    writeFileSync(
      join(migrations, '002_broken.sql'),
      '-- depends-on: 001_ok\n-- up\nALTER TABLE ok ADD COLUMN y INTEGER;\nINSERT INTO nowhere VALUES (1);\n-- down\nSELECT 1;\n',
    );
    const brokenTarget = fresh('broken.db');
    const failed = await run(['--target', brokenTarget, '--state', state, '--migrations', migrations], 1);
    assert.match(failed.stderr, /up 002_broken failed after 1 attempt\(s\): .*no such table: nowhere/);
    const facts = sqliteFacts(brokenTarget);
    assert.deepEqual(facts.history, ['001_ok']);
    const db = new DatabaseSync(brokenTarget, { readOnly: true });
    assert.deepEqual(
      db
        .prepare(`SELECT name FROM pragma_table_info('ok')`)
        .all()
        .map((row) => row.name),
      ['x'],
    );
    db.close();
  });

  describe('on PostgreSQL', () => {
    const serverUrl = process.env.REBOUND_TEST_POSTGRES_URL;
    const suffix = `${process.pid}_${randomUUID().slice(0, 8)}`;
    const databases = {
      target: `rebound_migrate_target_${suffix}`,
      state: `rebound_migrate_state_${suffix}`,
    };
    const urlOf = (database: string) => {
      const url = new URL(serverUrl!);
      url.pathname = `/${database}`;
      return url.toString();
    };
    let admin: pg.Client | undefined;
    before(async () => {
      if (!serverUrl) return;
      admin = new pg.Client({ connectionString: serverUrl });
      admin.on('error', () => {});
      await admin.connect();
      for (const database of Object.values(databases)) await admin.query(`CREATE DATABASE ${database}`);
    });
    after(async () => {
      if (!admin) return;
      for (const database of Object.values(databases)) {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
      await admin.end();
    });

    it(`survives ${KILLS} kill -9 at random points: every migration applied exactly once`, async (t) => {
      if (!serverUrl) assert.fail(MISSING_POSTGRES_URL);
      const target = urlOf(databases.target);
      const state = urlOf(databases.state);
      const dry = await run(['--target', target, '--state', state, '--dry-run']);
      assert.match(dry.stdout, /PostgreSQL [\d.]+/);
      assert.match(dry.stdout, /apply 8 of 8 migrations/);
      assert.deepEqual((await postgresFacts(target)).relations, [], 'the dry run changed the target');

      const report = await killTest({
        args: ['--target', target, '--state', state],
        facts: () => postgresFacts(target),
        stateUrl: state,
      });
      t.diagnostic(
        `applied at each kill: ${report.appliedAtKill.join(', ')}; ` +
          `steps found committed but not checkpointed: ${report.foundUncheckpointed}`,
      );
      const rollback = await run(['--target', target, '--state', state, '--rollback', '3']);
      assert.deepEqual(
        statusLines(rollback.stdout).map(([id]) => id),
        ['008_initial_stock', '007_inventory', '006_order_indexes'],
      );
      assert.deepEqual((await postgresFacts(target)).history, IDS.slice(0, 5));
    });
  });
});
