// The stores the durable workflow tests run on (memory, SQLite, PostgreSQL), how each is reopened
// as a restarted process would and how a checkpoint is damaged on it, and helpers those tests share.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, afterEach, describe, it } from 'node:test';
import pg from 'pg';
import { type WorkflowEngine, type WorkflowEngineOptions, workflows } from '../../src/durable/workflows.ts';
import { manualClock } from '../../src/policies/index.ts';
import { openStore, type Store, type WorkflowStore } from '../../src/store/index.ts';

import { until } from './waiting.ts';

export { type Deferred, deferred, until } from './waiting.ts';

/** The epoch every manual clock of these tests starts at. */
export const T0 = 1_700_000_000_000;

export interface Backend {
  name: string;
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Another handle on the same data, as a restarted process would open it. */
  reopen(store: Store): Promise<Store>;
  /** The store as it reads after `output` replaced a recorded step's output behind the engine's back. */
  tamper(store: Store, workflowId: string, position: number, output: string): Promise<Store>;
}

let directory: string | undefined;
let files = 0;
const paths = new WeakMap<Store, string>();

const backends: Backend[] = [
  {
    name: 'memory',
    open: () => openStore('memory:'),
    reopen: async (store) => store,
    // The memory store keeps its maps private: the damage is done where the engine reads them.
    tamper: async (store, workflowId, position, output) =>
      withWorkflowStore(store, (inner) => ({
        steps: async (id) =>
          (await inner.steps(id)).map((step) =>
            id === workflowId && step.position === position ? { ...step, output } : step,
          ),
      })),
  },
  {
    name: 'sqlite',
    open: async () => {
      directory ??= mkdtempSync(join(tmpdir(), 'rebound-workflows-'));
      const path = join(directory, `store-${++files}.db`);
      const store = await openStore(`sqlite:${path}`);
      paths.set(store, path);
      return store;
    },
    reopen: async (store) => {
      const path = paths.get(store)!;
      const reopened = await openStore(`sqlite:${path}`);
      paths.set(reopened, path);
      return reopened;
    },
    tamper: async (store, workflowId, position, output) => {
      const db = new DatabaseSync(paths.get(store)!);
      db.prepare('UPDATE rebound_steps SET output = ? WHERE workflow_id = ? AND position = ?').run(
        output,
        workflowId,
        position,
      );
      db.close();
      return store;
    },
  },
];

// PostgreSQL: a fresh database per store the suite opens, on REBOUND_TEST_POSTGRES_URL's server.
const serverUrl = process.env.REBOUND_TEST_POSTGRES_URL;
const MISSING_POSTGRES_URL =
  'REBOUND_TEST_POSTGRES_URL is not set, so the PostgreSQL variant has no server. Run with `npm test` ' +
  '(it starts a throwaway PostgreSQL and sets the variable), or start one with `npm run postgres` and ' +
  'export REBOUND_TEST_POSTGRES_URL=<the URL it prints>.';
const databases: string[] = [];
const databaseUrls = new WeakMap<Store, string>();
let admin: pg.Client | undefined;
if (serverUrl) {
  backends.push({
    name: 'postgres',
    open: async () => {
      if (admin === undefined) {
        admin = new pg.Client({ connectionString: serverUrl });
        admin.on('error', () => {});
        await admin.connect();
      }
      const name = `rebound_workflows_${process.pid}_${databases.length}`;
      databases.push(name);
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const store = await openStore(url.toString());
      databaseUrls.set(store, url.toString());
      return store;
    },
    reopen: async (store) => {
      const url = databaseUrls.get(store)!;
      const reopened = await openStore(url);
      databaseUrls.set(reopened, url);
      return reopened;
    },
    tamper: async (store, workflowId, position, output) => {
      const client = new pg.Client({ connectionString: databaseUrls.get(store)! });
      await client.connect();
      await client.query('UPDATE rebound_steps SET output = $1 WHERE workflow_id = $2 AND position = $3', [
        output,
        workflowId,
        position,
      ]);
      await client.end();
      return store;
    },
  });
}

/** A store whose workflow part is `inner` with some methods replaced. */
export function withWorkflowStore(
  store: Store,
  override: (inner: WorkflowStore) => Partial<WorkflowStore>,
): Store {
  const inner = store.workflows;
  const delegate = {} as Record<string, unknown>;
  for (const method of [
    'create',
    'get',
    'list',
    'steps',
    'recordStep',
    'finish',
    'cancel',
    'claim',
    'heartbeat',
    'removeExecutor',
    'executors',
  ] as const) {
    delegate[method] = (inner[method] as (...args: unknown[]) => unknown).bind(inner);
  }
  return {
    ...store,
    close: () => store.close(),
    workflows: { ...delegate, ...override(inner) } as WorkflowStore,
  };
}

/** A pid that no process has: one that ran and exited (and was reaped). */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

/** What each test of the workflow suites gets for its store: stores and engines closed after it. */
export interface Fixture {
  readonly name: string;
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Another handle on the same data, as a restarted process would open it. */
  reopen(store: Store): Promise<Store>;
  /** The store as it reads after a recorded step's output was altered behind the engine's back. */
  tamper(store: Store, workflowId: string, position: number, output: string): Promise<Store>;
  /** An engine on `store`, without periodic recovery unless asked for. */
  engineOn(store: Store, options?: WorkflowEngineOptions): WorkflowEngine;
  /**
   * Starts 'three' (steps a, b, c counted in `counts`) on an engine that then "crashes" inside
   * step c with a and b recorded: it never runs, heartbeats or writes again, and its executor record
   * is gone, so any executor may take its workflow over.
   */
  crashedInStepC(store: Store, counts: Map<string, number>, id?: string): Promise<WorkflowEngine>;
}

/**
 * A workflow of three counted steps whose third waits for `gate`: an engine stuck there with a
 * frozen clock is a process that crashed mid-workflow.
 */
export function threeSteps(engine: WorkflowEngine, counts: Map<string, number>, gate?: Promise<void>): void {
  engine.register('three', async (ctx, input: { base: number }) => {
    const a = await ctx.step('a', () => count(counts, 'a', input.base + 1));
    const b = await ctx.step('b', () => count(counts, 'b', a * 10));
    const c = await ctx.step('c', async () => {
      await gate;
      return count(counts, 'c', b + 1);
    });
    return { a, b, c };
  });
}

function count<T>(counts: Map<string, number>, name: string, value: T): T {
  counts.set(name, (counts.get(name) ?? 0) + 1);
  return value;
}

function fixtureFor(backend: Backend): Fixture {
  const stores: Store[] = [];
  const engines: WorkflowEngine[] = [];
  // Each test's engines and stores are closed after it (a PostgreSQL server has few connections).
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.close().catch(() => undefined);
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  });
  const fixture: Fixture = {
    name: backend.name,
    async open() {
      const store = await backend.open();
      stores.push(store);
      return store;
    },
    async reopen(store) {
      const reopened = await backend.reopen(store);
      if (reopened !== store) stores.push(reopened);
      return reopened;
    },
    tamper: (store, workflowId, position, output) => backend.tamper(store, workflowId, position, output),
    engineOn(store, options = {}) {
      const engine = workflows(store, { recoverEveryMs: 0, ...options });
      engines.push(engine);
      return engine;
    },
    async crashedInStepC(store, counts, id = 'wf-1') {
      const crashed = fixture.engineOn(store, { executorId: 'crashed', clock: manualClock(T0) });
      threeSteps(crashed, counts, new Promise(() => {}));
      await crashed.start('three', { base: 1 }, { id });
      await until(async () => (await store.workflows.steps(id)).length === 2, 'steps a and b');
      await store.workflows.removeExecutor('crashed');
      return crashed;
    },
  };
  return fixture;
}

/**
 * Declares `suite(fixture)` for memory, SQLite and PostgreSQL. Without REBOUND_TEST_POSTGRES_URL the
 * PostgreSQL variant is one failing test saying so, never a silent skip.
 */
export function forEachBackend(suite: (fixture: Fixture) => void): void {
  after(async () => {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
    if (admin === undefined) return;
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  for (const backend of backends) {
    describe(`workflows (${backend.name})`, { timeout: 120_000 }, () => suite(fixtureFor(backend)));
  }
  if (!serverUrl) {
    describe('workflows (postgres)', () => {
      it('needs a PostgreSQL server', () => assert.fail(MISSING_POSTGRES_URL));
    });
  }
}
