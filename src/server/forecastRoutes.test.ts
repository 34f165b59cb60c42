// GET /api/forecasts in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { createApiHandler } from './api.ts';
import { createMetricsExposition } from './metricsExposition.ts';

async function get(url: string, controlPlane = fakeControlPlane()) {
  const handler = createApiHandler({ controlPlane, token: undefined, loopbackOnly: true, onError: () => {} });
  const response = await handler({ method: 'GET', url, headers: {} });
  return { status: response.status, json: JSON.parse(response.body) as Record<string, unknown> };
}

describe('GET /api/forecasts', () => {
  it('answers every watched forecast with its value, prediction and measured error', async () => {
    const { status, json } = await get('/api/forecasts');
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
    assert.deepEqual((await get('/api/forecasts?service=database')).json, { forecasts: [] });
    const unknown = await get('/api/forecasts?service=nope');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json.error as { code: string }).code, 'UNKNOWN_SERVICE');
  });

  it('refuses an unknown query parameter with a structured 400', async () => {
    const { status, json } = await get('/api/forecasts?metric=cpu_util');
    assert.equal(status, 400);
    assert.equal((json.error as { code: string }).code, 'BAD_REQUEST');
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
