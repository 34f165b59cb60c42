// GET /api/forecasts in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler, assertError } from '../../test/support/apiHandler.ts';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { createMetricsExposition } from './metricsExposition.ts';

describe('GET /api/forecasts', () => {
  it('answers every watched forecast with its value, prediction and measured error', async () => {
    const { status, json } = await apiHandler().get('/api/forecasts');
    assert.equal(status, 200);
    const forecasts = json.forecasts as Record<string, unknown>[];
    assert.equal(forecasts.length, 1);
    assert.deepEqual(
      {
        service: forecasts[0]!.service,
        metric: forecasts[0]!.metric,
        horizonMs: forecasts[0]!.horizonMs,
        value: forecasts[0]!.value,
        predicted: forecasts[0]!.predicted,
      },
      { service: 'payment-api', metric: 'cpu_util', horizonMs: 60_000, value: 0.72, predicted: 0.95 },
    );
    assert.equal((forecasts[0]!.error as { mae: number }).mae, 0.04);
  });

  it('filters by service, and answers 404 for an unknown one', async () => {
    const { get } = apiHandler();
    assert.deepEqual((await get('/api/forecasts?service=database')).json, { forecasts: [] });
    assertError(await get('/api/forecasts?service=nope'), 404, 'UNKNOWN_SERVICE');
  });

  it('refuses an unknown query parameter with a structured 400', async () => {
    assertError(await apiHandler().get('/api/forecasts?metric=cpu_util'), 400, 'BAD_REQUEST');
  });
});

describe('GET /metrics: forecasts', () => {
  it('exposes each forecast and its measured error as gauges', async () => {
    const text = await createMetricsExposition(fakeControlPlane(), { processMetrics: false }).render();
    const labels = 'service="payment-api",metric="cpu_util",horizon_ms="60000"';
    assert.match(text, new RegExp(`^rebound_forecast_value\\{${labels}\\} 0\\.95$`, 'm'));
    assert.match(text, new RegExp(`^rebound_forecast_error\\{${labels},measure="mae"\\} 0\\.04$`, 'm'));
    assert.match(text, new RegExp(`^rebound_forecast_error\\{${labels},measure="relative"\\} 0\\.05$`, 'm'));
    assert.match(
      text,
      new RegExp(`^rebound_forecast_error\\{${labels},measure="one_step_mae"\\} 0\\.01$`, 'm'),
    );
    assert.match(text, /^# TYPE rebound_forecast_error gauge$/m);
  });
});
