// The stores a test of something built on the Store interface runs against: memory, SQLite in a temp
// directory, and PostgreSQL in a throwaway database on REBOUND_TEST_POSTGRES_URL's server.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.ts';

export { deferred, until, until as eventually } from './waiting.ts';

export interface OpenedStores {
  store: Store;
  /**
   * A second handle on the same data, as a second process would have it: another connection where
   * the adapter has them (SQLite, PostgreSQL), the same object for memory.
   */
  other: Store;
  /** Whether `other` is a separate object (so holds no in-memory state of `store`'s). */
  separate: boolean;
  close(): Promise<void>;
}

export interface StoreTarget {
  label: 'memory' | 'sqlite' | 'postgres';
  open(): Promise<OpenedStores>;
}

const MISSING_POSTGRES_URL =
  'REBOUND_TEST_POSTGRES_URL is not set, so the PostgreSQL variant has no server. Run with `npm test` ' +
  '(it starts a throwaway PostgreSQL and sets the variable), or start one with `npm run postgres` and ' +
  'export REBOUND_TEST_POSTGRES_URL=<the URL it prints>.';

/**
 * Declares `suite(target)` once per store. Without REBOUND_TEST_POSTGRES_URL the PostgreSQL variant
 * is one failing test saying so, never a silent skip.
 */
export function forEachStore(suite: (target: StoreTarget) => void): void {
  let sqliteDirectory: string | undefined;
  let sqliteFiles = 0;
  const memory: StoreTarget = {
    label: 'memory',
    async open() {
      const store = await openStore('memory:');
      return { store, other: store, separate: false, close: () => store.close() };
    },
  };
  const sqlite: StoreTarget = {
    label: 'sqlite',
    async open() {
      sqliteDirectory ??= mkdtempSync(join(tmpdir(), 'rebound-durable-'));
      const url = `sqlite:${join(sqliteDirectory, `store-${sqliteFiles++}.db`)}`;
      const store = await openStore(url);
      const other = await openStore(url);
      return { store, other, separate: true, close: () => closeBoth(store, other) };
    },
  };
  after(() => {
    if (sqliteDirectory) rmSync(sqliteDirectory, { recursive: true, force: true });
  });
  suite(memory);
  suite(sqlite);

  const serverUrl = process.env.REBOUND_TEST_POSTGRES_URL;
  if (!serverUrl) {
    describe('postgres', () => {
      it('needs a PostgreSQL server', () => assert.fail(MISSING_POSTGRES_URL));
    });
    return;
  }
  // One throwaway database for the file, dropped at the end.
  const database = `rebound_durable_${process.pid}_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  admin.on('error', () => {});
  let created: Promise<string> | undefined;
  const databaseUrl = () =>
    (created ??= (async () => {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      const url = new URL(serverUrl);
      url.pathname = `/${database}`;
      return url.toString();
    })());
  after(async () => {
    if (!created) return;
    await created.catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });
  suite({
    label: 'postgres',
    async open() {
      const url = await databaseUrl();
      const store = await openStore(url);
      const other = await openStore(url);
      return { store, other, separate: true, close: () => closeBoth(store, other) };
    },
  });
}

async function closeBoth(store: Store, other: Store): Promise<void> {
  await Promise.all([store.close(), other.close()]);
}
