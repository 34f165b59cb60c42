import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../policies/index.ts';
import type { AutoscalerDecision } from '../control/index.ts';
import { AUTOSCALE_POLICY, autoscaleMetric, Autoscaling, SAMPLES_PER_INTERVAL } from './autoscaling.ts';
import type { AutoscaleConfig, ServiceConfig } from './configTypes.ts';
import type { AttemptView } from './controlPlaneTypes.ts';
import { ConflictError } from './errors.ts';

function service(name: string, autoscale: Partial<AutoscaleConfig> | undefined): ServiceConfig {
  return {
    name,
    replicas: { count: 1, min: 1, max: 10 },
    autoscale: autoscale && {
      metric: 'inflight_per_replica',
      target: 2,
      min: 1,
      max: 4,
      intervalMs: 500,
      tolerance: 0.1,
      maxStep: { percent: 20, min: 1 },
      scaleDownStabilizationMs: 3000,
      pid: undefined,
      ...autoscale,
    },
  } as unknown as ServiceConfig;
}

/**
 * A fake control plane: replica counts (and how many serve), a metric per service (for
 * inflight_per_replica, the in-flight count of all replicas), the attempts recorded.
 */
function fakePlane(services: ServiceConfig[]) {
  const clock = manualClock(1_000_000);
  const counts = new Map(services.map((s) => [s.name, 1]));
  const ready = new Map<string, number>();
  const values = new Map<string, number | undefined>();
  const saturated: [string, AutoscalerDecision][] = [];
  const busy = new Map<string, string>();
  const attempts: AttemptView[] = [];
  const scales: [string, number][] = [];
  let conflict = false;
  const autoscaling = new Autoscaling({
    clock,
    services,
    log: () => {},
    inflight: (name) => values.get(name),
    metric: (name) => values.get(name),
    replicas: (name) => counts.get(name)!,
    ready: (name) => ready.get(name) ?? counts.get(name)!,
    saturated: (name, decision) => saturated.push([name, decision]),
    busy: (name) => busy.get(name),
    scale: async (name, replicas) => {
      if (conflict) throw new ConflictError('a rollout is under way');
      scales.push([name, replicas]);
      counts.set(name, replicas);
    },
    recordAttempt: async (attempt) => {
      attempts.push(attempt);
    },
  });
  const step = async (ms: number) => {
    await clock.tickAsync(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    clock,
    counts,
    ready,
    saturated,
    values,
    busy,
    attempts,
    scales,
    autoscaling,
    step,
    setConflict: (on: boolean) => (conflict = on),
  };
}

describe('Autoscaling', () => {
  it('scales up on a high metric and records a policy attempt with its reason', async () => {
    const plane = fakePlane([service('web', {})]);
    plane.autoscaling.start();
    plane.values.set('web', 6);
    await plane.step(500);
    assert.deepEqual(plane.scales, [['web', 2]]);
    const attempt = plane.attempts[0]!;
    assert.equal(attempt.source, 'policy');
    assert.equal(attempt.policy, AUTOSCALE_POLICY);
    assert.equal(attempt.status, 'succeeded');
    assert.deepEqual(attempt.trigger, {
      source: 'autoscaler',
      metrics: { inflight_per_replica: 6 },
      conditions: ['proportional'],
    });
    assert.equal(attempt.outcome, 'scaled web 1 → 2 (proportional: inflight_per_replica 6 vs target 2)');
    plane.values.set('web', 100);
    await plane.step(500);
    await plane.step(500);
    await plane.step(500);
    assert.equal(plane.counts.get('web'), 4, 'never above max');
    await plane.autoscaling.stop();
  });

  it('holds within the tolerance band and decides nothing without a metric', async () => {
    const plane = fakePlane([service('web', {})]);
    plane.autoscaling.start();
    await plane.step(2000);
    assert.deepEqual(plane.scales, [], 'no metric, no decision');
    plane.values.set('web', 2.1);
    await plane.step(2000);
    assert.deepEqual(plane.scales, []);
    assert.deepEqual(plane.attempts, []);
    await plane.autoscaling.stop();
  });

  it('scales down only after the stabilization window', async () => {
    const plane = fakePlane([service('web', { maxStep: { percent: 100, min: 4 } })]);
    plane.autoscaling.start();
    plane.values.set('web', 8);
    await plane.step(500);
    assert.equal(plane.counts.get('web'), 4);
    plane.values.set('web', 0);
    await plane.step(2500);
    assert.equal(plane.counts.get('web'), 4, 'held inside the 3000 ms window');
    await plane.step(1000);
    assert.equal(plane.counts.get('web'), 1);
    assert.match(plane.attempts.at(-1)!.outcome, /^scaled web 4 → 1 \(/);
    await plane.autoscaling.stop();
  });

  it('skips a busy service and retries after a conflict without recording it', async () => {
    const plane = fakePlane([service('web', {})]);
    plane.autoscaling.start();
    plane.values.set('web', 6);
    plane.busy.set('web', 'stopped');
    await plane.step(1000);
    assert.deepEqual(plane.scales, []);
    plane.busy.delete('web');
    plane.setConflict(true);
    await plane.step(500);
    assert.deepEqual(plane.attempts, [], 'a conflict is not an attempt');
    plane.setConflict(false);
    await plane.step(500);
    assert.deepEqual(plane.scales, [['web', 2]]);
    await plane.autoscaling.stop();
  });

  it('evaluates every autoscaled service from one timer, each at its own interval', async () => {
    const plane = fakePlane([
      service('web', {}),
      service('api', { intervalMs: 1000 }),
      service('db', undefined),
    ]);
    assert.equal(plane.autoscaling.size, 2);
    plane.autoscaling.start();
    assert.equal(plane.clock.pendingTimers, 1);
    plane.values.set('web', 100);
    plane.values.set('api', 100);
    plane.values.set('db', 100);
    await plane.step(500);
    assert.equal(plane.clock.pendingTimers, 1);
    assert.deepEqual(plane.scales, [['web', 2]], 'api waits for its 1000 ms interval');
    await plane.step(500);
    assert.deepEqual(plane.scales.slice(1), [
      ['web', 3],
      ['api', 2],
    ]);
    await plane.step(500);
    assert.deepEqual(plane.scales.slice(3), [['web', 4]]);
    await plane.step(500);
    assert.deepEqual(plane.scales.slice(4), [['api', 3]], 'web is at its max');
    await plane.autoscaling.stop();
    assert.equal(plane.clock.pendingTimers, 0);
  });
});

describe('Autoscaling, metric and readiness', () => {
  it('averages the in-flight requests over the interval, sampled SAMPLES_PER_INTERVAL times', async () => {
    const plane = fakePlane([service('web', { maxStep: { percent: 100, min: 10 }, max: 10 })]);
    plane.autoscaling.start();
    assert.equal(SAMPLES_PER_INTERVAL, 10);
    // One burst of 20 in flight during one sample in ten, 2 otherwise: a mean of 3.8.
    for (let tick = 1; tick <= 10; tick++) {
      plane.values.set('web', tick === 5 ? 20 : 2);
      await plane.step(50);
    }
    assert.deepEqual(plane.scales, [['web', 2]], 'ceil(1 × 3.8 / 2), not ceil(1 × 20 / 2)');
    assert.equal(plane.attempts[0]!.trigger.metrics.inflight_per_replica, 3.8);
    await plane.autoscaling.stop();
  });

  it('tells the autoscaler how many replicas serve, and divides the in-flight count by them', async () => {
    const plane = fakePlane([service('web', { max: 10, maxStep: { percent: 100, min: 10 } })]);
    plane.counts.set('web', 4);
    plane.ready.set('web', 2);
    plane.autoscaling.start();
    // 2 serving at 4 in flight each: 8 in flight, 4 replicas' worth at target 2, all 4 on their way.
    plane.values.set('web', 8);
    await plane.step(500);
    assert.deepEqual(plane.scales, [], 'the starting replicas will absorb the load');
    // 2 serving at 6 each: 12 in flight, 6 replicas' worth: 2 more, not 4 × 3 = 12.
    plane.values.set('web', 12);
    await plane.step(500);
    assert.deepEqual(plane.scales, [['web', 6]]);
    assert.equal(plane.attempts[0]!.trigger.metrics.inflight_per_replica, 6);
    // None serving: no decision on a count that no replica carries.
    plane.ready.set('web', 0);
    plane.values.set('web', 100);
    await plane.step(500);
    assert.deepEqual(plane.scales, [['web', 6]]);
    await plane.autoscaling.stop();
  });

  it('calls the saturation hook once per decision that wants more than max', async () => {
    const plane = fakePlane([service('web', { max: 2 })]);
    plane.counts.set('web', 2);
    plane.autoscaling.start();
    plane.values.set('web', 4.2); // 2.1 per replica, within the band at max: not saturated
    await plane.step(500);
    assert.equal(plane.saturated.length, 0);
    plane.values.set('web', 6); // 3 per replica
    await plane.step(500);
    await plane.step(500);
    assert.equal(plane.saturated.length, 2, 'one call per decision');
    const [name, decision] = plane.saturated[0]!;
    assert.equal(name, 'web');
    assert.equal(decision.desired, 2);
    assert.equal(decision.ratio, 1.5);
    assert.deepEqual(plane.scales, [], 'already at max');
    // Below max, a high load scales instead.
    plane.counts.set('web', 1);
    plane.values.set('web', 3);
    await plane.step(500);
    assert.deepEqual(plane.scales, [['web', 2]]);
    assert.equal(plane.saturated.length, 3, '1 → 2 reaches max with the load still above the band');
    // At max with replicas still starting whose capacity covers the load: not saturated.
    plane.ready.set('web', 1);
    plane.values.set('web', 4); // 4 in flight on 1: 2 per replica once both serve
    await plane.step(500);
    assert.equal(plane.saturated.length, 3);
    await plane.autoscaling.stop();
  });
});

describe('autoscaleMetric', () => {
  const traffic = () => ({ requests: 10, latency_p99: 120 });
  const metrics = () => ({ cpu_util: 0.4 });

  it('reads the gateway p99 and the scraped cpu_util', () => {
    assert.equal(autoscaleMetric('latency_p99', { traffic, metrics }), 120);
    assert.equal(autoscaleMetric('cpu_util', { traffic, metrics }), 0.4);
  });

  it('answers undefined when nothing measured the metric', () => {
    const none = { traffic: () => undefined, metrics: () => ({}) };
    assert.equal(autoscaleMetric('latency_p99', none), undefined);
    assert.equal(
      autoscaleMetric('latency_p99', { ...none, traffic: () => ({ ...traffic(), requests: 0 }) }),
      undefined,
    );
    assert.equal(autoscaleMetric('cpu_util', none), undefined);
  });
});
