// GET /api/circuit-breakers/transitions in-process: the resets the API makes show newest first,
// and a query it does not know is a structured 400 that changes nothing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler, assertError } from '../../test/support/apiHandler.ts';

describe('GET /api/circuit-breakers/transitions', () => {
  it('lists the transitions since rebound started, newest first', async () => {
    const { controlPlane, call, get } = apiHandler();
    // The fake's breakers changed state before the API existed: not in the history.
    assert.deepEqual((await get('/api/circuit-breakers/transitions')).json, { transitions: [], total: 0 });

    controlPlane.breakers.get('gateway', 'payment-api').isolate();
    const reset = await call('POST', '/api/circuit-breakers/reset');
    assert.equal(reset.status, 200);

    const { status, json } = await get('/api/circuit-breakers/transitions');
    assert.equal(status, 200);
    assert.equal(json.total, 3);
    assert.deepEqual(
      json.transitions.map(({ kind, name, from, to, reason }: Record<string, string>) => ({
        kind,
        name,
        from,
        to,
        reason,
      })),
      [
        { kind: 'webhook', name: 'pager', from: 'isolated', to: 'closed', reason: 'reset' },
        { kind: 'gateway', name: 'payment-api', from: 'isolated', to: 'closed', reason: 'reset' },
        { kind: 'gateway', name: 'payment-api', from: 'closed', to: 'isolated', reason: 'isolated' },
      ],
    );
    for (const transition of json.transitions) assert.ok(!Number.isNaN(Date.parse(transition.at)));

    assertError(await get('/api/circuit-breakers/transitions?limit=5'), 400, 'BAD_REQUEST');
  });
});
