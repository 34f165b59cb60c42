import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidOptionsError } from '../policies/errors.ts';
import { holtForecast, predictedCrossing } from './forecast.ts';

const close = (actual: number | undefined, expected: number, what: string) => {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);
};

describe('holtForecast', () => {
  it('predicts nothing until two samples have given a trend', () => {
    const forecast = holtForecast();
    assert.equal(forecast.predict(1000), undefined);
    forecast.observe(5, 0);
    assert.equal(forecast.predict(1000), undefined);
    forecast.observe(6, 0); // same instant: still no slope
    assert.equal(forecast.predict(1000), undefined);
    forecast.observe(7, 1000);
    close(forecast.predict(0), 7, 'level is the second instant');
  });

  it('predicts a linear series exactly after warm-up, with zero error', () => {
    const forecast = holtForecast({ alpha: 0.3, beta: 0.2 });
    for (let second = 0; second <= 10; second++) forecast.observe(100 + 5 * second, second * 1000);
    close(forecast.predict(0), 150, 'now');
    close(forecast.predict(60_000), 450, 'in a minute'); // 150 + 5/s × 60 s
    assert.deepEqual(forecast.error(), { mae: 0, samples: 9 });
    assert.equal(forecast.lastObservedAtMs(), 10_000);
  });

  it('forecasts a constant series as constant', () => {
    const forecast = holtForecast();
    for (let index = 0; index < 20; index++) forecast.observe(0.7, index * 500);
    close(forecast.predict(120_000), 0.7, 'two minutes out');
    assert.deepEqual(forecast.error(), { mae: 0, samples: 18 });
  });

  it('keeps the trend per millisecond, so irregular gaps extrapolate by their length', () => {
    const forecast = holtForecast({ alpha: 0.5, beta: 0.5 });
    // value = 2 per second from 10 at t=0, sampled at uneven times
    for (const atMs of [0, 100, 350, 1000, 1050, 4000]) forecast.observe(10 + 0.002 * atMs, atMs);
    close(forecast.predict(6000), 10 + 0.002 * 10_000, 'at t = 10 s');
    close(forecast.error().mae, 0, 'mean absolute error');
    assert.equal(forecast.error().samples, 4);
  });

  it('measures the one-step-ahead error (hand-computed, α = β = 0.5)', () => {
    const forecast = holtForecast({ alpha: 0.5, beta: 0.5 });
    forecast.observe(10, 0);
    forecast.observe(20, 1000); // level 20, trend 0.01 per ms
    forecast.observe(40, 2000); // predicted 30: error 10; level 35; trend 0.5·0.015 + 0.5·0.01 = 0.0125
    close(forecast.predict(1000), 47.5, 'level 35 + 0.0125 × 1000');
    assert.deepEqual(forecast.error(), { mae: 10, samples: 1 });
    forecast.observe(45, 3000); // predicted 47.5: error 2.5; level 46.25; trend 0.5·0.01125 + 0.5·0.0125
    close(forecast.predict(0), 46.25, 'level');
    close(forecast.predict(1000), 46.25 + 11.875, 'trend 0.011875 per ms');
    assert.deepEqual(forecast.error(), { mae: 6.25, samples: 2 });
  });

  it('ignores samples older than the last one and values that are not finite numbers', () => {
    const forecast = holtForecast();
    forecast.observe(1, 0);
    forecast.observe(2, 1000);
    forecast.observe(100, 500);
    forecast.observe(Number.NaN, 2000);
    forecast.observe(Number.POSITIVE_INFINITY, 2000);
    close(forecast.predict(1000), 3, 'unchanged by the bad samples');
    assert.equal(forecast.lastObservedAtMs(), 1000);
    assert.equal(forecast.error().samples, 0);
  });

  it('validates alpha and beta, listing every problem', () => {
    assert.throws(
      () => holtForecast({ alpha: 0, beta: 1.5 }),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        error.problems.length === 2 &&
        error.problems[0]!.startsWith('holtForecast.alpha ') &&
        error.problems[1]!.startsWith('holtForecast.beta '),
    );
  });
});

describe('predictedCrossing', () => {
  // 50 (%) now, rising by 10 per 10 s: 80 in 30 s, 90 in 40 s.
  const rising = holtForecast();
  rising.observe(40, 0);
  rising.observe(50, 10_000);

  it('says whether a rising metric crosses an upper threshold within the horizon', () => {
    assert.equal(predictedCrossing(rising, { op: 'gt', value: 90 }, 60_000), true);
    assert.equal(predictedCrossing(rising, { op: 'gt', value: 90 }, 30_000), false);
    assert.equal(predictedCrossing(rising, { op: 'gte', value: 80 }, 30_000), true);
    assert.equal(predictedCrossing(rising, { op: 'gt', value: 80 }, 30_000), false);
  });

  it('holds when the level is already past the threshold, and for falling metrics with lt', () => {
    assert.equal(predictedCrossing(rising, { op: 'gt', value: 30 }, 0), true);
    assert.equal(predictedCrossing(rising, { op: 'lt', value: 50 }, 60_000), false);
    assert.equal(predictedCrossing(rising, { op: 'lte', value: 50 }, 60_000), true);
    const falling = holtForecast();
    falling.observe(100, 0);
    falling.observe(90, 1000);
    assert.equal(predictedCrossing(falling, { op: 'lt', value: 50 }, 5000), true);
    assert.equal(predictedCrossing(falling, { op: 'lt', value: 50 }, 3000), false);
  });

  it('handles eq and neq on the forecast line, and is false before there is a trend', () => {
    assert.equal(predictedCrossing(rising, { op: 'eq', value: 60 }, 10_000), true);
    assert.equal(predictedCrossing(rising, { op: 'eq', value: 70 }, 10_000), false);
    assert.equal(predictedCrossing(rising, { op: 'neq', value: 50 }, 10_000), true);
    const flat = holtForecast();
    flat.observe(1, 0);
    flat.observe(1, 1000);
    assert.equal(predictedCrossing(flat, { op: 'neq', value: 1 }, 10_000), false);
    const empty = holtForecast();
    empty.observe(5, 0);
    assert.equal(predictedCrossing(empty, { op: 'gt', value: 0 }, 10_000), false);
  });
});
