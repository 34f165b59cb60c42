// The PostgreSQL adapter: the shared contract on a real server, and what is particular to PostgreSQL
// (several pools on one database, migrations under concurrent open, connection errors, masking).
// Needs REBOUND_TEST_POSTGRES_URL: `npm test` starts a throwaway server and sets it.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { storeContract } from './contract.ts';
import { openStore } from './index.ts';
import { openPostgresStore } from './postgres.ts';
import { migrate, POSTGRES_MIGRATIONS } from './postgresMigrations.ts';
import type { StepRecord, Store, WorkflowRecord } from './types.ts';

const serverUrl = process.env.REBOUND_TEST_POSTGRES_URL;

const MISSING_URL =
  'REBOUND_TEST_POSTGRES_URL is not set, so the PostgreSQL tests have no server. Run them with `npm test` ' +
  '(it starts a throwaway PostgreSQL and sets the variable), or start one with `npm run postgres` and ' +
  'export REBOUND_TEST_POSTGRES_URL=<the URL it prints>.';

/** Throwaway databases on the test server: one per store the contract opens, dropped at the end. */
class TestDatabases {
  private readonly admin: pg.Client;
  private readonly names: string[] = [];
  private connected: Promise<void> | undefined;

  constructor(url: string) {
    this.admin = new pg.Client({ connectionString: url });
    this.admin.on('error', () => {});
  }

  /** A new empty database; answers its URL. */
  async create(): Promise<string> {
    this.connected ??= this.admin.connect().then(() => undefined);
    await this.connected;
    const name = `rebound_test_${process.pid}_${this.names.length}`;
    this.names.push(name);
    await this.admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl!);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async dropAll(): Promise<void> {
    if (!this.connected) return;
    for (const name of this.names) await this.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await this.admin.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function workflowOf(id: string): WorkflowRecord {
  return {
    id,
    name: 'pg-test',
    status: 'pending',
    input: '{}',
    output: null,
    error: null,
    owner: null,
    createdAt: 1,
    updatedAt: 1,
  };
}

function stepOf(workflowId: string, position: number): StepRecord {
  return {
    workflowId,
    position,
    name: `step-${position}`,
    status: 'succeeded',
    output: `{"workflow":"${workflowId}","position":${position}}`,
    checksum: `c-${position}`,
    attempts: 1,
    startedAt: 1_700_000_000_000 + position,
    endedAt: 1_700_000_000_001 + position,
  };
}

function claimOf(key: string, owner: string, now = 1_000) {
  return {
    key,
    name: 'charge',
    paramsHash: 'h',
    owner,
    now,
    leaseUntil: now + 1_000,
    expiresAt: now + 60_000,
  };
}

async function closeAll(stores: readonly Store[]): Promise<void> {
  await Promise.all(stores.map((store) => store.close()));
}

if (!serverUrl) {
  describe('postgres store', () => {
    it('needs a PostgreSQL server', () => {
      assert.fail(MISSING_URL);
    });
  });
} else {
  const databases = new TestDatabases(serverUrl);
  after(() => databases.dropAll());

  storeContract('postgres', async () => openStore(await databases.create()));

  describe('postgres store', () => {
    let url: string;
    before(async () => {
      url = await databases.create();
    });

    it('grants a contended idempotency key to exactly one of two pools (two processes’ worth)', async () => {
      const stores = [await openPostgresStore(url), await openPostgresStore(url)];
      try {
        for (let round = 0; round < 25; round++) {
          const key = `contended-${round}`;
          const outcomes = await Promise.all(
            stores.flatMap((store, index) => [
              store.idempotency.claim(claimOf(key, `owner-${index}-a`)),
              store.idempotency.claim(claimOf(key, `owner-${index}-b`)),
            ]),
          );
          assert.equal(outcomes.filter((outcome) => outcome.claimed).length, 1, `round ${round}`);
          const winner = (await stores[0]!.idempotency.get(key))!.owner;
          for (const outcome of outcomes) {
            if (!outcome.claimed) assert.equal(outcome.record.owner, winner);
          }
        }
      } finally {
        await closeAll(stores);
      }
    });

    it('takes over a lapsed claim once, even when two pools race for it', async () => {
      const stores = [await openPostgresStore(url), await openPostgresStore(url)];
      try {
        assert.deepEqual(await stores[0]!.idempotency.claim(claimOf('lapsed', 'dead', 1_000)), {
          claimed: true,
          takenOver: false,
        });
        const outcomes = await Promise.all(
          stores.map((store, index) => store.idempotency.claim(claimOf('lapsed', `heir-${index}`, 5_000))),
        );
        const won = outcomes.filter((outcome) => outcome.claimed);
        assert.equal(won.length, 1);
        assert.deepEqual(won[0], { claimed: true, takenOver: true });
      } finally {
        await closeAll(stores);
      }
    });

    it('gives a workflow to one of two pools claiming it at once, and fences the loser’s steps', async () => {
      const stores = [await openPostgresStore(url), await openPostgresStore(url)];
      try {
        for (let round = 0; round < 10; round++) {
          const id = `contended-wf-${round}`;
          await stores[0]!.workflows.create(workflowOf(id));
          const won = await Promise.all(
            stores.map((store, index) => store.workflows.claim(id, `e${index}`, null, 2)),
          );
          assert.equal(won.filter(Boolean).length, 1, `round ${round}`);
          const winner = won.indexOf(true);
          const loser = 1 - winner;
          assert.equal(await stores[loser]!.workflows.recordStep(stepOf(id, 0), `e${loser}`), false);
          assert.equal(await stores[winner]!.workflows.recordStep(stepOf(id, 0), `e${winner}`), true);
        }
      } finally {
        await closeAll(stores);
      }
    });

    it('refuses a step once another pool has taken the workflow over, even mid-flight', async () => {
      const [a, b] = [await openPostgresStore(url), await openPostgresStore(url)];
      try {
        await a.workflows.create(workflowOf('taken-over'));
        assert.equal(await a.workflows.claim('taken-over', 'a', null, 2), true);
        const records = Array.from({ length: 20 }, (_, position) =>
          a.workflows.recordStep(stepOf('taken-over', position), 'a'),
        );
        const takeover = b.workflows.claim('taken-over', 'b', 'a', 3);
        const recorded = await Promise.all(records);
        assert.equal(await takeover, true);
        // Whatever a recorded before the takeover is there; nothing after it; and b sees all of it.
        const kept = recorded.lastIndexOf(true) + 1;
        assert.deepEqual(recorded, [...Array(kept).fill(true), ...Array(20 - kept).fill(false)]);
        assert.equal((await b.workflows.steps('taken-over')).length, kept);
        assert.equal(await a.workflows.recordStep(stepOf('taken-over', 30), 'a'), false);
        assert.equal(await b.workflows.recordStep(stepOf('taken-over', kept), 'b'), true);
      } finally {
        await closeAll([a, b]);
      }
    });

    it('group-commits concurrent steps, each caller getting its own answer', async () => {
      const [store, observer] = [await openPostgresStore(url), await openPostgresStore(url)];
      try {
        const ids = Array.from({ length: 8 }, (_, index) => `group-${index}`);
        for (const id of ids) {
          await store.workflows.create(workflowOf(id));
          await store.workflows.claim(id, 'mine', null, 2);
        }
        await store.workflows.create(workflowOf('group-foreign'));
        await store.workflows.claim('group-foreign', 'someone-else', null, 2);
        const outcomes = await Promise.all([
          ...ids.flatMap((id) =>
            Array.from({ length: 10 }, (_, position) =>
              store.workflows.recordStep(stepOf(id, position), 'mine'),
            ),
          ),
          store.workflows.recordStep(stepOf('group-foreign', 0), 'mine'),
          store.workflows.recordStep(stepOf('group-3', 4), 'mine'),
          store.workflows.recordStep(stepOf('group-absent', 0), 'mine'),
        ]);
        assert.deepEqual(outcomes.slice(0, 80), Array(80).fill(true));
        assert.deepEqual(outcomes.slice(80), [false, false, false]);
        // Committed, and visible from another pool, as soon as each promise resolved.
        for (const id of ids) {
          const steps = await observer.workflows.steps(id);
          assert.deepEqual(
            steps,
            Array.from({ length: 10 }, (_, position) => stepOf(id, position)),
          );
        }
        assert.deepEqual(await observer.workflows.steps('group-foreign'), []);
      } finally {
        await closeAll([store, observer]);
      }
    });

    it('writes creates, step records and finishes of one turn in one statement, each fenced and answered', async () => {
      const [store, observer] = [await openPostgresStore(url), await openPostgresStore(url)];
      const client = new pg.Client(url);
      await client.connect();
      try {
        const ws = store.workflows;
        const mine = (id: string): WorkflowRecord => ({
          ...workflowOf(id),
          status: 'running',
          owner: 'mine',
        });
        for (const id of ['one-steps', 'one-done']) await ws.create(mine(id));
        await ws.create({ ...workflowOf('one-foreign'), status: 'running', owner: 'other' });
        const old = (await ws.create(workflowOf('one-old'))).workflow;

        const outcomes = await Promise.all([
          ws.create(mine('one-new')),
          ws.create(mine('one-old')),
          ws.recordStep(stepOf('one-new', 0), 'mine'), // waits for the create: the next statement
          ...[0, 1, 2].map((position) => ws.recordStep(stepOf('one-steps', position), 'mine')),
          ws.recordStep(stepOf('one-steps', 0), 'mine'), // a second record: the next statement refuses it
          ws.finish('one-done', 'mine', { status: 'succeeded', output: '"ok"' }, 9),
          ws.finish('one-foreign', 'mine', { status: 'succeeded', output: '"no"' }, 9),
          ws.recordStep(stepOf('one-foreign', 0), 'mine'),
        ]);
        assert.deepEqual(outcomes, [
          { created: true, workflow: mine('one-new') },
          { created: false, workflow: old },
          true,
          true,
          true,
          true,
          false,
          true,
          false,
          false,
        ]);
        // Rows one transaction wrote carry its id as xmin.
        const xmin = async (sql: string, values: unknown[]) =>
          (await client.query<{ xmin: string }>(sql, values)).rows.map((row) => row.xmin);
        const workflowXmin = (ids: string[]) =>
          xmin('SELECT xmin::text FROM rebound_workflows WHERE id = ANY($1) ORDER BY id', [ids]);
        const stepXmin = (id: string) =>
          xmin('SELECT xmin::text FROM rebound_steps WHERE workflow_id = $1 ORDER BY position', [id]);
        const batch = new Set([
          ...(await workflowXmin(['one-new', 'one-done'])),
          ...(await stepXmin('one-steps')),
        ]);
        assert.equal(batch.size, 1, 'the create, the three records and the finish share one commit');
        const [next] = await stepXmin('one-new');
        assert.ok(next !== undefined && !batch.has(next), 'the record after its create is in a later commit');
        assert.equal((await observer.workflows.get('one-done'))?.status, 'succeeded');
        assert.equal((await observer.workflows.get('one-foreign'))?.status, 'running');
        assert.deepEqual(await observer.workflows.steps('one-foreign'), []);
        assert.deepEqual(await observer.workflows.steps('one-new'), [stepOf('one-new', 0)]);
      } finally {
        await client.end();
        await closeAll([store, observer]);
      }
    });

    it('fails only the write at fault when a grouped statement fails, answering the others', async () => {
      const store = await openPostgresStore(url);
      try {
        const ws = store.workflows;
        const mine = (id: string): WorkflowRecord => ({
          ...workflowOf(id),
          status: 'running',
          owner: 'mine',
        });
        for (const id of ['fault-a', 'fault-b', 'fault-done']) await ws.create(mine(id));
        const outcomes = await Promise.allSettled([
          ws.recordStep(stepOf('fault-a', 0), 'mine'),
          ws.recordStep({ ...stepOf('fault-b', 0), status: 'bogus' as 'failed' }, 'mine'),
          ws.create(mine('fault-new')),
          ws.finish('fault-done', 'mine', { status: 'failed', error: '"e"' }, 9),
          ws.recordStep(stepOf('fault-b', 1), 'mine'),
        ]);
        assert.deepEqual(
          outcomes.map((outcome) => outcome.status),
          ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
        );
        assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /check constraint/);
        assert.deepEqual(await ws.steps('fault-a'), [stepOf('fault-a', 0)]);
        assert.deepEqual(await ws.steps('fault-b'), [stepOf('fault-b', 1)]);
        assert.equal((await ws.get('fault-new'))?.status, 'running');
        assert.equal((await ws.get('fault-done'))?.status, 'failed');
      } finally {
        await store.close();
      }
    });

    it('migrates once when several processes open a new database at once', async () => {
      const fresh = await databases.create();
      const stores = await Promise.all(Array.from({ length: 6 }, () => openPostgresStore(fresh)));
      try {
        assert.deepEqual(
          stores.map((store) => store.schemaVersion),
          Array(6).fill(stores[0]!.schemaVersion),
        );
        const client = new pg.Client(fresh);
        await client.connect();
        const { rows } = await client.query('SELECT version, name FROM rebound_migrations ORDER BY version');
        await client.end();
        assert.equal(rows.length, stores[0]!.schemaVersion);
        assert.deepEqual(
          rows.map((row) => row.version),
          Array.from({ length: rows.length }, (_, index) => index + 1),
        );
      } finally {
        await closeAll(stores);
      }
    });

    it('refuses a database migrated by a newer rebound, and changes nothing', async () => {
      const fresh = await databases.create();
      const store = await openPostgresStore(fresh);
      await store.kv.set('ns', 'k', '"kept"', 1);
      await store.close();
      const client = new pg.Client(fresh);
      await client.connect();
      try {
        await client.query(`INSERT INTO rebound_migrations VALUES (999, 'from the future', 0)`);
        const tablesBefore = await client.query(
          `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
        );
        await assert.rejects(openPostgresStore(fresh), (error: Error & Record<string, unknown>) => {
          assert.equal(error.name, 'StoreSchemaError');
          assert.equal(error.code, 'STORE_SCHEMA');
          assert.equal(error.found, 999);
          assert.equal(error.supported, store.schemaVersion);
          return true;
        });
        const tablesAfter = await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
        assert.deepEqual(tablesAfter.rows, tablesBefore.rows);
        const { rows } = await client.query('SELECT version FROM rebound_migrations ORDER BY version');
        assert.deepEqual(
          rows.map((row) => row.version),
          [...Array.from({ length: store.schemaVersion }, (_, index) => index + 1), 999],
        );
        assert.deepEqual((await client.query('SELECT value FROM rebound_kv')).rows, [{ value: '"kept"' }]);
      } finally {
        await client.end();
      }
    });

    it('keeps records across close and reopen, seen by another pool at once', async () => {
      const fresh = await databases.create();
      const first = await openPostgresStore(fresh);
      const reader = await openPostgresStore(fresh);
      const record = {
        kind: 'event',
        id: 'e-1',
        service: 'api',
        at: 1_767_225_600_123,
        data: '{ "kept":1 }',
      };
      try {
        await first.records.put(record);
        assert.deepEqual(await reader.records.get('event', 'e-1'), record);
      } finally {
        await closeAll([first, reader]);
      }
      const second = await openPostgresStore(fresh);
      try {
        assert.deepEqual(await second.records.list('event', { service: 'api' }), [record]);
      } finally {
        await second.close();
      }
    });

    it('upgrades a database of schema version 1, keeping its data, and adds records', async () => {
      const fresh = await databases.create();
      const client = new pg.Client(fresh);
      await client.connect();
      try {
        assert.equal(await migrate(client, POSTGRES_MIGRATIONS.slice(0, 1)), 1);
        await client.query(`INSERT INTO rebound_kv VALUES ('ns', 'k', '"old"', 1)`);
      } finally {
        await client.end();
      }
      const store = await openPostgresStore(fresh);
      try {
        assert.equal(store.schemaVersion, 2);
        assert.equal((await store.kv.get('ns', 'k'))?.value, '"old"');
        await store.records.put({ kind: 'event', id: 'e', service: null, at: 1, data: '{}' });
        assert.equal((await store.records.get('event', 'e'))?.data, '{}');
      } finally {
        await store.close();
      }
    });

    it('names host, port and database when the server is unreachable', async () => {
      const port = await freePort();
      const unreachable = `postgres://rebound:s3cret-pass@127.0.0.1:${port}/somedb`;
      await assert.rejects(openStore(unreachable), (error: Error & Record<string, unknown>) => {
        assert.equal(error.code, 'STORE_OPEN');
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.match(error.message, /somedb/);
        assert.match(error.message, /refused/);
        assert.doesNotMatch(error.message, /s3cret-pass/);
        assert.equal(error.storeUrl, `postgres://rebound:***@127.0.0.1:${port}/somedb`);
        return true;
      });
    });

    it('says the password is wrong, without telling it', async () => {
      const wrong = new URL(url);
      wrong.password = 'not-the-password-42';
      await assert.rejects(openStore(wrong.toString()), (error: Error & Record<string, unknown>) => {
        assert.equal(error.code, 'STORE_OPEN');
        assert.match(error.message, /password/);
        assert.match(error.message, new RegExp(`${wrong.hostname}:${wrong.port}`));
        assert.doesNotMatch(error.message, /not-the-password-42/);
        assert.doesNotMatch(String(error.storeUrl), /not-the-password-42/);
        return true;
      });
    });

    it('says which database does not exist', async () => {
      const missing = new URL(url);
      missing.pathname = '/no_such_database_here';
      await assert.rejects(openStore(missing.toString()), (error: Error & Record<string, unknown>) => {
        assert.equal(error.code, 'STORE_OPEN');
        assert.match(error.message, /no_such_database_here/);
        assert.match(error.message, /does not exist/);
        return true;
      });
    });

    it('refuses a malformed URL with StoreUrlError', async () => {
      await assert.rejects(
        openPostgresStore('postgres://user:pw@[::1'),
        (error: Error & Record<string, unknown>) => {
          assert.equal(error.code, 'STORE_URL');
          assert.doesNotMatch(error.message, /:pw@/);
          return true;
        },
      );
    });

    it('masks the password in Store.url and keeps the rest of the URL as given', async () => {
      const parsed = new URL(url);
      assert.ok(parsed.password, 'the test server URL carries a password');
      const store = await openPostgresStore(url);
      try {
        assert.equal(store.kind, 'postgres');
        assert.equal(store.url, url.replace(`:${parsed.password}@`, ':***@'));
        assert.ok(!store.url.includes(parsed.password));
      } finally {
        await store.close();
      }
    });

    it('reads epoch-millisecond times back as numbers', async () => {
      const store = await openPostgresStore(url);
      try {
        const late = 2 ** 52 + 1;
        await store.kv.set('times', 'late', '1', late);
        const entry = await store.kv.get('times', 'late');
        assert.equal(typeof entry?.updatedAt, 'number');
        assert.equal(entry?.updatedAt, late);
      } finally {
        await store.close();
      }
    });

    it('survives the server dropping its connections, the step writer’s included', async () => {
      const store = await openPostgresStore(url);
      const admin = new pg.Client(url);
      await admin.connect();
      try {
        await store.kv.set('drop', 'k', '1', 1);
        await store.workflows.create(workflowOf('dropped'));
        await store.workflows.claim('dropped', 'me', null, 2);
        assert.equal(await store.workflows.recordStep(stepOf('dropped', 0), 'me'), true);
        const { rows } = await admin.query(
          `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
           WHERE application_name = 'rebound' AND datname = current_database() AND pid <> pg_backend_pid()`,
        );
        assert.ok(rows.length >= 1);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal((await store.kv.get('drop', 'k'))?.value, '1');
        assert.equal(await store.workflows.recordStep(stepOf('dropped', 1), 'me'), true);
        assert.equal((await store.workflows.steps('dropped')).length, 2);
      } finally {
        await admin.end();
        await store.close();
      }
    });
  });
}
