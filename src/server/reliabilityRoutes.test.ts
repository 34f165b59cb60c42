// GET /api/reliability in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler, assertError } from '../../test/support/apiHandler.ts';

describe('GET /api/reliability', () => {
  it('answers every service and the overall figures in the shape of SPEC 6', async () => {
    const { status, json } = await apiHandler().get('/api/reliability');
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
    assertError(await apiHandler().get('/api/reliability?service=payment-api'), 400, 'BAD_REQUEST');
  });
});
