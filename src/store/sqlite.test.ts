// The SQLite adapter: the shared contract on a fresh file per test, and what is particular to SQLite
// (settings, files, migrations, several connections on one file, group commit, refusals on open).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { storeContract } from './contract.ts';
import { openStore, type Store, type StepRecord, type WorkflowRecord } from './index.ts';
import { sqliteDatabaseOf } from './sqlite.ts';
import { migrate, SQLITE_MIGRATIONS } from './sqliteMigrations.ts';

const directory = mkdtempSync(join(tmpdir(), 'rebound-sqlite-'));
after(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(directory, `store-${++files}.db`);
const indexUrl = pathToFileURL(join(import.meta.dirname, 'index.ts')).href;

storeContract('sqlite', () => openStore(`sqlite:${freshPath()}`));

function pragma(store: Store, name: string): unknown {
  const row = sqliteDatabaseOf(store)!.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>;
  return Object.values(row)[0];
}

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

async function runningWorkflow(store: Store, id = 'wf-1'): Promise<void> {
  await store.workflows.create({
    id,
    name: 'n',
    status: 'pending',
    input: '{}',
    output: null,
    error: null,
    owner: null,
    createdAt: 1,
    updatedAt: 1,
  });
  await store.workflows.claim(id, 'exec-a', null, 2);
}

function workflowOf(id: string): WorkflowRecord {
  return {
    id,
    name: 'n',
    status: 'running',
    input: '{}',
    output: null,
    error: null,
    owner: 'exec-a',
    createdAt: 1,
    updatedAt: 1,
  };
}

/**
 * How many transactions the WAL holds: its valid frames (salts as in its header) that end a
 * commit (a non-zero database size). Exact while no checkpoint resets it, as in these small tests.
 */
function walCommits(path: string): number {
  const wal = readFileSync(`${path}-wal`);
  const pageSize = wal.readUInt32BE(8);
  const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (wal.readUInt32BE(offset + 8) !== salt1 || wal.readUInt32BE(offset + 12) !== salt2) break;
    if (wal.readUInt32BE(offset + 4) !== 0) commits++;
  }
  return commits;
}

function step(position: number, workflowId = 'wf-1'): StepRecord {
  return {
    workflowId,
    position,
    name: `step-${position}`,
    status: 'succeeded',
    output: `{"n":${position}}`,
    checksum: 'c',
    attempts: 1,
    startedAt: 1,
    endedAt: 2,
  };
}

/** Runs `source` (an async function body given `openStore`, `url`, `index`) in `count` workers at once. */
async function inWorkers<T>(count: number, url: string, source: string): Promise<T[]> {
  const start = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    (async () => {
      const { openStore } = await import(workerData.indexUrl);
      const { url, index, start } = workerData;
      parentPort.postMessage({ ready: true });
      Atomics.wait(start, 0, 0); // every worker starts together
      return await (async () => { ${source} })();
    })().then((value) => parentPort.postMessage({ value }), (error) => parentPort.postMessage({ error: String(error) }));
  `;
  const ready: Promise<void>[] = [];
  const results = Array.from({ length: count }, (_, index) => {
    const worker = new Worker(code, { eval: true, workerData: { indexUrl, url, index, start } });
    ready.push(
      new Promise((resolve) => {
        worker.once('message', () => resolve());
        worker.once('error', () => resolve());
      }),
    );
    return new Promise<T>((resolve, reject) => {
      worker.on('message', (message: { ready?: true; value?: T; error?: string }) => {
        if (message.ready) return;
        void worker.terminate();
        if (message.error) reject(new Error(message.error));
        else resolve(message.value as T);
      });
      worker.once('error', reject);
    });
  });
  await Promise.all(ready);
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  return Promise.all(results);
}

describe('sqlite store: settings and files', () => {
  it('uses WAL, synchronous=FULL, a busy timeout and foreign keys by default', async () => {
    const store = await openStore(`sqlite:${freshPath()}`);
    assert.equal(pragma(store, 'journal_mode'), 'wal');
    assert.equal(pragma(store, 'synchronous'), 2);
    assert.equal(pragma(store, 'busy_timeout'), 5_000);
    assert.equal(pragma(store, 'foreign_keys'), 1);
    await store.close();
  });

  it("takes durability 'normal' and busyTimeoutMs as options, and refuses bad ones all at once", async () => {
    const store = await openStore(`sqlite:${freshPath()}`, { durability: 'normal', busyTimeoutMs: 250 });
    assert.equal(pragma(store, 'synchronous'), 1);
    assert.equal(pragma(store, 'busy_timeout'), 250);
    await store.close();
    const path = freshPath();
    await assert.rejects(
      openStore(`sqlite:${path}`, { durability: 'sometimes' as 'full', busyTimeoutMs: -1 }),
      {
        code: 'INVALID_OPTIONS',
        problems: [
          'sqlite.durability must be one of "full", "normal", got "sometimes"',
          'sqlite.busyTimeoutMs must be an integer >= 0, got -1',
        ],
      },
    );
    assert.equal(existsSync(path), false);
  });

  it('keeps everything across close and reopen, and reopening applies no migration', async () => {
    const url = `sqlite:${freshPath()}`;
    const first = await openStore(url);
    assert.equal(first.url, url);
    assert.equal(first.schemaVersion, SQLITE_MIGRATIONS.at(-1)!.version);
    await runningWorkflow(first);
    await first.workflows.recordStep(step(0), 'exec-a');
    await first.kv.set('ns', 'k', '"v"', 5);
    const record = { kind: 'event', id: 'e-1', service: 'api', at: 7, data: '{"kept": true }' };
    await first.records.put(record);
    await first.idempotency.claim({
      key: 'k',
      name: 'n',
      paramsHash: 'h',
      owner: 'o',
      now: 1,
      leaseUntil: 9,
      expiresAt: 99,
    });
    const migrations = sqliteDatabaseOf(first)!.prepare('SELECT * FROM rebound_migrations').all();
    await first.close();

    const second = await openStore(url);
    assert.deepEqual(await second.workflows.steps('wf-1'), [step(0)]);
    assert.equal((await second.kv.get('ns', 'k'))?.value, '"v"');
    assert.deepEqual(await second.records.list('event'), [record]);
    assert.equal((await second.idempotency.get('k'))?.owner, 'o');
    assert.deepEqual(sqliteDatabaseOf(second)!.prepare('SELECT * FROM rebound_migrations').all(), migrations);
    assert.equal(migrations.length, SQLITE_MIGRATIONS.length);
    await second.close();
  });

  it('upgrades a database of schema version 1, keeping its data, and adds records', async () => {
    const path = freshPath();
    const db = new DatabaseSync(path);
    migrate(db, SQLITE_MIGRATIONS.slice(0, 1));
    db.prepare("INSERT INTO rebound_kv VALUES ('ns', 'k', '\"old\"', 1)").run();
    db.close();
    const store = await openStore(`sqlite:${path}`);
    assert.equal(store.schemaVersion, 2);
    assert.equal((await store.kv.get('ns', 'k'))?.value, '"old"');
    await store.records.put({ kind: 'event', id: 'e', service: null, at: 1, data: '{}' });
    assert.equal((await store.records.get('event', 'e'))?.data, '{}');
    const versions = sqliteDatabaseOf(store)!.prepare(
      'SELECT version FROM rebound_migrations ORDER BY version',
    );
    assert.deepEqual(
      versions.all().map((row) => row.version),
      [1, 2],
    );
    await store.close();
  });

  it("opens 'sqlite::memory:' and 'sqlite:///absolute/path'", async () => {
    const memory = await openStore('sqlite::memory:');
    await memory.kv.set('ns', 'k', '1', 1);
    assert.equal((await memory.kv.get('ns', 'k'))?.value, '1');
    await memory.close();
    const path = freshPath();
    const absolute = await openStore(`sqlite://${path}`);
    await absolute.close();
    assert.ok(existsSync(path));
  });

  it('creates missing parent directories', async () => {
    const path = join(directory, 'nested', 'deeper', 'state.db');
    const store = await openStore(`sqlite:${path}`);
    await store.close();
    assert.ok(statSync(path).isFile());
  });
});

describe('sqlite store: refusals on open change nothing', () => {
  it('refuses a database recorded at a newer schema version with StoreSchemaError', async () => {
    const path = freshPath();
    const db = new DatabaseSync(path);
    db.exec(
      'CREATE TABLE rebound_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    db.exec("INSERT INTO rebound_migrations VALUES (1, 'initial', 0), (99, 'from the future', 0)");
    db.close();
    const before = digest(path);
    await assert.rejects(
      openStore(`sqlite:${path}`),
      (error: Error & { found?: number; supported?: number }) => {
        assert.equal((error as { code?: string }).code, 'STORE_SCHEMA');
        assert.equal(error.found, 99);
        assert.equal(error.supported, SQLITE_MIGRATIONS.at(-1)!.version);
        assert.match(error.message, /99 is newer/);
        return true;
      },
    );
    assert.equal(digest(path), before);
    assert.deepEqual(
      readdirSync(directory).filter((name) => name.startsWith(`store-${files}.db-`)),
      [],
    );
  });

  it('refuses a file that is not a database, naming the path, and leaves it as it was', async () => {
    const path = freshPath();
    writeFileSync(path, 'these are not the bytes of a SQLite database\n'.repeat(100));
    const before = digest(path);
    await assert.rejects(openStore(`sqlite:${path}`), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'STORE_OPEN');
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, /not a SQLite database/);
      return true;
    });
    assert.equal(digest(path), before);
    assert.deepEqual(
      readdirSync(directory).filter((name) => name.startsWith(`store-${files}.db-`)),
      [],
    );
  });

  it('refuses a directory, and a path under a file, naming the path and the reason', async () => {
    const folder = join(directory, 'a-directory');
    mkdirSync(folder);
    await assert.rejects(openStore(`sqlite:${folder}`), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'STORE_OPEN');
      assert.ok(error.message.includes(folder));
      assert.match(error.message, /is a directory/);
      return true;
    });
    assert.deepEqual(readdirSync(folder), []);

    const file = join(directory, 'plain-file');
    writeFileSync(file, 'x');
    const under = join(file, 'sub', 'state.db');
    await assert.rejects(openStore(`sqlite:${under}`), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'STORE_OPEN');
      assert.ok(error.message.includes(under));
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), 'x');
  });

  it('refuses a file it may not write, naming the path, and leaves it unchanged', async () => {
    const { chmodSync, mkdtempSync, rmSync } = await import('node:fs');
    // Beside, not inside, the suite's private folder: the unprivileged user must reach the file.
    const folder = mkdtempSync(join(tmpdir(), 'rebound-sqlite-read-only-'));
    after(() => rmSync(folder, { recursive: true, force: true }));
    chmodSync(folder, 0o755);
    const path = join(folder, 'state.db');
    await (await openStore(`sqlite:${path}`)).close();
    const before = createHash('sha256').update(readFileSync(path)).digest('hex');
    let outcome: string;
    if (process.getuid?.() === 0) {
      // Root may write any file, so the refusal is checked as an unprivileged user (nobody).
      chmodSync(path, 0o644);
      const storeIndex = pathToFileURL(join(import.meta.dirname, 'index.ts')).href;
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { openStore } = await import(${JSON.stringify(storeIndex)});
           try { await openStore(${JSON.stringify(`sqlite:${path}`)}); console.log('opened'); }
           catch (error) { console.log(error.code + ' ' + error.message); }`,
        ],
        { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      await new Promise((resolve) => child.on('close', resolve));
      outcome = output.trim();
    } else {
      chmodSync(path, 0o444);
      outcome = await openStore(`sqlite:${path}`).then(
        () => 'opened',
        (error: Error & { code: string }) => `${error.code} ${error.message}`,
      );
    }
    assert.match(outcome, /^STORE_OPEN /);
    assert.ok(outcome.includes(path), outcome);
    assert.match(outcome, /permission denied/);
    assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), before);
    chmodSync(path, 0o600);
  });

  it("refuses 'sqlite:' with no path", async () => {
    await assert.rejects(openStore('sqlite:'), { code: 'STORE_URL' });
  });
});

describe('sqlite store: several connections and group commit', () => {
  it('lets exactly one of many connections claim a key at once (worker threads)', async () => {
    const url = `sqlite:${freshPath()}`;
    await (await openStore(url)).close();
    const outcomes = await inWorkers<boolean[]>(
      6,
      url,
      `const store = await openStore(url);
       const claims = [];
       for (let n = 0; n < 20; n++) {
         claims.push(store.idempotency.claim({ key: 'key-' + n, name: 'n', paramsHash: 'h', owner: 'w' + index,
           now: 1, leaseUntil: 1e12, expiresAt: 1e12 }).then((outcome) => outcome.claimed));
       }
       const result = await Promise.all(claims);
       await store.close();
       return result;`,
    );
    for (let key = 0; key < 20; key++) {
      assert.equal(outcomes.filter((claims) => claims[key]).length, 1, `key-${key}`);
    }
  });

  it('migrates a new file once when many connections open it at once', async () => {
    const url = `sqlite:${freshPath()}`;
    const versions = await inWorkers<number>(
      6,
      url,
      'const store = await openStore(url); const v = store.schemaVersion; await store.close(); return v;',
    );
    assert.deepEqual(versions, Array(6).fill(SQLITE_MIGRATIONS.at(-1)!.version));
    const store = await openStore(url);
    const rows = sqliteDatabaseOf(store)!.prepare('SELECT version FROM rebound_migrations').all();
    assert.equal(rows.length, SQLITE_MIGRATIONS.length);
    await store.close();
  });

  it('commits the step records of one event-loop turn together, each answered for itself', async () => {
    const path = freshPath();
    const store = await openStore(`sqlite:${path}`);
    for (let index = 0; index < 8; index++) await runningWorkflow(store, `wf-${index}`);
    const db = sqliteDatabaseOf(store)!;
    const changes = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const walFrames = () => (statSync(`${path}-wal`).size - 32) / (4096 + 24);

    const framesBefore = walFrames();
    const outcomes = await Promise.all([
      ...Array.from({ length: 8 }, (_, index) =>
        store.workflows.recordStep(step(0, `wf-${index}`), 'exec-a'),
      ),
      store.workflows.recordStep(step(0, 'wf-0'), 'exec-a'), // a duplicate, refused inside the same commit
      store.workflows.recordStep(step(1, 'wf-1'), 'exec-x'), // a stranger, refused inside the same commit
    ]);
    assert.deepEqual(outcomes, [...Array(8).fill(true), false, false]);
    const groupFrames = walFrames() - framesBefore;

    const sequentialBefore = walFrames();
    const before = changes();
    for (let index = 0; index < 8; index++) {
      assert.equal(await store.workflows.recordStep(step(1, `wf-${index}`), 'exec-a'), true);
    }
    assert.equal(changes() - before, 8);
    const sequentialFrames = walFrames() - sequentialBefore;
    // Every commit appends the pages it changed to the WAL: eight commits write at least eight frames.
    assert.ok(sequentialFrames >= 8, `sequential wrote ${sequentialFrames} frames`);
    assert.ok(
      groupFrames < sequentialFrames / 2,
      `group ${groupFrames} frames vs sequential ${sequentialFrames}`,
    );
    await store.close();
  });

  it('commits every workflow write of one event-loop turn in one transaction, in call order', async () => {
    const path = freshPath();
    const store = await openStore(`sqlite:${path}`);
    const ws = store.workflows;
    for (const id of ['wf-0', 'wf-1', 'wf-2', 'wf-3', 'wf-4']) await runningWorkflow(store, id);
    await ws.create({ ...workflowOf('wf-free'), owner: null });
    const before = walCommits(path);

    const bad = { ...step(1, 'wf-4'), status: 'bogus' as 'failed' };
    const outcomes = await Promise.allSettled([
      ws.create(workflowOf('wf-new')),
      ws.create(workflowOf('wf-0')), // exists: answers the stored record
      ws.recordStep(step(0, 'wf-new'), 'exec-a'), // sees the create just before it
      ws.claim('wf-free', 'exec-a', null, 3),
      ws.recordStep(step(0, 'wf-free'), 'exec-a'), // sees the claim just before it
      ws.recordStep(step(0, 'wf-1'), 'exec-a'),
      ws.finish('wf-1', 'exec-a', { status: 'succeeded', output: '"done"' }, 4),
      ws.recordStep(step(1, 'wf-1'), 'exec-a'), // after the finish: refused
      ws.finish('wf-2', 'exec-x', { status: 'failed', error: '"no"' }, 4), // not the owner
      ws.cancel('wf-3', 5),
      ws.recordStep(step(0, 'wf-3'), 'exec-a'), // after the cancel: refused
      ws.recordStep(bad, 'exec-a'), // breaks a constraint: fails alone
      ws.recordStep(step(0, 'wf-4'), 'exec-a'),
      ws.heartbeat({ id: 'exec-a', host: 'h', pid: 1, heartbeatAt: 6 }),
    ]);
    assert.equal(walCommits(path) - before, 1, 'one commit for the whole turn');
    const values = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'rejected'));
    assert.deepEqual(values, [
      { created: true, workflow: workflowOf('wf-new') },
      {
        created: false,
        workflow: { ...workflowOf('wf-0'), status: 'running', owner: 'exec-a', updatedAt: 2 },
      },
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      true,
      false,
      'rejected',
      true,
      undefined,
    ]);
    assert.deepEqual(
      [await ws.get('wf-1'), await ws.get('wf-2'), await ws.get('wf-3')].map((workflow) => workflow?.status),
      ['succeeded', 'running', 'cancelled'],
    );
    assert.deepEqual(await ws.steps('wf-1'), [step(0, 'wf-1')]);
    assert.deepEqual(await ws.steps('wf-4'), [step(0, 'wf-4')]);
    assert.deepEqual(await ws.executors(), [{ id: 'exec-a', host: 'h', pid: 1, heartbeatAt: 6 }]);
    await store.close();
  });

  it('lets a read see the writes requested before it, even within the same turn', async () => {
    const store = await openStore(`sqlite:${freshPath()}`);
    const ws = store.workflows;
    const created = ws.create(workflowOf('wf-seen'));
    const claimed = ws.claim('wf-seen', 'exec-a', 'exec-a', 2);
    const recorded = ws.recordStep(step(0, 'wf-seen'), 'exec-a');
    assert.equal((await ws.get('wf-seen'))?.id, 'wf-seen');
    assert.deepEqual(await ws.steps('wf-seen'), [step(0, 'wf-seen')]);
    assert.equal((await created).created, true);
    assert.equal(await claimed, true);
    assert.equal(await recorded, true);
    await store.close();
  });

  it('rejects only the record that breaks a constraint; the rest of its commit stands', async () => {
    const store = await openStore(`sqlite:${freshPath()}`);
    await runningWorkflow(store);
    const bad = { ...step(1), status: 'bogus' as 'failed' };
    const [first, second, third] = await Promise.allSettled([
      store.workflows.recordStep(step(0), 'exec-a'),
      store.workflows.recordStep(bad, 'exec-a'),
      store.workflows.recordStep(step(2), 'exec-a'),
    ]);
    assert.deepEqual(first, { status: 'fulfilled', value: true });
    assert.equal(second.status, 'rejected');
    assert.deepEqual(third, { status: 'fulfilled', value: true });
    assert.deepEqual(await store.workflows.steps('wf-1'), [step(0), step(2)]);
    await store.close();
  });

  it('writes steps recorded before close() durably', async () => {
    const url = `sqlite:${freshPath()}`;
    const store = await openStore(url);
    await runningWorkflow(store);
    const pending = [
      store.workflows.recordStep(step(0), 'exec-a'),
      store.workflows.recordStep(step(1), 'exec-a'),
    ];
    await store.close();
    assert.deepEqual(await Promise.all(pending), [true, true]);
    const reopened = await openStore(url);
    assert.deepEqual(await reopened.workflows.steps('wf-1'), [step(0), step(1)]);
    await reopened.close();
  });

  it('keeps a step whose promise resolved when its process is killed with SIGKILL', async () => {
    const path = freshPath();
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--input-type=module',
        '--eval',
        `const { openStore } = await import(${JSON.stringify(indexUrl)});
         const store = await openStore(${JSON.stringify(`sqlite:${path}`)});
         await store.workflows.create({ id: 'wf-1', name: 'n', status: 'pending', input: '{}', output: null,
           error: null, owner: null, createdAt: 1, updatedAt: 1 });
         await store.workflows.claim('wf-1', 'exec-a', null, 2);
         for (let position = 0; ; position++) {
           await store.workflows.recordStep({ workflowId: 'wf-1', position, name: 's', status: 'succeeded',
             output: String(position), checksum: 'c', attempts: 1, startedAt: 1, endedAt: 2 }, 'exec-a');
           process.stdout.write(position + '\\n');
         }`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let printed = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
        if (printed.split('\n').length > 50) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const acknowledged = Math.max(...printed.trim().split('\n').map(Number));
    const store = await openStore(`sqlite:${path}`);
    const steps = await store.workflows.steps('wf-1');
    assert.ok(
      steps.length >= acknowledged + 1,
      `${steps.length} steps kept, ${acknowledged + 1} acknowledged`,
    );
    assert.deepEqual(
      steps.map((record) => record.position),
      steps.map((_, index) => index),
    );
    await store.close();
  });
});
