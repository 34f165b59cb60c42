// openStore: the default URL, routing by scheme, clear refusals of URLs it does not understand.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_STORE_URL, openStore, StoreOpenError, StoreUrlError } from './index.ts';
import { maskStoreUrl } from './openStore.ts';

const directory = mkdtempSync(join(tmpdir(), 'rebound-open-'));
after(() => rmSync(directory, { recursive: true, force: true }));

function refusedUrl(pattern: RegExp, secret?: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreUrlError, String(error));
    assert.equal(error.code, 'STORE_URL');
    assert.match(error.message, pattern);
    if (secret) {
      assert.ok(!error.message.includes(secret), error.message);
      assert.ok(!error.storeUrl.includes(secret), error.storeUrl);
    }
    return true;
  };
}

describe('openStore', () => {
  it("opens 'sqlite:.rebound/state.db' by default, creating .rebound/ in the working directory", async () => {
    assert.equal(DEFAULT_STORE_URL, 'sqlite:.rebound/state.db');
    const cwd = process.cwd();
    const workdir = mkdtempSync(join(directory, 'cwd-'));
    process.chdir(workdir);
    try {
      const store = await openStore();
      assert.equal(store.kind, 'sqlite');
      assert.equal(store.url, 'sqlite:.rebound/state.db');
      await store.kv.set('ns', 'k', '1', 1);
      await store.close();
    } finally {
      process.chdir(cwd);
    }
    assert.ok(existsSync(join(workdir, '.rebound', 'state.db')));
  });

  it("routes 'sqlite:' and 'memory:' to their adapters", async () => {
    const sqlite = await openStore(`sqlite:${join(directory, 'routed.db')}`);
    assert.equal(sqlite.kind, 'sqlite');
    await sqlite.close();
    const memory = await openStore('memory:');
    assert.equal(memory.kind, 'memory');
    assert.equal(memory.url, 'memory:');
    await memory.close();
  });

  for (const scheme of ['postgres', 'postgresql']) {
    it(`routes '${scheme}://' to the PostgreSQL adapter, which names an unreachable server without its password`, async () => {
      const url = `${scheme}://rebound:hunter2@127.0.0.1:1/rebound`;
      await assert.rejects(openStore(url, { connectTimeoutMs: 2_000 }), (error: unknown) => {
        assert.ok(error instanceof StoreOpenError, String(error));
        assert.ok(!error.message.includes('hunter2'), error.message);
        assert.ok(!error.storeUrl.includes('hunter2'), error.storeUrl);
        return true;
      });
    });
  }

  it('refuses an unknown scheme, naming it and the accepted ones, with any password masked', async () => {
    await assert.rejects(
      openStore('mysql://admin:s3cret@db.internal/app'),
      refusedUrl(/unknown store URL scheme 'mysql:'.*'sqlite:<path>'.*'postgres:\/\/…'.*'memory:'/, 's3cret'),
    );
    await assert.rejects(openStore('redis://cache:6379'), refusedUrl(/'redis:'/));
  });

  it('refuses a URL without a scheme, suggesting the sqlite: form', async () => {
    await assert.rejects(openStore('state.db'), refusedUrl(/no scheme.*'sqlite:state\.db'/));
  });

  it("refuses an empty URL, 'sqlite:' alone and 'memory:' with anything after it", async () => {
    await assert.rejects(openStore(''), refusedUrl(/non-empty/));
    await assert.rejects(openStore('sqlite:'), refusedUrl(/names no file/));
    await assert.rejects(openStore('memory:cache'), refusedUrl(/exactly 'memory:'/));
  });
});

describe('maskStoreUrl', () => {
  it('replaces a password and nothing else', () => {
    assert.equal(maskStoreUrl('postgres://user:secret@host:5432/db'), 'postgres://user:***@host:5432/db');
    assert.equal(
      maskStoreUrl('postgresql://user:p@ss:w0rd@host/db?ssl=true'),
      'postgresql://user:***@host/db?ssl=true',
    );
    assert.equal(maskStoreUrl('postgres://user@host/db'), 'postgres://user@host/db');
    assert.equal(maskStoreUrl('postgres://host/db'), 'postgres://host/db');
    assert.equal(maskStoreUrl('sqlite:.rebound/state.db'), 'sqlite:.rebound/state.db');
    assert.equal(maskStoreUrl('memory:'), 'memory:');
  });
});
