// GET /api/controllers in-process, against the fake control plane.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler, assertError } from '../../test/support/apiHandler.ts';
import type { ControllerView } from '../healing/index.ts';

describe('GET /api/controllers', () => {
  it('answers every controller with its level, parent, children and decisions', async () => {
    const { status, json } = await apiHandler().get('/api/controllers');
    assert.equal(status, 200);
    const controllers: ControllerView[] = json.controllers;
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
    const { get } = apiHandler();
    const { json } = await get('/api/controllers?level=service');
    assert.deepEqual(
      json.controllers.map((c: { name: string }) => c.name),
      ['service:payment-api', 'service:database'],
    );
    assert.deepEqual((await get('/api/controllers?level=group')).json.controllers, []);
  });

  it('refuses an unknown level or query parameter with a structured 400', async () => {
    const { get } = apiHandler();
    const level = await get('/api/controllers?level=region');
    assertError(level, 400, 'BAD_REQUEST');
    assert.match(level.json.error.message, /level must be one of service, group, global/);
    assert.deepEqual(level.json.error.details, [
      { path: 'level', message: 'must be one of service, group, global' },
    ]);
    assert.equal((await get('/api/controllers?name=global')).status, 400);
  });
});
