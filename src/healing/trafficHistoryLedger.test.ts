// The in-memory window sums against the minutes counted by hand: a minute leaves the window exactly
// when the window's start passes its start, new counts join the running sums, pruning forgets hours.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trafficIn } from './reliability.ts';
import { TrafficLedger } from './trafficHistoryLedger.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T = 1_000 * DAY; // an hour start

describe('TrafficLedger', () => {
  it('drops a minute from the window sum exactly when the window start passes the minute start', () => {
    const ledger = new TrafficLedger();
    ledger.add(T - DAY, 5, 1); // the first minute of a 1-day window read at T
    ledger.add(T - DAY + MINUTE, 7, 0);
    ledger.add(T - MINUTE, 2, 2);
    // At T the window starts at T − 1 day: all three minutes, 14 requests, 3 errors.
    assert.deepEqual(ledger.totals(T, DAY), { requests: 14, errors: 3 });
    // 1 ms later the first minute started before the window: 9 / 2.
    assert.deepEqual(ledger.totals(T + 1, DAY), { requests: 9, errors: 2 });
    // A new count joins the running sum.
    ledger.add(T, 10, 0);
    assert.deepEqual(
      ledger.totals(T + MINUTE, DAY),
      { requests: 19, errors: 2 },
      'T − 1 day + 1 min still in',
    );
    assert.deepEqual(ledger.totals(T + MINUTE + 1, DAY), { requests: 12, errors: 2 });
    // A day later only the minute at T is left, then nothing.
    assert.deepEqual(ledger.totals(T + DAY, DAY), { requests: 10, errors: 0 });
    assert.deepEqual(ledger.totals(T + DAY + 1, DAY), { requests: 0, errors: 0 });
  });

  it('sums what trafficIn sums over the same minutes, at any time and window', () => {
    const ledger = new TrafficLedger();
    const minutes = [];
    let seed = 11;
    const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    for (let at = T - 3 * DAY; at < T + DAY; at += MINUTE) {
      if (random() < 0.3) continue;
      const minute = { at, requests: Math.floor(random() * 40), errors: Math.floor(random() * 4) };
      minutes.push(minute);
      ledger.add(minute.at, minute.requests, minute.errors);
    }
    // Reads moving forward by a few seconds to a few hours, over three windows; then one going back.
    let now = T - DAY;
    for (let read = 0; read < 400; read++) {
      now += Math.floor(random() * (read % 50 === 0 ? 5 * HOUR : 3 * MINUTE));
      for (const windowMs of [DAY, 6 * HOUR + 30_000, 5 * MINUTE]) {
        const { requests, errors } = trafficIn(minutes, now, windowMs);
        assert.deepEqual(ledger.totals(now, windowMs), { requests, errors }, `at ${now - T}, ${windowMs}`);
      }
    }
    const back = now - 2 * HOUR; // the clock went back: the minutes after it do not count
    const { requests, errors } = trafficIn(minutes, back, DAY);
    assert.deepEqual(ledger.totals(back, DAY), { requests, errors });
  });

  it("reads one minute's counts, added up", () => {
    const ledger = new TrafficLedger();
    ledger.add(T + 59 * MINUTE, 3, 1); // the last minute of an hour
    ledger.add(T + 59 * MINUTE, 4, 0);
    assert.deepEqual(ledger.minute(T + 59 * MINUTE), { requests: 7, errors: 1 });
    assert.deepEqual(ledger.minute(T + 58 * MINUTE), { requests: 0, errors: 0 });
    assert.deepEqual(ledger.minute(T + HOUR), { requests: 0, errors: 0 }, 'an hour with nothing');
  });

  it('forgets the hours that ended by the prune time, and sums afresh', () => {
    const ledger = new TrafficLedger();
    ledger.add(T - 2 * HOUR, 1, 0);
    ledger.add(T - HOUR - MINUTE, 2, 0); // the last minute of the hour before T − 1 h
    ledger.add(T - HOUR, 4, 1);
    assert.deepEqual(ledger.totals(T, DAY), { requests: 7, errors: 1 });
    // The hour starting at T − 2 h (the first two minutes) ended at T − 1 h: it goes, the next stays.
    ledger.prune(T - HOUR);
    assert.deepEqual(ledger.totals(T, DAY), { requests: 4, errors: 1 });
    assert.equal(ledger.empty, false);
    ledger.prune(T);
    assert.equal(ledger.empty, true);
    assert.deepEqual(ledger.totals(T, DAY), { requests: 0, errors: 0 });
  });
});
