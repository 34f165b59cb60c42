// The store contract, records part: the control plane's events, attempts, history and the like,
// kept by kind and id, listed newest first, filtered, deleted and pruned.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameText, EXACT_VALUES, largeJson, type OpenStore, withStore } from './contractSupport.ts';
import type { RecordFilter, Store, StoredRecord } from './types.ts';

function recordOf(overrides: Partial<StoredRecord> = {}): StoredRecord {
  return { kind: 'event', id: 'e-1', service: 'checkout', at: 1_000, data: '{"n":1}', ...overrides };
}

async function ids(store: Store, kind: string, filter?: RecordFilter): Promise<string[]> {
  return (await store.records.list(kind, filter)).map((record) => record.id);
}

/** Six events of two services and one without a service, some sharing a time. */
async function putTimeline(store: Store): Promise<void> {
  const timeline: [string, string | null, number][] = [
    ['a', 'checkout', 100],
    ['b', 'payments', 200],
    ['c', 'checkout', 200],
    ['d', null, 300],
    ['e', 'payments', 400],
    ['f', 'checkout', 500],
  ];
  // Put out of order: listing order must come from `at` and `id`, not from insertion.
  for (const index of [3, 0, 5, 2, 1, 4]) {
    const [id, service, at] = timeline[index]!;
    await store.records.put(recordOf({ id, service, at, data: `{"id":"${id}"}` }));
  }
}

export function recordContract(open: OpenStore): void {
  describe('records', () => {
    it('puts and gets a record with every field, null service included', () =>
      withStore(open, async (store) => {
        assert.equal(await store.records.get('event', 'e-1'), undefined);
        await store.records.put(recordOf());
        assert.deepEqual(await store.records.get('event', 'e-1'), recordOf());
        await store.records.put(recordOf({ id: 'e-2', service: null, at: 0 }));
        assert.deepEqual(
          await store.records.get('event', 'e-2'),
          recordOf({ id: 'e-2', service: null, at: 0 }),
        );
      }));

    it('replaces a record put again under its kind and id, every field', () =>
      withStore(open, async (store) => {
        await store.records.put(recordOf());
        const replacement = recordOf({ service: null, at: 2_000, data: '{"n":2}' });
        await store.records.put(replacement);
        assert.deepEqual(await store.records.get('event', 'e-1'), replacement);
        assert.deepEqual(await store.records.list('event'), [replacement]);
        await store.records.put(recordOf({ service: 'payments', at: 3 }));
        assert.deepEqual(await store.records.get('event', 'e-1'), recordOf({ service: 'payments', at: 3 }));
      }));

    it('lists newest first: at descending, then id descending', () =>
      withStore(open, async (store) => {
        await putTimeline(store);
        assert.deepEqual(await ids(store, 'event'), ['f', 'e', 'd', 'c', 'b', 'a']);
        await store.records.put(recordOf({ id: 'b2', at: 200 }));
        await store.records.put(recordOf({ id: 'B', at: 200 }));
        assert.deepEqual(await ids(store, 'event'), ['f', 'e', 'd', 'c', 'b2', 'b', 'B', 'a']);
        // Code point order, as SQL compares UTF-8 bytes: U+1F600 after U+FF01, though its UTF-16 is lower.
        await store.records.put(recordOf({ id: '\uFF01', at: 50 }));
        await store.records.put(recordOf({ id: '😀', at: 50 }));
        await store.records.put(recordOf({ id: 'é', at: 50 }));
        assert.deepEqual((await ids(store, 'event')).slice(-3), ['😀', '\uFF01', 'é']);
        const listed = await store.records.list('event', { since: 100 });
        assert.deepEqual(
          listed.at(-1),
          recordOf({ id: 'a', service: 'checkout', at: 100, data: '{"id":"a"}' }),
        );
        assert.deepEqual(await store.records.list('absent'), []);
      }));

    it('filters by service, since (inclusive), until (exclusive) and limit (the newest), combined', () =>
      withStore(open, async (store) => {
        await putTimeline(store);
        assert.deepEqual(await ids(store, 'event', { service: 'checkout' }), ['f', 'c', 'a']);
        assert.deepEqual(await ids(store, 'event', { service: 'payments' }), ['e', 'b']);
        assert.deepEqual(await ids(store, 'event', { service: 'absent' }), []);
        assert.deepEqual(await ids(store, 'event', { since: 200 }), ['f', 'e', 'd', 'c', 'b']);
        assert.deepEqual(await ids(store, 'event', { until: 300 }), ['c', 'b', 'a']);
        assert.deepEqual(await ids(store, 'event', { since: 200, until: 400 }), ['d', 'c', 'b']);
        assert.deepEqual(await ids(store, 'event', { since: 300, until: 300 }), []);
        assert.deepEqual(await ids(store, 'event', { limit: 2 }), ['f', 'e']);
        assert.deepEqual(await ids(store, 'event', { limit: 0 }), []);
        assert.deepEqual(await ids(store, 'event', { limit: 100 }), ['f', 'e', 'd', 'c', 'b', 'a']);
        assert.deepEqual(await ids(store, 'event', { service: 'checkout', limit: 2 }), ['f', 'c']);
        assert.deepEqual(await ids(store, 'event', { service: 'checkout', since: 150, until: 500 }), ['c']);
        assert.deepEqual(
          await ids(store, 'event', { service: 'payments', since: 100, until: 1_000, limit: 1 }),
          ['e'],
        );
      }));

    it('deletes one record, answering whether there was one', () =>
      withStore(open, async (store) => {
        await putTimeline(store);
        assert.equal(await store.records.delete('event', 'c'), true);
        assert.equal(await store.records.get('event', 'c'), undefined);
        assert.equal(await store.records.delete('event', 'c'), false);
        assert.equal(await store.records.delete('absent', 'c'), false);
        assert.deepEqual(await ids(store, 'event'), ['f', 'e', 'd', 'b', 'a']);
      }));

    it('prunes the records of one kind older than a time, counting them', () =>
      withStore(open, async (store) => {
        await putTimeline(store);
        await store.records.put(recordOf({ kind: 'attempt', id: 'old', at: 1 }));
        assert.equal(await store.records.prune('event', 300), 3);
        assert.deepEqual(await ids(store, 'event'), ['f', 'e', 'd']);
        assert.equal(await store.records.prune('event', 300), 0);
        assert.equal(await store.records.prune('absent', 1_000), 0);
        assert.deepEqual(await ids(store, 'attempt'), ['old']);
        assert.equal(await store.records.prune('event', 501), 3);
        assert.deepEqual(await ids(store, 'event'), []);
      }));

    it('keeps kinds apart: the same id in two kinds is two records', () =>
      withStore(open, async (store) => {
        await store.records.put(recordOf({ kind: 'event', id: 'x', data: '"event"' }));
        await store.records.put(recordOf({ kind: 'attempt', id: 'x', data: '"attempt"' }));
        await store.records.put(recordOf({ kind: 'event:x', id: 'x', data: '"other"' }));
        assert.equal((await store.records.get('event', 'x'))?.data, '"event"');
        assert.equal((await store.records.get('attempt', 'x'))?.data, '"attempt"');
        assert.deepEqual(await ids(store, 'attempt'), ['x']);
        assert.equal(await store.records.delete('event', 'x'), true);
        assert.equal((await store.records.get('attempt', 'x'))?.data, '"attempt"');
        assert.equal((await store.records.get('event:x', 'x'))?.data, '"other"');
        assert.deepEqual(await ids(store, 'event'), []);
      }));

    it('keeps data byte for byte, including unicode and 1 MB of JSON', () =>
      withStore(open, async (store) => {
        const values = [...EXACT_VALUES, { label: '1 MB', text: largeJson() }];
        for (const [index, { text }] of values.entries()) {
          await store.records.put(recordOf({ kind: 'exact', id: `id-${index}`, at: index, data: text }));
        }
        for (const [index, { label, text }] of values.entries()) {
          assertSameText((await store.records.get('exact', `id-${index}`))?.data, text, label);
        }
        const listed = await store.records.list('exact');
        assert.equal(listed.length, values.length);
        for (const record of listed) {
          assertSameText(record.data, values[Number(record.id.slice(3))]!.text, record.id);
        }
      }));

    it('keeps ids, kinds and services that look like SQL or carry unicode', () =>
      withStore(open, async (store) => {
        const odd = recordOf({ kind: "k'; --", id: 'ïd 😀 %_', service: "s'vc", data: '{}' });
        await store.records.put(odd);
        assert.deepEqual(await store.records.get("k'; --", 'ïd 😀 %_'), odd);
        assert.deepEqual(await store.records.list("k'; --", { service: "s'vc" }), [odd]);
        assert.deepEqual(await store.records.list("k'; --", { service: 's_vc' }), []);
      }));

    it('keeps times of today and beyond exactly (epoch milliseconds above 2^32)', () =>
      withStore(open, async (store) => {
        const at = 1_767_225_600_123;
        await store.records.put(recordOf({ at }));
        assert.equal((await store.records.get('event', 'e-1'))?.at, at);
        assert.deepEqual(await ids(store, 'event', { since: at, until: at + 1 }), ['e-1']);
      }));

    it('answers copies and keeps none of what it was given', () =>
      withStore(open, async (store) => {
        const given = recordOf();
        await store.records.put(given);
        given.data = 'changed';
        (await store.records.get('event', 'e-1'))!.data = 'changed';
        (await store.records.list('event'))[0]!.data = 'changed';
        assert.equal((await store.records.get('event', 'e-1'))?.data, '{"n":1}');
      }));

    it('stores only the fields of a record, not extra properties', () =>
      withStore(open, async (store) => {
        await store.records.put({ ...recordOf(), extra: 'x' } as StoredRecord);
        assert.deepEqual(await store.records.get('event', 'e-1'), recordOf());
      }));

    it('lets concurrent puts of many records all land', () =>
      withStore(open, async (store) => {
        await Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            store.records.put(recordOf({ id: `c-${index}`, at: index })),
          ),
        );
        const listed = await ids(store, 'event');
        assert.equal(listed.length, 50);
        assert.equal(listed[0], 'c-49');
        assert.equal(listed[49], 'c-0');
      }));
  });
}
