// The Toxiproxy API's status codes, error messages, headers and JSON shapes, over loopback.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FaultProxyServer, startToxiproxyApi } from './toxiproxyApi.ts';

let api: FaultProxyServer;
before(async () => {
  api = await startToxiproxyApi({ host: '127.0.0.1', port: 0 });
});
after(() => api.close());
beforeEach(() => api.proxies.closeAll());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  const json = response.headers.get('content-type')?.startsWith('application/json')
    ? JSON.parse(text)
    : undefined;
  return { status: response.status, headers: response.headers, text, json };
}

const proxy = (name: string, extra: object = {}) => ({
  name,
  listen: '127.0.0.1:0',
  upstream: '127.0.0.1:9',
  ...extra,
});

describe('Toxiproxy API', () => {
  it('answers errors as {error, status} with a request id on every response', async () => {
    const missing = await call('GET', '/proxies/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error: 'proxy not found', status: 404 });
    const first = (await call('GET', '/proxies')).headers.get('x-toxiproxy-request-id');
    const second = missing.headers.get('x-toxiproxy-request-id');
    assert.ok(first && second && first !== second);
  });

  it('refuses browsers with 403', async () => {
    const refused = await call('GET', '/proxies', undefined, { 'User-Agent': 'Mozilla/5.0 (X11)' });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /User agent not allowed/);
    assert.ok(refused.headers.get('x-toxiproxy-request-id'));
  });

  it('validates proxy creation with Toxiproxy messages', async () => {
    assert.deepEqual((await call('POST', '/proxies', { upstream: 'x:1' })).json, {
      error: 'missing required field: name',
      status: 400,
    });
    assert.deepEqual((await call('POST', '/proxies', { name: 'a' })).json, {
      error: 'missing required field: upstream',
      status: 400,
    });
    assert.deepEqual((await call('POST', '/proxies', '{not json')).json, {
      error: 'bad request body',
      status: 400,
    });
    assert.equal((await call('POST', '/proxies', proxy('a'))).status, 201);
    assert.deepEqual((await call('POST', '/proxies', proxy('a'))).json, {
      error: 'proxy already exists',
      status: 409,
    });
    const taken = api.proxies.get('a')?.listen as string;
    const unbound = await call('POST', '/proxies', proxy('b', { listen: taken }));
    assert.equal(unbound.status, 500);
    assert.equal(api.proxies.get('b'), undefined);
  });

  it('shows a proxy with its toxics, upstream first, and updates by POST and PATCH', async () => {
    await call('POST', '/proxies', proxy('db', { enabled: false }));
    assert.equal((await call('POST', '/proxies/db/toxics', { type: 'noop' })).status, 200);
    const upstream = await call('POST', '/proxies/db/toxics', {
      type: 'latency',
      stream: 'upstream',
      toxicity: 0.5,
      attributes: { latency: 10, unknown: 3 },
    });
    assert.deepEqual(upstream.json, {
      attributes: { latency: 10, jitter: 0 },
      name: 'latency_upstream',
      type: 'latency',
      stream: 'upstream',
      toxicity: 0.5,
    });
    const shown = await call('GET', '/proxies/db');
    assert.deepEqual(Object.keys(shown.json), ['name', 'listen', 'upstream', 'enabled', 'toxics']);
    assert.deepEqual(
      shown.json.toxics.map((toxic: { name: string }) => toxic.name),
      ['latency_upstream', 'noop_downstream'],
    );
    const patched = await call('PATCH', '/proxies/db', { upstream: '127.0.0.1:10', name: 'ignored' });
    assert.equal(patched.json.name, 'db');
    assert.equal(patched.json.upstream, '127.0.0.1:10');
    assert.equal(patched.json.enabled, false);
    const toxic = await call('PATCH', '/proxies/db/toxics/latency_upstream', { attributes: { jitter: 4 } });
    assert.deepEqual(toxic.json.attributes, { latency: 10, jitter: 4 });
    assert.equal(toxic.json.toxicity, 0.5);
    assert.equal((await call('DELETE', '/proxies/db/toxics/latency_upstream')).status, 204);
    assert.deepEqual((await call('DELETE', '/proxies/db/toxics/latency_upstream')).json, {
      error: 'toxic not found',
      status: 404,
    });
    assert.equal((await call('DELETE', '/proxies/db')).status, 204);
    assert.equal((await call('DELETE', '/proxies/db')).status, 404);
  });

  it('validates toxics with Toxiproxy messages', async () => {
    await call('POST', '/proxies', proxy('db'));
    assert.deepEqual(
      (await call('POST', '/proxies/db/toxics', { type: 'latency', stream: 'sideways' })).json,
      {
        error: 'stream was invalid, can be either upstream or downstream',
        status: 400,
      },
    );
    assert.deepEqual((await call('POST', '/proxies/db/toxics', { type: 'melt' })).json, {
      error: 'invalid toxic type',
      status: 400,
    });
    await call('POST', '/proxies/db/toxics', { type: 'latency', name: 'slow', stream: 'upstream' });
    // Names are unique across both streams.
    assert.deepEqual((await call('POST', '/proxies/db/toxics', { type: 'bandwidth', name: 'slow' })).json, {
      error: 'toxic already exists',
      status: 409,
    });
    assert.equal((await call('POST', '/proxies/nope/toxics', { type: 'noop' })).status, 404);
    assert.equal((await call('GET', '/proxies/db/toxics/nope')).status, 404);
    assert.equal(
      (
        await call('POST', '/proxies/db/toxics', {
          type: 'latency',
          name: 'x',
          attributes: { latency: 'a lot' },
        })
      ).status,
      400,
    );
  });

  it('populates after checking every entry, keeping identical proxies and their toxics', async () => {
    const refused = await call('POST', '/populate', [proxy('one'), { upstream: 'x:1' }]);
    assert.deepEqual(refused.json, { error: 'missing required field: name at proxy 2', status: 400 });
    assert.equal(api.proxies.list().length, 0);

    const created = await call('POST', '/populate', [proxy('one'), proxy('two')]);
    assert.equal(created.status, 201);
    assert.deepEqual(
      created.json.proxies.map((entry: { name: string }) => entry.name),
      ['one', 'two'],
    );
    const one = api.proxies.get('one')!;
    await call('POST', '/proxies/one/toxics', { type: 'noop' });
    const again = await call('POST', '/populate', [
      { name: 'one', listen: one.listen, upstream: one.upstream },
      proxy('two', { upstream: '127.0.0.1:11' }),
    ]);
    assert.equal(again.status, 201);
    assert.equal(api.proxies.get('one')?.toxics.length, 1);
    assert.equal(api.proxies.get('two')?.upstream, '127.0.0.1:11');
  });

  it('resets: every proxy enabled, every toxic gone', async () => {
    await call('POST', '/proxies', proxy('db', { enabled: false }));
    await call('POST', '/proxies/db/toxics', { type: 'timeout' });
    assert.equal((await call('POST', '/reset')).status, 204);
    const shown = await call('GET', '/proxies/db');
    assert.equal(shown.json.enabled, true);
    assert.deepEqual(shown.json.toxics, []);
  });

  it('tells its version as JSON with a newline, and 404s unknown paths', async () => {
    const version = await call('GET', '/version');
    assert.equal(version.headers.get('content-type'), 'application/json;charset=utf-8');
    assert.match(version.text, /^\{"version":"\d+\.\d+\.\d+"\}\n$/);
    assert.equal((await call('GET', '/nothing')).status, 404);
    assert.equal((await call('PUT', '/proxies')).status, 405);
  });
});
