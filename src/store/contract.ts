// The one contract suite every Store adapter runs: `storeContract('sqlite', () => openStore(...))`
// declares node:test suites that exercise every method and rule of types.ts. Not exported from
// rebound/store's index: tests (ours, or a third-party adapter's) import this file directly.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idempotencyContract } from './contractIdempotency.ts';
import {
  assertSameText,
  EXACT_VALUES,
  isStoreClosed,
  largeJson,
  type OpenStore,
  withStore,
} from './contractSupport.ts';
import { recordContract } from './contractRecords.ts';
import { workflowContract } from './contractWorkflows.ts';
import type { Store } from './types.ts';

/** Every call a closed store must refuse, one per method of the Store interface. */
const CALLS: readonly [string, (store: Store) => Promise<unknown>][] = [
  [
    'idempotency.claim',
    (s) =>
      s.idempotency.claim({
        key: 'k',
        name: 'n',
        paramsHash: 'h',
        owner: 'o',
        now: 1,
        leaseUntil: 2,
        expiresAt: 3,
      }),
  ],
  ['idempotency.complete', (s) => s.idempotency.complete('k', 'o', '1', 3)],
  ['idempotency.renew', (s) => s.idempotency.renew('k', 'o', 3)],
  ['idempotency.release', (s) => s.idempotency.release('k', 'o')],
  ['idempotency.get', (s) => s.idempotency.get('k')],
  ['idempotency.purgeExpired', (s) => s.idempotency.purgeExpired(1)],
  [
    'workflows.create',
    (s) =>
      s.workflows.create({
        id: 'w',
        name: 'n',
        status: 'pending',
        input: '1',
        output: null,
        error: null,
        owner: null,
        createdAt: 1,
        updatedAt: 1,
      }),
  ],
  ['workflows.get', (s) => s.workflows.get('w')],
  ['workflows.list', (s) => s.workflows.list()],
  ['workflows.steps', (s) => s.workflows.steps('w')],
  [
    'workflows.recordStep',
    (s) =>
      s.workflows.recordStep(
        {
          workflowId: 'w',
          position: 0,
          name: 's',
          status: 'succeeded',
          output: '1',
          checksum: 'c',
          attempts: 1,
          startedAt: 1,
          endedAt: 2,
        },
        'o',
      ),
  ],
  ['workflows.finish', (s) => s.workflows.finish('w', 'o', { status: 'succeeded', output: '1' }, 2)],
  ['workflows.cancel', (s) => s.workflows.cancel('w', 2)],
  ['workflows.claim', (s) => s.workflows.claim('w', 'o', null, 2)],
  ['workflows.heartbeat', (s) => s.workflows.heartbeat({ id: 'e', host: 'h', pid: 1, heartbeatAt: 1 })],
  ['workflows.removeExecutor', (s) => s.workflows.removeExecutor('e')],
  ['workflows.executors', (s) => s.workflows.executors()],
  ['kv.get', (s) => s.kv.get('ns', 'k')],
  ['kv.set', (s) => s.kv.set('ns', 'k', '1', 1)],
  ['kv.delete', (s) => s.kv.delete('ns', 'k')],
  ['kv.list', (s) => s.kv.list('ns')],
  ['records.put', (s) => s.records.put({ kind: 'k', id: 'i', service: null, at: 1, data: '1' })],
  ['records.get', (s) => s.records.get('k', 'i')],
  ['records.list', (s) => s.records.list('k', { service: 's', since: 0, until: 9, limit: 1 })],
  ['records.delete', (s) => s.records.delete('k', 'i')],
  ['records.prune', (s) => s.records.prune('k', 9)],
];

function storeLifecycleContract(open: OpenStore): void {
  describe('store', () => {
    it('describes itself: kind, url, schema version', () =>
      withStore(open, async (store) => {
        assert.ok(['sqlite', 'postgres', 'memory'].includes(store.kind), `kind ${store.kind}`);
        assert.equal(typeof store.url, 'string');
        assert.ok(store.url.startsWith(store.kind === 'postgres' ? 'postgres' : store.kind));
        assert.ok(
          Number.isInteger(store.schemaVersion) && store.schemaVersion >= 1,
          `${store.schemaVersion}`,
        );
      }));

    it('after close(), every call rejects with StoreClosedError; close() again is harmless', async () => {
      const store = await open();
      await store.close();
      for (const [name, call] of CALLS) {
        await assert.rejects(
          Promise.resolve().then(() => call(store)),
          (error) => isStoreClosed(error),
          `${name} after close()`,
        );
      }
      await store.close();
    });

    it('close() lets writes already made finish', async () => {
      const store = await open();
      await store.workflows.create({
        id: 'w',
        name: 'n',
        status: 'pending',
        input: '1',
        output: null,
        error: null,
        owner: null,
        createdAt: 1,
        updatedAt: 1,
      });
      await store.workflows.claim('w', 'o', null, 2);
      const step = {
        workflowId: 'w',
        name: 's',
        status: 'succeeded' as const,
        output: '1',
        checksum: 'c',
        attempts: 1,
        startedAt: 1,
        endedAt: 2,
      };
      const pending = [0, 1, 2].map((position) => store.workflows.recordStep({ ...step, position }, 'o'));
      const closing = store.close();
      assert.deepEqual(await Promise.all(pending), [true, true, true]);
      await closing;
    });
  });
}

function keyValueContract(open: OpenStore): void {
  describe('kv', () => {
    it('sets, overwrites, gets and deletes entries', () =>
      withStore(open, async (store) => {
        assert.equal(await store.kv.get('cache', 'metrics'), undefined);
        await store.kv.set('cache', 'metrics', '{"cpu":0.5}', 1_000);
        assert.deepEqual(await store.kv.get('cache', 'metrics'), {
          key: 'metrics',
          value: '{"cpu":0.5}',
          updatedAt: 1_000,
        });
        await store.kv.set('cache', 'metrics', '{"cpu":0.9}', 2_000);
        assert.deepEqual(await store.kv.get('cache', 'metrics'), {
          key: 'metrics',
          value: '{"cpu":0.9}',
          updatedAt: 2_000,
        });
        await store.kv.delete('cache', 'metrics');
        assert.equal(await store.kv.get('cache', 'metrics'), undefined);
        await store.kv.delete('cache', 'metrics');
        await store.kv.delete('absent', 'absent');
      }));

    it('keeps namespaces apart and lists one namespace by key', () =>
      withStore(open, async (store) => {
        await store.kv.set('b', 'x', '1', 10);
        await store.kv.set('a', 'zeta', '"z"', 11);
        await store.kv.set('a', 'alpha', '"a"', 12);
        await store.kv.set('a', 'mid', '"m"', 13);
        await store.kv.set('a:b', 'alpha', '"other"', 14);
        assert.deepEqual(await store.kv.list('a'), [
          { key: 'alpha', value: '"a"', updatedAt: 12 },
          { key: 'mid', value: '"m"', updatedAt: 13 },
          { key: 'zeta', value: '"z"', updatedAt: 11 },
        ]);
        assert.deepEqual(await store.kv.list('b'), [{ key: 'x', value: '1', updatedAt: 10 }]);
        assert.deepEqual(await store.kv.list('absent'), []);
        assert.equal((await store.kv.get('a:b', 'alpha'))?.value, '"other"');
        assert.equal(await store.kv.get('b', 'alpha'), undefined);
        await store.kv.delete('a', 'alpha');
        assert.equal((await store.kv.get('a:b', 'alpha'))?.value, '"other"');
        assert.deepEqual(
          (await store.kv.list('a')).map((entry) => entry.key),
          ['mid', 'zeta'],
        );
      }));

    it('keeps values byte for byte, including unicode and 1 MB of JSON', () =>
      withStore(open, async (store) => {
        const values = [...EXACT_VALUES, { label: '1 MB', text: largeJson() }];
        for (const [index, { text }] of values.entries())
          await store.kv.set('exact', `key-${index}`, text, index);
        for (const [index, { label, text }] of values.entries()) {
          assertSameText((await store.kv.get('exact', `key-${index}`))?.value, text, label);
        }
        const listed = await store.kv.list('exact');
        assert.equal(listed.length, values.length);
        for (const entry of listed)
          assertSameText(entry.value, values[Number(entry.key.slice(4))]!.text, entry.key);
      }));

    it('answers copies: changing a returned entry changes nothing stored', () =>
      withStore(open, async (store) => {
        await store.kv.set('ns', 'k', '"v"', 1);
        (await store.kv.get('ns', 'k'))!.value = 'changed';
        (await store.kv.list('ns'))[0]!.value = 'changed';
        assert.equal((await store.kv.get('ns', 'k'))?.value, '"v"');
      }));
  });
}

/**
 * Declares the contract suites for one adapter. `open` must answer a new, empty store each time it
 * is called (a fresh file, database or schema); the suite closes every store it opens.
 */
export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    storeLifecycleContract(open);
    idempotencyContract(open);
    workflowContract(open);
    keyValueContract(open);
    recordContract(open);
  });
}
