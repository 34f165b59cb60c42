// GET /api/controllers in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import type { ControllerView } from '../healing/index.ts';
import { createApiHandler } from './api.ts';

async function get(url: string, controlPlane = fakeControlPlane()) {
  const handler = createApiHandler({ controlPlane, token: undefined, loopbackOnly: true, onError: () => {} });
  const response = await handler({ method: 'GET', url, headers: {} });
  return {
    status: response.status,
    json: JSON.parse(response.body) as {
      controllers: ControllerView[];
      error: { code: string; message: string; details?: unknown };
    },
  };
}

describe('GET /api/controllers', () => {
  it('answers every controller with its level, parent, children and decisions', async () => {
    const { status, json } = await get('/api/controllers');
    assert.equal(status, 200);
    const controllers = json.controllers;
    assert.deepEqual(
      controllers.map((c) => [c.name, c.level, c.parent]),
      [
        ['global', 'global', null],
        ['service:payment-api', 'service', 'global'],
        ['service:database', 'service', 'global'],
      ],
    );
    assert.deepEqual(controllers[0]!.children, ['service:payment-api', 'service:database']);
    const [page] = controllers[0]!.decisions;
    assert.equal(page?.level, 'global');
    assert.equal(page.action, 'page');
    assert.equal(typeof page.reason, 'string');
    assert.equal(page.at, '2025-01-01T00:00:02.000Z');
    assert.deepEqual(page.details, { service: 'database' });
  });

  it('filters by ?level=', async () => {
    const { json } = await get('/api/controllers?level=service');
    assert.deepEqual(
      json.controllers.map((c: { name: string }) => c.name),
      ['service:payment-api', 'service:database'],
    );
    assert.deepEqual((await get('/api/controllers?level=group')).json.controllers, []);
  });

  it('refuses an unknown level or query parameter with a structured 400', async () => {
    const level = await get('/api/controllers?level=region');
    assert.equal(level.status, 400);
    assert.equal(level.json.error.code, 'BAD_REQUEST');
    assert.match(level.json.error.message, /level must be one of service, group, global/);
    assert.deepEqual(level.json.error.details, [
      { path: 'level', message: 'must be one of service, group, global' },
    ]);
    assert.equal((await get('/api/controllers?name=global')).status, 400);
  });

  it('answers a failure of the control plane with a 500 that says nothing more', async () => {
    const controlPlane = fakeControlPlane();
    controlPlane.failNext = new Error('hierarchy is gone');
    const { status, json } = await get('/api/controllers', controlPlane);
    assert.equal(status, 500);
    assert.doesNotMatch(JSON.stringify(json), /hierarchy is gone/);
  });
});
