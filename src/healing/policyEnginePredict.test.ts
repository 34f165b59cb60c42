// The policy engine's `predict` hook: conditions with `predictedWithinMs` fire on a forecast, and
// verification counts the forecast too. Time is a manual clock; the forecasts are forecasts.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock, type ManualClock } from '../policies/index.ts';
import { describeCondition } from './conditions.ts';
import { parseConfig } from './config.ts';
import type { AttemptView } from './controlPlaneTypes.ts';
import { type Forecasts, forecasts } from './forecasts.ts';
import { PolicyEngine } from './policyEngine.ts';

const START = Date.parse('2025-01-01T00:00:00.000Z');

const policy = (predictedWithinMs: number | undefined) => `
services:
  api: { command: node api.js }
policies:
  - name: cpu
    when: [{ metric: cpu_util, op: gt, value: 0.9${
      predictedWithinMs === undefined ? '' : `, predictedWithinMs: ${predictedWithinMs}`
    } }]
    do: [scale-up]
`;

interface Run {
  clock: ManualClock;
  engine: PolicyEngine;
  forecast: Forecasts;
  /** Finished attempts, in order. */
  attempts: AttemptView[];
  /** The value posted each second, and the second the first attempt started at. */
  firedAt: number | undefined;
  valueWhenFired: number | undefined;
}

/**
 * Plays `series` (one value of cpu_util per second) as the control plane does: each second the
 * forecasts see the value, then the engine evaluates it. `after(second)` gives the value once the
 * series is over (default: the last one, flat).
 */
async function play(
  yaml: string,
  series: readonly number[],
  options: { hook?: boolean; seconds?: number; after?: (second: number) => number } = {},
): Promise<Run> {
  const config = parseConfig(yaml, { env: {}, source: 'test.yaml' });
  const clock = manualClock(START);
  const forecast = forecasts({ clock, config: () => config, minChecked: 0 });
  let current: Record<string, number> = {};
  const run: Run = {
    clock,
    forecast,
    attempts: [],
    firedAt: undefined,
    valueWhenFired: undefined,
    engine: new PolicyEngine({
      policies: config.policies,
      limits: config.limits,
      permissions: config.permissions,
      services: ['api'],
      actuator: { run: async () => ({ ok: true, message: 'scaled' }) },
      metricsOf: () => current,
      record: (attempt) => {
        if (attempt.endedAt !== null) run.attempts.push(attempt);
      },
      escalate: () => {},
      clock,
      verifyWithinMs: 10_000,
      verifyIntervalMs: 1000,
      ...(options.hook === false
        ? {}
        : { predict: (service, metric, horizonMs) => forecast.predict(service, metric, horizonMs) }),
    }),
  };
  const seconds = options.seconds ?? series.length;
  const after = options.after ?? (() => series.at(-1)!);
  const running: Promise<unknown>[] = [];
  for (let second = 0; second < seconds; second++) {
    if (second > 0) await clock.tickAsync(1000);
    const value = second < series.length ? series[second]! : after(second);
    current = { cpu_util: value };
    forecast.observe('api', current);
    if (run.engine.isHealing('api')) continue;
    const evaluation = run.engine.evaluate({ service: 'api', metrics: current, source: 'gateway' });
    running.push(evaluation);
    if (
      (await Promise.race([evaluation, Promise.resolve(undefined)])) === undefined &&
      run.firedAt === undefined
    ) {
      run.firedAt = second;
      run.valueWhenFired = value;
    }
  }
  await clock.tickAsync(20_000);
  await Promise.all(running);
  return run;
}

const RISING = Array.from({ length: 12 }, (_, second) => Math.round((0.5 + 0.05 * second) * 100) / 100);

describe('policy engine: predictive conditions', () => {
  it('fires on a rising metric before its threshold is crossed, saying so in the trigger', async () => {
    const run = await play(policy(60_000), RISING.slice(0, 6), { seconds: 6 });
    assert.ok(run.firedAt !== undefined, 'the predictive policy fired');
    // Three samples make a forecast: it fires at the third value, 0.6, long before 0.9.
    assert.equal(run.valueWhenFired, 0.6);
    const [attempt] = run.attempts;
    assert.equal(attempt!.policy, 'cpu');
    assert.match(
      attempt!.trigger.conditions[0]!,
      /^cpu_util > 0\.9 within 60 s \(by forecast: now 0\.6, forecast 3\.6 at \+60 s\)$/,
    );
  });

  it('does not fire the same policy without predictedWithinMs until the threshold is crossed', async () => {
    const run = await play(policy(undefined), RISING);
    assert.equal(run.valueWhenFired, 0.95, 'fired only once cpu_util > 0.9');
    assert.equal(run.attempts[0]!.trigger.conditions[0], 'cpu_util > 0.9');
  });

  it('never fires on a flat metric below the threshold', async () => {
    // Flat, give or take 0.001: a slope that small stays far below 0.9 over 60 s.
    const run = await play(policy(60_000), [0.6, 0.601, 0.6, 0.601, 0.6, 0.601, 0.6], { seconds: 120 });
    assert.equal(run.firedAt, undefined);
    assert.deepEqual(run.attempts, []);
  });

  it('without the predict hook, a predictive condition holds only on what is measured', async () => {
    const run = await play(policy(60_000), RISING, { hook: false });
    assert.equal(run.valueWhenFired, 0.95);
    assert.equal(run.attempts[0]!.trigger.conditions[0], 'cpu_util > 0.9 within 60 s');
  });

  it('verifies with the forecast: a trend that flattened clears the condition', async () => {
    // Rising to 0.6 (fires), then flat at 0.6 after the scale-up: the forecast comes down to 0.6.
    const run = await play(policy(60_000), RISING.slice(0, 3), { seconds: 15 });
    const [attempt] = run.attempts;
    assert.equal(attempt!.status, 'succeeded');
    assert.equal(attempt!.verified, true);
    assert.match(
      attempt!.outcome,
      /^scale-up succeeded; cpu_util back to 0\.6 \(condition cpu_util > 0\.9 within 60 s cleared\) after \d+\.\d s$/,
    );
  });

  it('fails verification while the forecast still crosses, saying what it forecasts', async () => {
    // The ramp goes on after the scale-up, still below 0.9 for the whole verification.
    const run = await play(policy(60_000), RISING.slice(0, 3), {
      seconds: 13,
      after: (second) => 0.6 + 0.02 * (second - 2),
    });
    const [attempt] = run.attempts;
    assert.equal(attempt!.status, 'failed');
    assert.equal(run.attempts.at(-1)!.status, 'escalated', 'the only policy failed: escalated');
    assert.equal(attempt!.verified, false);
    assert.match(
      attempt!.outcome,
      /still holds\); by forecast: cpu_util now 0\.\d+, forecast \d\.\d+ at \+60 s after/,
    );
  });

  it('describes a predictive condition for people', () => {
    assert.equal(
      describeCondition({ metric: 'cpu_util', op: 'gt', value: 0.9, predictedWithinMs: 60_000 }),
      'cpu_util > 0.9 within 60 s',
    );
    assert.equal(
      describeCondition({ metric: 'latency_p99', op: 'lte', value: 200, predictedWithinMs: 1500 }),
      'latency_p99 <= 200 within 1.5 s',
    );
  });
});
