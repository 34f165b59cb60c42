import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock, type ManualClock } from '../policies/index.ts';
import type { HealthConfig } from './configTypes.ts';
import { HealthChecker, STARTUP_PROBE_INTERVAL_MS, startupBudgetMs } from './healthChecker.ts';
import type { ProbeResult } from './probes.ts';

const healthConfig = (overrides: Partial<HealthConfig> = {}): HealthConfig => ({
  probe: { kind: 'tcp', timeoutMs: 100 },
  intervalMs: 1_000,
  timeoutMs: 100,
  initialDelayMs: 0,
  failureThreshold: 3,
  successThreshold: 2,
  ...overrides,
});

/**
 * A probe that answers from `outcome(now)` at once, or, while `hold` is set, only when released;
 * it records when each probe started.
 */
function fakeProbe(clock: ManualClock, outcome: (now: number) => boolean) {
  const startedAt: number[] = [];
  let held: ((result: ProbeResult) => void)[] = [];
  const state = { hold: false };
  const fn = (_spec: unknown, _target: unknown, signal?: AbortSignal): Promise<ProbeResult> => {
    startedAt.push(clock.now());
    const result = (): ProbeResult => {
      const ok = outcome(clock.now());
      return { ok, detail: ok ? 'fine' : 'broken', durationMs: 0 };
    };
    if (!state.hold) return Promise.resolve(result());
    return new Promise((resolve) => {
      held.push(() => resolve(signal?.aborted ? { ok: false, detail: 'aborted', durationMs: 0 } : result()));
    });
  };
  const release = () => {
    const pending = held;
    held = [];
    for (const finish of pending) finish({ ok: true, detail: '', durationMs: 0 });
  };
  return { fn, startedAt, state, release };
}

function watch(clock: ManualClock, config: HealthConfig, probe: ReturnType<typeof fakeProbe>, graceMs = 0) {
  const changes: { at: number; healthy: boolean; detail: string }[] = [];
  const checker = new HealthChecker({
    health: config,
    target: { host: '127.0.0.1', port: 1 },
    clock,
    probe: probe.fn as never,
    startupGraceMs: graceMs,
  });
  checker.onChange((healthy, result) => changes.push({ at: clock.now(), healthy, detail: result.detail }));
  return { health: checker, changes };
}

describe('HealthChecker', () => {
  it('probes a starting replica every 20 ms and is healthy at the first success', async () => {
    const clock = manualClock();
    const probe = fakeProbe(clock, (now) => now >= 65);
    const { health, changes } = watch(clock, healthConfig(), probe);
    health.start();
    assert.equal(health.status, 'starting');
    await clock.tickAsync(200);
    assert.deepEqual(probe.startedAt.slice(0, 5), [0, 20, 40, 60, 80]);
    assert.deepEqual(changes, [{ at: 80, healthy: true, detail: 'fine' }]);
    assert.equal(health.status, 'healthy');
    // After that, the configured interval.
    await clock.tickAsync(2_000);
    assert.deepEqual(probe.startedAt.slice(4), [80, 1_080, 2_080]);
    health.stop();
  });

  it('waits initialDelayMs before the first probe', async () => {
    const clock = manualClock();
    const probe = fakeProbe(clock, () => true);
    const { health, changes } = watch(clock, healthConfig({ initialDelayMs: 500 }), probe);
    health.start();
    await clock.tickAsync(499);
    assert.deepEqual(probe.startedAt, []);
    await clock.tickAsync(1);
    assert.deepEqual(probe.startedAt, [500]);
    assert.deepEqual(
      changes.map((c) => [c.at, c.healthy]),
      [[500, true]],
    );
    health.stop();
  });

  it('goes unhealthy after failureThreshold consecutive failures and back after successThreshold successes', async () => {
    const clock = manualClock();
    // Healthy at 0; failing from 1000 to 3999 (probes at 1000, 2000, 3000); passing again from 4000.
    const probe = fakeProbe(clock, (now) => now < 1_000 || now >= 4_000);
    const { health, changes } = watch(clock, healthConfig(), probe);
    health.start();
    await clock.tickAsync(2_500);
    assert.equal(health.status, 'healthy', 'two failures are below the threshold of three');
    await clock.tickAsync(600);
    assert.deepEqual(
      changes.map((c) => [c.at, c.healthy, c.detail]),
      [
        [0, true, 'fine'],
        [3_000, false, 'broken'],
      ],
    );
    await clock.tickAsync(1_000);
    assert.equal(health.status, 'unhealthy', 'one success is below the threshold of two');
    await clock.tickAsync(1_000);
    assert.deepEqual(changes.at(-1), { at: 5_000, healthy: true, detail: 'fine' });
    assert.equal(health.lastResult?.ok, true);
    health.stop();
  });

  it('forgets a failure once a probe passes', async () => {
    const clock = manualClock();
    const failing = new Set([1_000, 2_000, 4_000, 5_000, 7_000]);
    const probe = fakeProbe(clock, (now) => !failing.has(now));
    const { health, changes } = watch(clock, healthConfig(), probe);
    health.start();
    await clock.tickAsync(8_000);
    assert.deepEqual(
      changes.map((c) => c.healthy),
      [true],
    );
    health.stop();
  });

  it('gives a replica that never passes its startup budget, then calls it unhealthy', async () => {
    const clock = manualClock();
    const config = healthConfig({ intervalMs: 100, failureThreshold: 2 });
    const probe = fakeProbe(clock, () => false);
    const { health, changes } = watch(clock, config, probe, 50);
    assert.equal(startupBudgetMs(config, 50), 250);
    health.start();
    await clock.tickAsync(239);
    assert.equal(changes.length, 0);
    await clock.tickAsync(100);
    assert.deepEqual(
      changes.map((c) => [c.at, c.healthy]),
      [[260, false]],
    );
    // Still fast probes until then, then the interval.
    assert.equal(probe.startedAt.filter((at) => at <= 260).length, 260 / STARTUP_PROBE_INTERVAL_MS + 1);
    health.stop();
  });

  it('never overlaps probes: the next starts an interval after the previous one began, once it finished', async () => {
    const clock = manualClock();
    const probe = fakeProbe(clock, () => true);
    const { health } = watch(clock, healthConfig(), probe);
    health.start();
    await clock.tickAsync(0);
    probe.state.hold = true;
    await clock.tickAsync(1_000);
    assert.deepEqual(probe.startedAt, [0, 1_000]);
    await clock.tickAsync(3_000);
    assert.deepEqual(probe.startedAt, [0, 1_000], 'no probe while one is in flight');
    probe.state.hold = false;
    probe.release();
    await clock.tickAsync(0);
    assert.deepEqual(probe.startedAt, [0, 1_000, 4_000], 'overdue: the next one at once');
    health.stop();
  });

  it('stop() cancels its timer and ignores the probe in flight', async () => {
    const clock = manualClock();
    const probe = fakeProbe(clock, () => false);
    const { health, changes } = watch(clock, healthConfig({ failureThreshold: 1 }), probe);
    probe.state.hold = true;
    health.start();
    await clock.tickAsync(0);
    health.stop();
    probe.release();
    await clock.tickAsync(100_000);
    assert.deepEqual(changes, []);
    assert.equal(probe.startedAt.length, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  it('reports every probe result through onProbe', async () => {
    const clock = manualClock();
    const probe = fakeProbe(clock, (now) => now >= 20);
    const { health } = watch(clock, healthConfig(), probe);
    const seen: boolean[] = [];
    health.onProbe((result) => seen.push(result.ok));
    health.start();
    await clock.tickAsync(1_020);
    assert.deepEqual(seen, [false, true, true]);
    health.stop();
  });

  it('refuses bad options, naming each', () => {
    assert.throws(
      () =>
        new HealthChecker({
          health: healthConfig(),
          target: { host: '127.0.0.1', port: 1 },
          startupIntervalMs: 0,
          probe: 'nope' as never,
        }),
      /healthChecker.probe must be a function.*healthChecker.startupIntervalMs must be > 0|healthChecker.startupIntervalMs must be > 0.*healthChecker.probe/s,
    );
  });
});
