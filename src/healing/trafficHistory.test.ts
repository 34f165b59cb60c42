// The per-minute traffic records: deltas of the gateways' counters, upserted every flush, kept
// across a restart, pruned past the retention; on a manual clock and an in-memory store.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { manualClock } from '../policies/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { TRAFFIC_KIND, type TrafficCounters, TrafficHistory } from './trafficHistory.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T = 1_000 * DAY; // a minute start

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function setup(startAt = T) {
  const store = await openStore('memory:');
  stores.push(store);
  const clock = manualClock(startAt);
  const counters = new Map<string, TrafficCounters>();
  const count = (service: string, requestsTotal: number, errorsTotal: number) =>
    counters.set(service, { service, requestsTotal, errorsTotal });
  const history = (onFlushed?: (now: number) => void) =>
    new TrafficHistory({ store, clock, read: () => counters.values(), retentionMs: 2 * DAY, onFlushed });
  const stored = async () =>
    (await store.records.list(TRAFFIC_KIND))
      .map((record) => ({
        id: record.id,
        at: record.at,
        service: record.service,
        ...JSON.parse(record.data),
      }))
      .sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
  return { store, clock, count, counters, history, stored };
}

describe('TrafficHistory', () => {
  it('upserts the deltas of the counters into the current minute every 10 s', async () => {
    const { clock, count, history, stored } = await setup();
    const recorder = history();
    await recorder.start();
    count('api', 10, 1);
    await clock.tickAsync(10_000);
    assert.deepEqual(await stored(), [{ id: `api:${T}`, at: T, service: 'api', requests: 10, errors: 1 }]);
    count('api', 25, 1); // 15 more, no new failure: the same minute record grows to 25 / 1
    await clock.tickAsync(10_000);
    assert.deepEqual(await stored(), [{ id: `api:${T}`, at: T, service: 'api', requests: 25, errors: 1 }]);
    // Into the next minute: 5 more, 2 failed, in a record of their own.
    await clock.tickAsync(30_000); // flushes at T + 30, 40, 50 s find nothing new
    count('api', 30, 3);
    await clock.tickAsync(10_000);
    assert.deepEqual(await stored(), [
      { id: `api:${T}`, at: T, service: 'api', requests: 25, errors: 1 },
      { id: `api:${T + MINUTE}`, at: T + MINUTE, service: 'api', requests: 5, errors: 2 },
    ]);
    // In memory too, minute by minute: the window up to T holds the first, the hour up to now both.
    assert.deepEqual(recorder.totals('api', T, MINUTE), { requests: 25, errors: 1 });
    assert.deepEqual(recorder.totals('api', clock.now(), HOUR), { requests: 30, errors: 3 });
    await recorder.close();
  });

  it('adds to the minute a previous run wrote, and counts a counter that went down as new', async () => {
    const { clock, count, counters, history, stored } = await setup();
    const first = history();
    await first.start();
    count('api', 10, 2);
    await clock.tickAsync(10_000);
    await first.close();
    // A new run in the same minute: its gateway counts from 0 again; 4 more requests, 1 failed.
    counters.clear();
    const second = history();
    await second.start();
    count('api', 4, 1);
    await clock.tickAsync(10_000);
    assert.deepEqual(await stored(), [{ id: `api:${T}`, at: T, service: 'api', requests: 14, errors: 3 }]);
    // A gateway that started again within the run: its 3 are new, not −1.
    count('api', 3, 0);
    await clock.tickAsync(10_000);
    assert.deepEqual((await stored())[0], { id: `api:${T}`, at: T, service: 'api', requests: 17, errors: 3 });
    await second.close();
  });

  it('writes what was counted when closed', async () => {
    const { clock, count, history, stored } = await setup();
    const recorder = history();
    await recorder.start();
    count('api', 7, 7);
    count('web', 3, 0);
    clock.advance(1_000); // no flush yet
    assert.deepEqual(await stored(), [], 'nothing written before the first flush');
    await recorder.close();
    assert.deepEqual(
      (await stored()).sort((a, b) => a.service.localeCompare(b.service)),
      [
        { id: `api:${T}`, at: T, service: 'api', requests: 7, errors: 7 },
        { id: `web:${T}`, at: T, service: 'web', requests: 3, errors: 0 },
      ],
    );
  });

  it('writes a minute again after a failed write, with all it counted meanwhile', async () => {
    const { store, clock, count, counters, stored } = await setup();
    const errors: string[] = [];
    const recorder = new TrafficHistory({
      store,
      clock,
      read: () => counters.values(),
      retentionMs: 2 * DAY,
      onError: (error) => errors.push(error.message),
    });
    await recorder.start();
    const put = store.records.put.bind(store.records);
    store.records.put = async () => {
      throw new Error('disk full');
    };
    count('api', 10, 1);
    await clock.tickAsync(10_000);
    assert.deepEqual(errors, ['disk full']);
    store.records.put = put;
    count('api', 15, 1); // 5 more in the same minute
    await clock.tickAsync(10_000);
    assert.deepEqual(await stored(), [{ id: `api:${T}`, at: T, service: 'api', requests: 15, errors: 1 }]);
    await recorder.close();
  });

  it('prunes minutes older than the retention', async () => {
    const { store, clock, count, history, stored } = await setup();
    await store.records.put({
      kind: TRAFFIC_KIND,
      id: `api:${T - 3 * DAY}`,
      service: 'api',
      at: T - 3 * DAY,
      data: JSON.stringify({ requests: 1, errors: 0 }),
    });
    await store.records.put({
      kind: TRAFFIC_KIND,
      id: `api:${T - DAY}`,
      service: 'api',
      at: T - DAY,
      data: JSON.stringify({ requests: 2, errors: 0 }),
    });
    const recorder = history();
    await recorder.start();
    count('api', 1, 0);
    await clock.tickAsync(10_000);
    // Retention 2 days: the record 3 days old is gone, the one 1 day old stays.
    assert.deepEqual(
      (await stored()).map((record) => record.at),
      [T - DAY, T],
    );
    await recorder.close();
  });

  it('tells after each timed flush, with no timer left once closed', async () => {
    const { clock, count, history } = await setup();
    const flushed: number[] = [];
    const recorder = history((now) => flushed.push(now));
    await recorder.start();
    count('api', 1, 0);
    await clock.tickAsync(30_000);
    assert.deepEqual(flushed, [T + 10_000, T + 20_000, T + 30_000]);
    await recorder.close();
    assert.equal(clock.pendingTimers, 0);
  });

  it('reads a window from memory, a minute leaving it when the window start passes it', async () => {
    const { store, clock, count, history } = await setup();
    const put = (at: number, requests: number, errors: number) =>
      store.records.put({
        kind: TRAFFIC_KIND,
        id: `api:${at}`,
        service: 'api',
        at,
        data: JSON.stringify({ requests, errors }),
      });
    await put(T - DAY, 5, 1); // a previous run's first minute of a 1-day window read at T
    await put(T - DAY + MINUTE, 7, 0);
    const recorder = history();
    await recorder.start();
    let lists = 0;
    const list = store.records.list.bind(store.records);
    store.records.list = (...args) => {
      lists++;
      return list(...args);
    };
    assert.deepEqual(recorder.totals('api', T, DAY), { requests: 12, errors: 1 });
    count('api', 10, 2);
    clock.advance(1); // the window now starts 1 ms after the first minute: 7 + 10 / 0 + 2
    recorder.sample();
    assert.deepEqual(recorder.totals('api', clock.now(), DAY), { requests: 17, errors: 2 });
    clock.advance(MINUTE - 1); // T + 1 min: the second minute starts at the window's start
    assert.deepEqual(recorder.totals('api', clock.now(), DAY), { requests: 17, errors: 2 });
    clock.advance(1);
    assert.deepEqual(recorder.totals('api', clock.now(), DAY), { requests: 10, errors: 2 });
    assert.deepEqual(recorder.totals('web', clock.now(), DAY), { requests: 0, errors: 0 });
    assert.equal(lists, 0, 'no read of the store');
    await recorder.close();
  });

  it('loads every minute within the retention on start, not only the recent ones', async () => {
    const { clock, count, counters, history } = await setup();
    const first = history();
    await first.start();
    count('api', 20, 4);
    await clock.tickAsync(10_000);
    await first.close();
    // 12 h later (beyond the burn-rate windows' 6 h) a new run: the minute at T is in its 1-day window.
    clock.advance(12 * 60 * MINUTE);
    counters.clear();
    const second = history();
    await second.start();
    assert.deepEqual(second.totals('api', clock.now(), DAY), { requests: 20, errors: 4 });
    count('api', 5, 0);
    second.sample();
    assert.deepEqual(second.totals('api', clock.now(), DAY), { requests: 25, errors: 4 });
    assert.deepEqual(second.totals('api', clock.now(), 6 * 60 * MINUTE), { requests: 5, errors: 0 });
    await second.close();
  });

  it('refuses bad options, listing every problem', () => {
    assert.throws(
      () =>
        new TrafficHistory({
          store: {} as Store,
          read: () => [],
          retentionMs: 0,
          flushEveryMs: -1,
        }),
      /retentionMs must be > 0[\s\S]*flushEveryMs must be > 0/,
    );
  });
});
