// openStore(): a SQLite file by default, PostgreSQL when several processes share the work, memory
// for tests. The schema is created and migrated on open; every problem is a typed error that names
// it, and a store it refuses is left untouched.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { InvalidOptionsError } from 'rebound';
import { openStore, StoreClosedError, StoreOpenError, StoreSchemaError, StoreUrlError } from 'rebound/store';

const directory = mkdtempSync(join(tmpdir(), 'rebound-open-store-'));
const path = join(directory, 'state.db');

// --- a SQLite file: created (with its directory) and migrated on first open ---
const store = await openStore(`sqlite:${path}`); // durable commits (synchronous=FULL), WAL
assert.equal(store.kind, 'sqlite');
assert.equal(store.schemaVersion, 2);
await store.kv.set('settings', 'region', JSON.stringify('eu-west-1'), Date.now());
await store.close();
await store.close(); // idempotent
await assert.rejects(store.kv.get('settings', 'region'), StoreClosedError);

// What was committed is there for the next process that opens the file.
const reopened = await openStore(`sqlite:${path}`, { durability: 'full', busyTimeoutMs: 5_000 });
assert.equal(JSON.parse((await reopened.kv.get('settings', 'region'))!.value), 'eu-west-1');
await reopened.close();
console.log(
  'state.db: created at schema version 2; a value written before close() read back after reopening',
);

// --- 'memory:' has the same interface and keeps nothing after the process ---
const memory = await openStore('memory:');
assert.equal(memory.kind, 'memory');
await memory.close();

// --- bad input is refused with an error that names the problem ---
await assert.rejects(openStore('mysql://db.internal/ops'), (error) => {
  assert.ok(error instanceof StoreUrlError && error.code === 'STORE_URL');
  assert.match(error.message, /unknown store URL scheme 'mysql:'.*accepted: 'sqlite:<path>'/);
  return true;
});
await assert.rejects(openStore('state.db'), /has no scheme \(for a SQLite file write 'sqlite:state.db'\)/);
await assert.rejects(openStore(`sqlite:${directory}`), (error) => {
  assert.ok(error instanceof StoreOpenError && error.code === 'STORE_OPEN');
  assert.match(error.message, /it is a directory/);
  return true;
});
await assert.rejects(
  openStore(`sqlite:${path}`, { busyTimeoutMs: -1 }),
  (error) =>
    error instanceof InvalidOptionsError &&
    /sqlite.busyTimeoutMs must be an integer >= 0/.test(error.message),
);

// Nothing listens on port 1: the message names host, port and database, never the password.
await assert.rejects(openStore('postgres://ops:s3cret@127.0.0.1:1/rebound'), (error) => {
  assert.ok(error instanceof StoreOpenError);
  assert.equal(error.storeUrl, 'postgres://ops:***@127.0.0.1:1/rebound');
  assert.match(error.message, /database "rebound" at 127\.0\.0\.1:1: connection refused/);
  assert.doesNotMatch(error.message, /s3cret/);
  return true;
});
console.log('unknown scheme, missing scheme, a directory, bad options, an unreachable server: refused');

// --- a file written by a newer rebound (schema version 3 here) is refused and left as it was ---
const newer = new DatabaseSync(path);
newer.prepare('INSERT INTO rebound_migrations (version, name, applied_at) VALUES (3, ?, 0)').run('future');
newer.close();
const before = readFileSync(path);
await assert.rejects(openStore(`sqlite:${path}`), (error) => {
  assert.ok(error instanceof StoreSchemaError && error.code === 'STORE_SCHEMA');
  assert.equal(error.found, 3);
  assert.equal(error.supported, 2);
  return true;
});
assert.deepEqual(readFileSync(path), before);
console.log('a schema newer than this rebound: StoreSchemaError, file unchanged');

rmSync(directory, { recursive: true, force: true });
