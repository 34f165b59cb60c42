// The /api/chaos routes in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { createApiHandler } from './api.ts';

async function get(url: string) {
  const handler = createApiHandler({
    controlPlane: fakeControlPlane(),
    token: undefined,
    loopbackOnly: true,
  });
  const response = await handler({ method: 'GET', url, headers: {} });
  return { status: response.status, json: JSON.parse(response.body) as unknown };
}

describe('GET /api/chaos/schedules', () => {
  it('answers every schedule with its next run and its last one', async () => {
    const { status, json } = await get('/api/chaos/schedules');
    assert.equal(status, 200);
    assert.deepEqual(json, {
      schedules: [
        {
          name: 'nightly-kill',
          title: 'kill a replica',
          target: 'payment-api',
          every: null,
          cron: '0 3 * * *',
          timezone: 'UTC',
          enabled: true,
          nextRunAt: '2025-01-01T03:00:00.000Z',
          lastRun: null,
        },
      ],
    });
  });
});
