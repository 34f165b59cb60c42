// The router: literal and `:param` segments, 404 against 405 with the methods a path accepts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';
import { createRouter } from './router.ts';

const route = (method: Route['method'], path: string): Route => ({
  method,
  path,
  handle: () => jsonResponse(200, { path }),
});

describe('createRouter', () => {
  const router = createRouter([
    route('GET', '/api/services'),
    route('GET', '/api/services/:name'),
    route('POST', '/api/services/:name/restart'),
    route('POST', '/api/circuit-breakers/reset'),
    route('POST', '/api/circuit-breakers/:kind/:name/reset'),
  ]);

  it('matches literal paths and decodes parameters', () => {
    const list = router.match('GET', '/api/services');
    assert.equal(list.kind === 'found' && list.route.path, '/api/services');
    const one = router.match('GET', '/api/services/a%2Fb');
    assert.deepEqual(one.kind === 'found' && one.params, { name: 'a/b' });
    const nested = router.match('POST', '/api/circuit-breakers/gateway/payment-api/reset');
    assert.deepEqual(nested.kind === 'found' && nested.params, { kind: 'gateway', name: 'payment-api' });
  });

  it('prefers the route listed first when a literal and a parameter both match', () => {
    const match = router.match('POST', '/api/circuit-breakers/reset');
    assert.equal(match.kind === 'found' && match.route.path, '/api/circuit-breakers/reset');
  });

  it('is not-found for unknown paths, empty parameters and trailing slashes', () => {
    for (const path of ['/api', '/api/services/', '/api/services//restart', '/api/services/a/b']) {
      assert.equal(router.match('GET', path).kind, 'not-found', path);
    }
  });

  it('lists the allowed methods when the path exists with other methods (HEAD with GET)', () => {
    assert.deepEqual(router.match('POST', '/api/services'), {
      kind: 'method-not-allowed',
      allow: ['GET', 'HEAD'],
    });
    assert.deepEqual(router.match('GET', '/api/services/x/restart'), {
      kind: 'method-not-allowed',
      allow: ['POST'],
    });
    assert.equal(router.match('HEAD', '/api/services').kind, 'found');
  });

  it('refuses two routes for the same method and path', () => {
    assert.throws(() => createRouter([route('GET', '/a/:x'), route('GET', '/a/:y')]), /two routes for GET/);
    assert.doesNotThrow(() => createRouter([route('GET', '/a/:x'), route('POST', '/a/:x')]));
  });
});
