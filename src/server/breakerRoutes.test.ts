// GET /api/circuit-breakers/transitions in-process: the resets the API makes show newest first,
// and a query it does not know is a structured 400 that changes nothing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { createApiHandler } from './api.ts';

describe('GET /api/circuit-breakers/transitions', () => {
  it('lists the transitions since rebound started, newest first', async () => {
    const controlPlane = fakeControlPlane();
    const handler = createApiHandler({ controlPlane, token: undefined, loopbackOnly: true });
    const get = async (url: string) => {
      const response = await handler({ method: 'GET', url, headers: {} });
      return { status: response.status, json: JSON.parse(response.body) };
    };
    // The fake's breakers changed state before the API existed: not in the history.
    assert.deepEqual((await get('/api/circuit-breakers/transitions')).json, { transitions: [], total: 0 });

    controlPlane.breakers.get('gateway', 'payment-api').isolate();
    const reset = await handler({ method: 'POST', url: '/api/circuit-breakers/reset', headers: {} });
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

    const bad = await get('/api/circuit-breakers/transitions?limit=5');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'BAD_REQUEST');
  });
});
