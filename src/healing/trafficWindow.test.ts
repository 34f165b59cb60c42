import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionsError, manualClock } from '../policies/index.ts';
import { TrafficWindow, trafficWindow } from './trafficWindow.ts';
import { seeded as random } from '../../test/support/seeded.ts';

/** The exact nearest-rank percentile of `values`. */
function exact(values: number[], quantile: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(quantile * sorted.length)) - 1]!;
}

describe('TrafficWindow', () => {
  it('reports zeros before any request', () => {
    const window = trafficWindow({ clock: manualClock(0) });
    assert.deepEqual(window.snapshot(), {
      latency_p50: 0,
      latency_p95: 0,
      latency_p99: 0,
      error_rate: 0,
      throughput: 0,
      inflight: 0,
      requests: 0,
      errors: 0,
      requests_total: 0,
      errors_total: 0,
    });
  });

  it('reads p50, p95 and p99 within 2% of the exact values over a wide spread', () => {
    const clock = manualClock(1_000_000);
    const window = new TrafficWindow({ clock });
    const next = random(42);
    const latencies: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Log-uniform from 0.1 ms to 5 s, plus a cluster around 3 ms: the shapes proxies see.
      const latency = i % 4 === 0 ? 3 + next() * 0.5 : 0.1 * 50_000 ** next();
      latencies.push(latency);
      window.record(latency, false);
    }
    const snapshot = window.snapshot();
    for (const [key, quantile] of [
      ['latency_p50', 0.5],
      ['latency_p95', 0.95],
      ['latency_p99', 0.99],
    ] as const) {
      const truth = exact(latencies, quantile);
      const error = Math.abs(snapshot[key] - truth) / truth;
      assert.ok(error < 0.02, `${key}: ${snapshot[key]} vs exact ${truth} (${(error * 100).toFixed(2)}%)`);
    }
  });

  it('keeps sub-millisecond latencies apart', () => {
    const window = new TrafficWindow({ clock: manualClock(0) });
    for (let i = 0; i < 98; i++) window.record(0.2, false);
    window.record(0.9, false);
    window.record(0.9, false);
    const snapshot = window.snapshot();
    assert.ok(Math.abs(snapshot.latency_p50 - 0.2) < 0.005, String(snapshot.latency_p50));
    assert.ok(Math.abs(snapshot.latency_p99 - 0.9) < 0.02, String(snapshot.latency_p99));
  });

  it('clamps latencies outside 0.05 ms .. 60 s to the ends of the histogram', () => {
    const window = new TrafficWindow({ clock: manualClock(0) });
    window.record(0, false);
    window.record(-1, false);
    assert.ok(window.snapshot().latency_p99 <= 0.051);
    window.record(10_000_000, false);
    window.record(10_000_000, false);
    window.record(10_000_000, false);
    assert.equal(window.snapshot().latency_p99, 60_000);
  });

  it('counts errors and the error rate', () => {
    const window = new TrafficWindow({ clock: manualClock(0) });
    for (let i = 0; i < 80; i++) window.record(1, false);
    for (let i = 0; i < 20; i++) window.record(1, true);
    const snapshot = window.snapshot();
    assert.equal(snapshot.requests, 100);
    assert.equal(snapshot.errors, 20);
    assert.equal(snapshot.error_rate, 0.2);
  });

  it('slides: requests older than the window leave it, one slot at a time', async () => {
    const clock = manualClock(0);
    const window = new TrafficWindow({ clock, windowMs: 10_000, slots: 10 });
    window.record(100, true); // slot 0
    clock.advance(5_000);
    window.record(1, false); // slot 5
    window.record(1, false);
    assert.equal(window.snapshot().requests, 3);
    clock.advance(4_999); // t = 9_999: slot 0 still in
    assert.equal(window.snapshot().requests, 3);
    assert.equal(window.snapshot().errors, 1);
    clock.advance(1); // t = 10_000: slot 0 has left
    const later = window.snapshot();
    assert.equal(later.requests, 2);
    assert.equal(later.errors, 0);
    assert.ok(later.latency_p99 < 1.05, 'the slow failed request left the percentiles too');
    clock.advance(5_000); // t = 15_000: slot 5 has left
    assert.equal(window.snapshot().requests, 0);
    assert.equal(window.snapshot().latency_p50, 0);
  });

  it('reuses a slot after a long idle time without keeping its old counts', () => {
    const clock = manualClock(0);
    const window = new TrafficWindow({ clock });
    for (let i = 0; i < 50; i++) window.record(5, true);
    clock.advance(123_456);
    window.record(1, false);
    const snapshot = window.snapshot();
    assert.equal(snapshot.requests, 1);
    assert.equal(snapshot.errors, 0);
    assert.ok(snapshot.latency_p99 < 1.05);
  });

  it('gives the right throughput from the first second, before the window is full', () => {
    const clock = manualClock(0);
    const window = new TrafficWindow({ clock });
    clock.advance(300);
    for (let i = 0; i < 30; i++) window.record(1, false);
    assert.equal(window.snapshot().throughput, 100); // 30 requests in 0.3 s
    clock.advance(1_700);
    for (let i = 0; i < 170; i++) window.record(1, false);
    assert.equal(window.snapshot().throughput, 100); // 200 in 2 s
  });

  it('divides by the whole window once it is full', () => {
    const clock = manualClock(0);
    const window = new TrafficWindow({ clock });
    // 50 requests a second for 30 s, spread evenly.
    for (let ms = 0; ms < 30_000; ms += 20) {
      window.record(1, false);
      clock.advance(20);
    }
    const { throughput, requests } = window.snapshot();
    assert.ok(Math.abs(throughput - 50) < 0.5, `throughput ${throughput}`);
    assert.ok(requests >= 450 && requests <= 500, `requests ${requests}`);
  });

  it('counts unmeasured answers in requests, errors and throughput, not in latency', () => {
    const clock = manualClock(0);
    const window = new TrafficWindow({ clock });
    clock.advance(1_000);
    window.record(2, true);
    for (let i = 0; i < 8; i++) window.recordUnmeasured(false);
    window.recordUnmeasured(true);
    const snapshot = window.snapshot();
    assert.equal(snapshot.requests, 10);
    assert.equal(snapshot.errors, 2);
    assert.equal(snapshot.error_rate, 0.2);
    assert.equal(snapshot.throughput, 10);
    assert.ok(Math.abs(snapshot.latency_p50 - 2) < 0.05, 'only the measured request has a latency');
  });

  it('keeps totals since it was created: requests and failures that left the window still count', () => {
    const clock = manualClock(0);
    const window = new TrafficWindow({ clock, windowMs: 10_000, slots: 10 });
    for (let i = 0; i < 7; i++) window.record(3, i < 2);
    window.recordUnmeasured(true);
    clock.advance(60_000); // everything above has left the window
    window.record(3, false);
    const snapshot = window.snapshot();
    assert.equal(snapshot.requests, 1);
    assert.equal(snapshot.errors, 0);
    assert.equal(snapshot.requests_total, 9);
    assert.equal(snapshot.errors_total, 3);
    assert.equal(window.requestsTotal, 9);
    assert.equal(window.errorsTotal, 3);
  });

  it('counts requests in flight', () => {
    const window = new TrafficWindow({ clock: manualClock(0) });
    window.begin();
    window.begin();
    window.end();
    assert.equal(window.inflight, 1);
    assert.equal(window.snapshot().inflight, 1);
  });

  it('does not lose counts when the clock steps back a little', () => {
    const clock = { now: () => time, setTimeout: () => ({}), clearTimeout: () => {} };
    let time = 5_500;
    const window = new TrafficWindow({ clock });
    window.record(1, false);
    time = 4_900; // an earlier slot, still in the window
    window.record(1, false);
    time = 5_600;
    assert.equal(window.snapshot().requests, 2);
  });

  it('validates its options once, listing every problem', () => {
    assert.throws(
      () => new TrafficWindow({ windowMs: 0, slots: 1.5 }),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        /trafficWindow\.windowMs/.test(error.message) &&
        /trafficWindow\.slots/.test(error.message),
    );
  });
});
