// GET /api/reliability in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { createApiHandler } from './api.ts';

async function get(url: string, controlPlane = fakeControlPlane()) {
  const handler = createApiHandler({ controlPlane, token: undefined, loopbackOnly: true });
  const response = await handler({ method: 'GET', url, headers: {} });
  return { status: response.status, json: JSON.parse(response.body) as Record<string, unknown> };
}

describe('GET /api/reliability', () => {
  it('answers every service and the overall figures in the shape of SPEC 6', async () => {
    const { status, json } = await get('/api/reliability');
    assert.equal(status, 200);
    const services = json.services as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(services).sort(), ['database', 'payment-api']);
    const payment = services['payment-api']!;
    // 1000 responses, 250 failed, target 0.5: availability 1 − 250/1000 = 0.75; budget
    // 1 − 0.25 / 0.5 = 0.5; burn rate 0.25 / 0.5 = 0.5 over 1 h and 6 h (all exact in binary).
    assert.equal(payment.availability, 0.75);
    assert.equal(payment.errorBudgetRemaining, 0.5);
    assert.deepEqual(payment.burnRate, { '1h': 0.5, '6h': 0.5 });
    assert.deepEqual(payment.alerts, { fast: false, slow: false });
    assert.deepEqual(payment.slo, { target: 0.5, windowDays: 30 });
    assert.equal(payment.mttrMs, null);
    // The database has no SLO and no traffic: no availability, no budget, no burn rate.
    const database = services.database!;
    assert.equal(database.availability, null);
    assert.equal(database.errorBudgetRemaining, null);
    assert.deepEqual(database.burnRate, { '1h': null, '6h': null });
    assert.equal(database.slo, null);
    assert.equal(database.incidents, 1);
    const overall = json.overall as Record<string, unknown>;
    assert.equal(overall.requests, 1000);
    assert.equal(overall.errors, 250);
    assert.equal(overall.availability, 0.75);
    assert.equal(overall.incidents, 1);
  });

  it('refuses a query parameter with a structured 400', async () => {
    const { status, json } = await get('/api/reliability?service=payment-api');
    assert.equal(status, 400);
    assert.equal((json.error as { code: string }).code, 'BAD_REQUEST');
  });

  it('answers a failure of the control plane with a 500 that says nothing more', async () => {
    const controlPlane = fakeControlPlane();
    controlPlane.failNext = new Error('store is gone');
    const handler = createApiHandler({
      controlPlane,
      token: undefined,
      loopbackOnly: true,
      onError: () => {},
    });
    const response = await handler({ method: 'GET', url: '/api/reliability', headers: {} });
    assert.equal(response.status, 500);
    assert.doesNotMatch(response.body, /store is gone/);
  });
});
