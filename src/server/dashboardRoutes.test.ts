// The dashboard's files in-process: the app's pages answer index.html, assets their content types
// and a strict CSP, the vendored uPlot is there, and nothing else on disk can be reached.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler } from '../../test/support/apiHandler.ts';
import { DASHBOARD_CSP, dashboardRoutes } from './dashboardRoutes.ts';

function setup(options: { token?: string; loopbackOnly?: boolean } = {}) {
  const { call } = apiHandler({ ...options, routes: dashboardRoutes() });
  return (url: string, method = 'GET') => call(method, url);
}

describe('dashboard routes', () => {
  it('answers index.html for every page of the app', async () => {
    const get = setup();
    for (const path of [
      '/',
      '/services/payment-api',
      '/circuit-breakers',
      '/incidents',
      '/incidents/abc',
      '/healing',
      '/chaos',
    ]) {
      const response = await get(path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(response.headers['cache-control'], 'no-cache');
      assert.equal(response.headers['content-security-policy'], DASHBOARD_CSP);
      assert.match(response.body, /<script type="module" src="\/assets\/app.js">/);
    }
    assert.match(DASHBOARD_CSP, /default-src 'self'/);
  });

  it('serves scripts, styles and the vendored uPlot with their content types', async () => {
    const get = setup();
    const app = await get('/assets/app.js');
    assert.equal(app.status, 200);
    assert.equal(app.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(app.body, /openStream/);
    assert.equal((await get('/assets/pages/service.js')).status, 200);
    assert.equal((await get('/assets/style.css')).headers['content-type'], 'text/css; charset=utf-8');
    const uplot = await get('/assets/vendor/uPlot.iife.min.js');
    assert.equal(uplot.status, 200);
    assert.match(uplot.body, /uPlot/);
    assert.equal((await get('/assets/vendor/uPlot.min.css')).status, 200);
  });

  it('answers 404 JSON for unknown assets and refuses path traversal', async () => {
    const get = setup();
    for (const path of [
      '/assets/nope.js',
      '/assets/..%2F..%2Fpackage.json',
      '/assets/pages/..%2F..%2Fapi.ts',
      '/assets/%2e%2e/dashboardRoutes.ts',
      '/assets/a/b/c.js',
      '/assets/index.html.bak',
    ]) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      assert.equal(JSON.parse(response.body).error.code, 'NOT_FOUND', path);
    }
  });

  it('is GET only, and reads need no token on loopback but do elsewhere', async () => {
    assert.equal((await setup()('/', 'POST')).status, 405);
    assert.equal((await setup({ token: 't' })('/')).status, 200);
    assert.equal((await setup({ token: 't', loopbackOnly: false })('/assets/app.js')).status, 401);
  });
});
