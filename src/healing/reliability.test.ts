// The reliability figures against values worked out by hand (the arithmetic is in the comments).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  availabilityOf,
  burnRate,
  burnRateAlerts,
  errorBudgetRemaining,
  meanTimeBetweenFailuresMs,
  meanTimeToRecoverMs,
  reliabilityOf,
  serviceReliability,
  type TrafficMinute,
  type TrafficReader,
  readMinutes,
  trafficIn,
} from './reliability.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A minute start well after the epoch; `NOW` is half a minute into the next minute. */
const T = 1_000 * DAY;
const NOW = T + 30_000;

function close(actual: number | null, expected: number, message?: string): void {
  assert.ok(
    actual !== null && Math.abs(actual - expected) < 1e-9,
    `${message ?? ''} ${actual} !== ${expected}`,
  );
}

/** The traffic of `minutes` over each window up to `NOW`. */
function over(minutes: readonly TrafficMinute[]): TrafficReader {
  return readMinutes(minutes, NOW);
}

describe('MTTR and MTBF', () => {
  // Opened at T, resolved at T + 10 min; opened at T + 60 min, resolved at T + 65 min; opened at
  // T + 180 min, still open.
  const incidents = [
    { openedAt: T + 180 * MINUTE, resolvedAt: null },
    { openedAt: T, resolvedAt: T + 10 * MINUTE },
    { openedAt: T + 60 * MINUTE, resolvedAt: T + 65 * MINUTE },
  ];

  it('MTTR is the mean time to resolve of the resolved incidents only', () => {
    // (10 min + 5 min) / 2 = 7.5 min = 450 000 ms; the open incident does not count.
    assert.equal(meanTimeToRecoverMs(incidents), 450_000);
  });

  it('MTBF is the mean gap between consecutive openings, in whatever order they come', () => {
    // Gaps: 60 min − 0 = 60 min, 180 min − 60 min = 120 min; mean 90 min = 5 400 000 ms.
    assert.equal(meanTimeBetweenFailuresMs(incidents), 5_400_000);
  });

  it('are null without a resolved incident, and MTBF with fewer than two', () => {
    assert.equal(meanTimeToRecoverMs([{ openedAt: T, resolvedAt: null }]), null);
    assert.equal(meanTimeBetweenFailuresMs([{ openedAt: T, resolvedAt: T + 1 }]), null);
    assert.equal(meanTimeBetweenFailuresMs([]), null);
  });

  it('count only the incidents opened in the SLO window', () => {
    // windowDays 1: the incident opened 2 days ago is out; MTTR of the remaining two (10 and 5 min)
    // is 7.5 min, their one gap is 60 min.
    const figures = serviceReliability(
      {
        slo: { target: 0.999, windowDays: 1 },
        traffic: over([]),
        incidents: [
          { openedAt: T - 2 * DAY, resolvedAt: T - 2 * DAY + HOUR },
          { openedAt: T - 2 * HOUR, resolvedAt: T - 2 * HOUR + 10 * MINUTE },
          { openedAt: T - HOUR, resolvedAt: T - HOUR + 5 * MINUTE },
        ],
      },
      NOW,
    );
    assert.equal(figures.incidents, 2);
    assert.equal(figures.mttrMs, 450_000);
    assert.equal(figures.mtbfMs, HOUR);
  });

  it('count the resolved incidents MTTR is the mean of among those opened in the window', () => {
    // windowDays 1: one opened 2 days ago and resolved an hour ago is out (incidents count by their
    // opening); in: one resolved after 3 min, one after 1 min, one still open. MTTR (3 + 1) / 2 = 2 min.
    const figures = serviceReliability(
      {
        slo: { target: 0.999, windowDays: 1 },
        traffic: over([]),
        incidents: [
          { openedAt: T - 2 * DAY, resolvedAt: T - HOUR },
          { openedAt: T - 100 * MINUTE, resolvedAt: T - 97 * MINUTE },
          { openedAt: T - 60 * MINUTE, resolvedAt: T - 59 * MINUTE },
          { openedAt: T - 10 * MINUTE, resolvedAt: null },
        ],
      },
      NOW,
    );
    assert.equal(figures.incidents, 3);
    assert.equal(figures.resolvedIncidents, 2);
    assert.equal(figures.mttrMs, 2 * MINUTE);
  });
});

describe('availability and the error budget', () => {
  it('99.5% against a 0.999 target leaves a budget of −4 (overspent four times)', () => {
    // 400 + 400 + 200 = 1000 responses, 2 + 2 + 1 = 5 failed: availability 1 − 5/1000 = 0.995.
    // Budget: 1 − (1 − 0.995) / (1 − 0.999) = 1 − 0.005 / 0.001 = 1 − 5 = −4.
    const figures = serviceReliability(
      {
        slo: { target: 0.999, windowDays: 30 },
        traffic: over([
          { at: T - 3 * MINUTE, requests: 400, errors: 2 },
          { at: T - 2 * DAY, requests: 400, errors: 2 },
          { at: T, requests: 200, errors: 1 },
        ]),
        incidents: [],
      },
      NOW,
    );
    assert.equal(figures.requests, 1000);
    assert.equal(figures.errors, 5);
    close(figures.availability, 0.995);
    close(figures.errorBudgetRemaining, -4);
  });

  it('reads the sums over each window from `traffic` when given them instead of minutes', () => {
    // The same 1000 responses, 5 failed, as the sums a running window keeps: the same figures.
    const asked: number[] = [];
    const figures = serviceReliability(
      {
        slo: { target: 0.999, windowDays: 30 },
        traffic: (windowMs) => {
          asked.push(windowMs);
          return { requests: 1000, errors: 5 };
        },
        incidents: [],
      },
      NOW,
    );
    close(figures.availability, 0.995);
    close(figures.errorBudgetRemaining, -4);
    close(figures.burnRate['1h'], 5);
    assert.ok(asked.includes(30 * DAY) && asked.includes(HOUR) && asked.includes(6 * HOUR), `${asked}`);
  });

  it('reads only the minutes that started in the window, up to now', () => {
    // Window 1 h ending at T: the minute at T − 60 min is in (at ≥ T − 60 min), T − 61 min and T + 1 min are not.
    const minutes = [
      { at: T - 61 * MINUTE, requests: 1, errors: 1 },
      { at: T - 60 * MINUTE, requests: 10, errors: 1 },
      { at: T, requests: 10, errors: 0 },
      { at: T + MINUTE, requests: 1, errors: 1 },
    ];
    assert.deepEqual(trafficIn(minutes, T, HOUR), { requests: 20, errors: 1 });
  });

  it('is null without traffic, and so is the budget', () => {
    assert.equal(availabilityOf({ requests: 0, errors: 0 }), null);
    assert.equal(errorBudgetRemaining(null, 0.999), null);
    // No failure at all: the whole budget is left.
    assert.equal(errorBudgetRemaining(1, 0.999), 1);
  });

  it('a service without an SLO has availability, MTTR and MTBF but no budget, burn rate or alert', () => {
    // 30-day default window: 50 responses, 1 failed: 1 − 1/50 = 0.98.
    const figures = serviceReliability(
      { slo: null, traffic: over([{ at: T - 29 * DAY, requests: 50, errors: 1 }]), incidents: [] },
      NOW,
    );
    close(figures.availability, 0.98);
    assert.equal(figures.errorBudgetRemaining, null);
    assert.deepEqual(figures.burnRate, { '1h': null, '6h': null });
    assert.deepEqual(figures.alerts, { fast: false, slow: false });
    assert.equal(figures.slo, null);
  });
});

describe('burn rates and the multiwindow alerts', () => {
  // Target 0.9375: 1 − target = 0.0625 = 1/16, exact in binary, so a burn rate is the error rate × 16
  // without rounding and the thresholds can be hit exactly: 14.4× is an error rate of 0.9, 6× of 0.375.
  const target = 0.9375;

  it('burn rate is the error rate in the window over 1 − target', () => {
    // 0.999: 1000 responses, 5 failed in the last hour: 0.005 / 0.001 = 5.
    close(burnRate(trafficIn([{ at: T - 10 * MINUTE, requests: 1000, errors: 5 }], NOW, HOUR), 0.999), 5);
    assert.equal(burnRate(trafficIn([], NOW, HOUR), 0.999), null);
  });

  it('fast and slow fire when both of their windows burn at their threshold exactly', () => {
    // One minute, 2 min ago, 9 of 10 failed: error rate 0.9, burn 0.9 × 16 = 14.4 over 5 min, 30 min,
    // 1 h and 6 h alike: fast (≥ 14.4 and ≥ 14.4) and slow (≥ 6 and ≥ 6) both fire.
    const minutes = [{ at: T - 2 * MINUTE, requests: 10, errors: 9 }];
    assert.equal(burnRate(trafficIn(minutes, NOW, HOUR), target), 14.4);
    assert.deepEqual(burnRateAlerts(over(minutes), target), { fast: true, slow: true });
  });

  it('fires on the threshold with a realistic target too, where the division rounds below it', () => {
    // 0.999: 144 of 10 000 failed is an error rate of 0.0144, 0.0144 / 0.001 = 14.4 on paper but
    // 14.399999999999999 in binary; it fires. 143 of 10 000 is 14.3: it does not.
    const on = [{ at: T - 2 * MINUTE, requests: 10_000, errors: 144 }];
    assert.ok(burnRate(trafficIn(on, NOW, HOUR), 0.999)! < 14.4, 'rounded below the threshold');
    assert.deepEqual(burnRateAlerts(over(on), 0.999), { fast: true, slow: true });
    const below = [{ at: T - 2 * MINUTE, requests: 10_000, errors: 143 }];
    assert.deepEqual(burnRateAlerts(over(below), 0.999), { fast: false, slow: true });
  });

  it('fast does not fire when the 5-minute window has calmed down below 14.4', () => {
    // 40 min ago 95 of 100 failed, 2 min ago 8 of 10. 1 h: 103/110 × 16 = 14.98 ≥ 14.4, but
    // 5 min: 0.8 × 16 = 12.8 < 14.4: no fast alert. Slow: 6 h 14.98 ≥ 6 and 30 min 12.8 ≥ 6: fires.
    const minutes = [
      { at: T - 40 * MINUTE, requests: 100, errors: 95 },
      { at: T - 2 * MINUTE, requests: 10, errors: 8 },
    ];
    close(burnRate(trafficIn(minutes, NOW, HOUR), target), (103 / 110) * 16);
    close(burnRate(trafficIn(minutes, NOW, 5 * MINUTE), target), 12.8);
    assert.deepEqual(burnRateAlerts(over(minutes), target), { fast: false, slow: true });
  });

  it('neither fires on a short spike the long windows do not confirm', () => {
    // 40 min ago 1000 of 1000 fine, 2 min ago 9 of 10 failed: 5 min burns 14.4 but 1 h only
    // 9/1010 × 16 = 0.14, and 6 h the same: no alert.
    const minutes = [
      { at: T - 40 * MINUTE, requests: 1000, errors: 0 },
      { at: T - 2 * MINUTE, requests: 10, errors: 9 },
    ];
    assert.deepEqual(burnRateAlerts(over(minutes), target), { fast: false, slow: false });
  });

  it('slow fires at exactly 6× over 6 h and not just below it', () => {
    // 5 h ago 370 of 1000 failed, 10 min ago 3 of 8 (0.375 × 16 = 6 over 30 min).
    // 6 h: 373/1008 = 0.3700… × 16 = 5.92 < 6: quiet.
    const below = [
      { at: T - 5 * HOUR, requests: 1000, errors: 370 },
      { at: T - 10 * MINUTE, requests: 8, errors: 3 },
    ];
    assert.deepEqual(burnRateAlerts(over(below), target), { fast: false, slow: false });
    // With 375 of 1000: 6 h 378/1008 = 0.375 × 16 = 6 exactly: fires.
    const at = [{ ...below[0]!, errors: 375 }, below[1]!];
    assert.equal(burnRate(trafficIn(at, NOW, 6 * HOUR), target), 6);
    assert.deepEqual(burnRateAlerts(over(at), target), { fast: false, slow: true });
  });
});

describe('overall figures', () => {
  it('weights availability by requests and takes MTTR and MTBF over every incident', () => {
    // payment: 1000 responses, 5 failed; search: 3000, 0 failed: overall 1 − 5/4000 = 0.99875
    // (the mean of the two availabilities, 0.9975, would be wrong).
    // Incidents: payment at T − 3 h (resolved after 20 min), search at T − 1 h (resolved after
    // 10 min): MTTR (20 + 10)/2 = 15 min, MTBF the one gap, 2 h.
    const view = reliabilityOf(
      {
        payment: {
          slo: { target: 0.999, windowDays: 30 },
          traffic: over([{ at: T - HOUR, requests: 1000, errors: 5 }]),
          incidents: [{ openedAt: T - 3 * HOUR, resolvedAt: T - 3 * HOUR + 20 * MINUTE }],
        },
        search: {
          slo: null,
          traffic: over([{ at: T - HOUR, requests: 3000, errors: 0 }]),
          incidents: [{ openedAt: T - HOUR, resolvedAt: T - HOUR + 10 * MINUTE }],
        },
      },
      NOW,
    );
    close(view.overall.availability, 0.99875);
    assert.equal(view.overall.requests, 4000);
    assert.equal(view.overall.errors, 5);
    assert.equal(view.overall.mttrMs, 15 * MINUTE);
    assert.equal(view.overall.mtbfMs, 2 * HOUR);
    assert.equal(view.overall.incidents, 2);
    close(view.services.payment!.availability, 0.995);
    assert.equal(view.services.search!.availability, 1);
  });
});
