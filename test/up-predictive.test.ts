// `rebound up` end to end: a policy condition with `predictedWithinMs` fires on a rising metric
// before its threshold is crossed, and GET /api/forecasts and /metrics show the forecast with the
// error it has measured at its horizon.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AttemptView, ForecastView } from '../src/healing/index.ts';
import { reboundUp, stopStarted } from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rebound up: predictive healing', () => {
  it('scales up on a forecast while cpu_util is still below the threshold, and shows the forecast error', async (t) => {
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    replicas: { count: 1, min: 1, max: 3 }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
policies:
  - name: CPU Rising
    when: [{ metric: cpu_util, op: gt, value: 0.9, predictedWithinMs: 10000 }]
    do: [scale-up]
    cooldownMs: 600000
`);
    const policyAttempts = async () =>
      ((await rebound.api('/api/healing?service=web')).body.attempts as AttemptView[]).filter(
        (attempt) => attempt.policy === 'CPU Rising',
      );

    // 0.5, 0.52, 0.54, … once a second, until the policy fires (or 1.0, which would be a failure).
    // The forecast is trusted once 3 of its predictions came due (10 s on) and were checked.
    let posted = 0;
    let firedBelow: number | undefined;
    for (let step = 0; step <= 25 && firedBelow === undefined; step++) {
      posted = Math.round((0.5 + 0.02 * step) * 100) / 100;
      const answer = await rebound.api('/api/events', {
        body: { service: 'web', metrics: { cpu_util: posted } },
      });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      await sleep(1000);
      if ((await policyAttempts()).length > 0) firedBelow = posted;
    }
    assert.ok(
      firedBelow !== undefined,
      `CPU Rising never fired (last posted ${posted})\n${rebound.output()}`,
    );
    assert.ok(firedBelow < 0.9, `fired only once ${firedBelow} was posted`);
    let attempt: AttemptView | undefined;
    await until(
      async () => ((attempt = (await policyAttempts())[0])?.actions.length ?? 0) > 0,
      'the scale-up to run',
      5000,
    );
    assert.ok(attempt);
    const triggeredAt = attempt.trigger.metrics.cpu_util!;
    assert.ok(triggeredAt < 0.9, `triggered at ${triggeredAt}`);
    assert.match(
      attempt.trigger.conditions[0]!,
      /^cpu_util > 0\.9 within 10 s \(by forecast: now 0\.\d+, forecast \d+(\.\d+)? at \+10 s\)$/,
    );
    assert.equal(attempt.actions[0]!.type, 'scale-up');

    // The trend flattens for a few seconds more; the forecast keeps measuring itself.
    for (let second = 0; second < 3; second++) {
      await rebound.api('/api/events', { body: { service: 'web', metrics: { cpu_util: posted } } });
      await sleep(1000);
    }
    let forecast: ForecastView | undefined;
    await until(
      async () => {
        const { body } = await rebound.api('/api/forecasts');
        forecast = (body.forecasts as ForecastView[]).find(
          (entry) => entry.service === 'web' && entry.metric === 'cpu_util',
        );
        return (forecast?.error.samples ?? 0) > 0;
      },
      'a forecast error measured at the horizon',
      5000,
    );
    assert.ok(forecast);
    assert.equal(forecast.horizonMs, 10000);
    assert.equal(forecast.value, posted);
    assert.equal(typeof forecast.predicted, 'number');
    const { mae } = forecast.error;
    assert.ok(mae !== null && mae >= 0 && mae < 1, `mae ${mae}`);
    assert.ok(forecast.error.oneStepSamples > 0);
    t.diagnostic(
      `fired at ${firedBelow}: ${attempt.trigger.conditions[0]}; forecast error ${JSON.stringify(forecast.error)}`,
    );
    const metrics = (await rebound.api('/metrics')).body as string;
    assert.match(
      metrics,
      /^rebound_forecast_error\{service="web",metric="cpu_util",horizon_ms="10000",measure="mae"\} [\d.e-]+$/m,
    );
  });
});
