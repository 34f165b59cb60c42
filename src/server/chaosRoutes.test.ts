// The /api/chaos routes in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler } from '../../test/support/apiHandler.ts';

describe('GET /api/chaos/schedules', () => {
  it('answers every schedule with its next run and its last one', async () => {
    const { status, json } = await apiHandler().get('/api/chaos/schedules');
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
