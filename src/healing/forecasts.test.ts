import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReboundError, manualClock } from '../policies/index.ts';
import { parseConfig } from './config.ts';
import type { ReboundConfig } from './configTypes.ts';
import { type Forecasts, forecasts } from './forecasts.ts';

const START = Date.parse('2025-01-01T00:00:00.000Z');

function config(policies: string): ReboundConfig {
  return parseConfig(
    `services:\n  api: { command: node api.js }\n  db: { command: postgres }\npolicies:\n${policies}`,
    { env: {}, source: 'test.yaml' },
  );
}

const CPU_60S = `
  - name: cpu rising
    services: [api]
    when: [{ metric: cpu_util, op: gt, value: 0.9, predictedWithinMs: 60000 }]
    do: [scale-up]
`;

/** Feeds `values` one per `everyMs` (the first at the clock's current time). */
function feed(
  target: Forecasts,
  clock: ReturnType<typeof manualClock>,
  service: string,
  metric: string,
  values: readonly number[],
  everyMs = 1000,
): void {
  values.forEach((value, index) => {
    if (index > 0) clock.advance(everyMs);
    target.observe(service, { [metric]: value });
  });
}

const close = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(
    typeof actual === 'number' && Math.abs(actual - expected) < 1e-9,
    `${what}: ${String(actual)} ≠ ${expected}`,
  );

describe('forecasts', () => {
  it('watches only the (service, metric, horizon) of predictive policy conditions', () => {
    const clock = manualClock(START);
    const current = config(`${CPU_60S}
  - name: latency everywhere
    when: [{ metric: latency_p99, op: gt, value: 500, predictedWithinMs: 30000 }, { metric: error_rate, op: gt, value: 0.1 }]
    do: [restart-service]
`);
    const target = forecasts({ clock, config: () => current });
    const watched = target.views().map((view) => `${view.service} ${view.metric} ${view.horizonMs}`);
    // error_rate has no predictedWithinMs; latency_p99's policy names no service: every service.
    assert.deepEqual(watched, ['api cpu_util 60000', 'api latency_p99 30000', 'db latency_p99 30000']);
    target.observe('db', { cpu_util: 0.5 });
    assert.equal(target.predict('db', 'cpu_util', 1000), undefined, 'db cpu_util is not watched');
  });

  it('forecasts nothing until three samples, then a linear ramp exactly, with zero error at the horizon', () => {
    const clock = manualClock(START);
    const current = config(CPU_60S.replace('60000', '2000'));
    // Trusted at once here (no prediction need be checked first): what the raw forecast says.
    const target = forecasts({ clock, config: () => current, minChecked: 0 });
    feed(target, clock, 'api', 'cpu_util', [0.5, 0.51]);
    assert.equal(target.predict('api', 'cpu_util', 2000), undefined, 'two samples are not enough');
    assert.equal(target.views()[0]!.predicted, null);
    clock.advance(1000);
    target.observe('api', { cpu_util: 0.52 });
    close(target.predict('api', 'cpu_util', 2000), 0.54, 'two seconds on');
    // Asked half a second after the last sample: "from now" is half a second further.
    clock.advance(500);
    close(target.predict('api', 'cpu_util', 2000), 0.545, 'from now, not from the last sample');
    clock.advance(500);
    // 0.01 per second for 20 s more: every prediction comes true.
    feed(target, clock, 'api', 'cpu_util', [0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6]);
    const [view] = target.views();
    close(view!.value, 0.6, 'last value');
    close(view!.predicted, 0.62, 'predicted');
    assert.equal(view!.samples, 11);
    assert.equal(view!.observedAt, new Date(START + 10_000).toISOString());
    // Predictions made at samples 3..9 fell due at 5..11 s (7 of them, the two newest still pending).
    assert.equal(view!.error.samples, 7);
    assert.equal(view!.error.pending, 2);
    close(view!.error.mae, 0, 'mae at the horizon');
    close(view!.error.relative, 0, 'relative error');
    close(view!.error.oneStepMae, 0, 'one-step error');
  });

  it('measures the error at the horizon by hand (α = β = 1: the last slope, extrapolated)', () => {
    const clock = manualClock(START);
    const current = config(CPU_60S.replace('60000', '1000'));
    const target = forecasts({ clock, config: () => current, holt: { alpha: 1, beta: 1 } });
    // After 0, 1, 2 the forecast for t = 3 s is 3; the series goes flat at 2: off by 1. The slope is
    // then 0, so the forecast for t = 4 s is 2, and 2 it is: off by 0.
    feed(target, clock, 'api', 'cpu_util', [0, 1, 2, 2, 2]);
    const { error } = target.views()[0]!;
    assert.equal(error.samples, 2);
    close(error.mae, 0.5, 'mean of |3 − 2| and |2 − 2|');
    close(error.relative, 0.25, '1 / (2 + 2)');
    // One step: 2 predicted 2 (0), then 3 for 2 (1), then 2 for 2 (0).
    close(error.oneStepMae, 1 / 3, 'one-step');
    assert.equal(error.oneStepSamples, 3);
  });

  it('checks a prediction against the series between two samples when none falls on its time', () => {
    const clock = manualClock(START);
    const current = config(CPU_60S.replace('60000', '1000'));
    const target = forecasts({ clock, config: () => current });
    // A ramp of 2 per second sampled at uneven times: due times fall between samples.
    for (const atMs of [0, 700, 1500, 2000, 3600, 4100, 6000]) {
      clock.advance(START + atMs - clock.now());
      target.observe('api', { cpu_util: 10 + 0.002 * atMs });
    }
    const { error } = target.views()[0]!;
    assert.ok(error.samples >= 3, `checked ${error.samples}`);
    close(error.mae, 0, 'interpolated, a ramp is still predicted exactly');
  });

  it('measures an error above zero on a noisy series', () => {
    const clock = manualClock(START);
    const current = config(CPU_60S.replace('60000', '5000'));
    const target = forecasts({ clock, config: () => current });
    const noisy = Array.from(
      { length: 40 },
      (_, index) => 0.5 + 0.005 * index + (index % 2 === 0 ? 0.03 : -0.03),
    );
    feed(target, clock, 'api', 'cpu_util', noisy);
    const { error } = target.views()[0]!;
    assert.equal(error.samples, 40 - 2 - 5, 'predictions from sample 3 on, the last five not due yet');
    assert.ok(error.mae! > 0.01, `mae ${error.mae}`);
    assert.ok(error.relative! > 0.01 && error.relative! < 1, `relative ${error.relative}`);
    assert.ok(error.oneStepMae! > 0.01, `one-step ${error.oneStepMae}`);
  });

  it('is trusted only once 3 predictions were checked, and then only beyond its measured error', () => {
    const clock = manualClock(START);
    const current = config(CPU_60S.replace('60000', '2000'));
    const target = forecasts({ clock, config: () => current });
    // A ramp of 0.01/s: predictions made from the 3rd sample on fall due 2 s later.
    feed(target, clock, 'api', 'cpu_util', [0.5, 0.51, 0.52, 0.53, 0.54, 0.55]);
    assert.equal(target.views()[0]!.error.samples, 2);
    assert.equal(target.predict('api', 'cpu_util', 2000), undefined, 'two checked: not yet trusted');
    clock.advance(1000);
    target.observe('api', { cpu_util: 0.56 });
    assert.equal(target.views()[0]!.error.samples, 3);
    close(target.predict('api', 'cpu_util', 2000), 0.58, 'exact so far, so nothing taken off');

    // Flat but noisy (±0.02, alternating): the trend wobbles, the error it measured takes it back.
    const noisy = config(CPU_60S);
    const flat = forecasts({ clock, config: () => noisy });
    const wobble = Array.from({ length: 120 }, (_, index) => (index % 2 === 0 ? 0.6 : 0.62));
    feed(flat, clock, 'api', 'cpu_util', wobble);
    const raw = flat.views()[0]!;
    assert.ok(raw.error.mae! > 0.05, `mae ${raw.error.mae}`);
    const trusted = flat.predict('api', 'cpu_util', 60_000)!;
    assert.ok(Math.abs(raw.predicted! - 0.62) > Math.abs(trusted - 0.62), 'pulled towards the value');
    assert.ok(
      trusted < 0.7,
      `a 0.7 threshold is not forecast to be crossed: ${trusted} (raw ${raw.predicted})`,
    );
  });

  it('stops forecasting on stale samples and starts over after a gap', () => {
    const clock = manualClock(START);
    const current = config(CPU_60S);
    const target = forecasts({ clock, config: () => current, staleAfterMs: 5000, minChecked: 0 });
    feed(target, clock, 'api', 'cpu_util', [0.1, 0.2, 0.3]);
    assert.ok(target.predict('api', 'cpu_util', 1000) !== undefined);
    clock.advance(5001);
    assert.equal(target.predict('api', 'cpu_util', 1000), undefined, 'stale');
    target.observe('api', { cpu_util: 0.9 });
    assert.equal(target.views()[0]!.samples, 1, 'started over');
    assert.equal(target.views()[0]!.error.pending, 0, 'predictions across the gap dropped');
    assert.equal(target.predict('api', 'cpu_util', 1000), undefined);
    // A missing or broken value is no sample.
    target.observe('api', { memory_util: 0.5 });
    target.observe('api', { cpu_util: Number.NaN });
    assert.equal(target.views()[0]!.samples, 1);
  });

  it('keeps memory bounded however often samples come', () => {
    const clock = manualClock(START);
    const current = config(CPU_60S);
    const target = forecasts({ clock, config: () => current, errorWindow: 50 });
    for (let index = 0; index < 5000; index++) {
      target.observe('api', { cpu_util: 0.5 + (index % 7) / 100 });
      clock.advance(50);
    }
    const { error } = target.views()[0]!;
    // One prediction kept per 600 ms (60 s / 100) over a 60 s horizon, and 50 checked ones.
    assert.ok(error.pending <= 101, `pending ${error.pending}`);
    assert.equal(error.samples, 50);
    assert.ok(error.settled > 50, `settled ${error.settled}`);
  });

  it('works the watched set out again on a reload, keeping the forecasts still watched', () => {
    const clock = manualClock(START);
    let current = config(CPU_60S);
    const target = forecasts({ clock, config: () => current });
    feed(target, clock, 'api', 'cpu_util', [0.1, 0.2, 0.3]);
    current = config(`${CPU_60S}
  - name: memory
    services: [db]
    when: [{ metric: memory_util, op: gte, value: 0.8, predictedWithinMs: 120000 }]
    do: [restart-service]
`);
    const views = target.views();
    assert.deepEqual(
      views.map((view) => [view.service, view.metric, view.samples]),
      [
        ['api', 'cpu_util', 3],
        ['db', 'memory_util', 0],
      ],
    );
    current = config(`
  - name: cpu, no longer predictive
    when: [{ metric: cpu_util, op: gt, value: 0.9 }]
    do: [scale-up]
`);
    assert.deepEqual(target.views(), []);
    assert.equal(target.predict('api', 'cpu_util', 1000), undefined);
  });

  it('refuses bad options, every problem at once', () => {
    assert.throws(
      () =>
        forecasts({
          config: () => config(CPU_60S),
          minSamples: 1,
          staleAfterMs: 0,
          errorWindow: 0.5,
        }),
      (error: unknown) =>
        isReboundError(error) &&
        /minSamples/.test(error.message) &&
        /staleAfterMs/.test(error.message) &&
        /errorWindow/.test(error.message),
    );
  });
});
