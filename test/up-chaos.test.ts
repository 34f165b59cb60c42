// `rebound up` with `chaos.proxyApi` serves the Toxiproxy-compatible API beside its own, with the
// proxies declared in the config, and closes it on SIGTERM.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Toxiproxy } from 'toxiproxy-node-client';
import { freePort, reboundUp, stopStarted } from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

describe('rebound up: the fault proxy API', () => {
  it('serves the proxies of the config to a Toxiproxy client', async () => {
    const [apiPort, listenPort, upstreamPort] = [await freePort(), await freePort(), await freePort()];
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    health: { tcp: {}, intervalMs: 200 }
policies: []
chaos:
  proxyApi: { port: ${apiPort} }
  proxies: [{ name: redis, listen: "127.0.0.1:${listenPort}", upstream: "127.0.0.1:${upstreamPort}" }]
`);
    // Printed just after the API's address line, possibly in a later chunk of output.
    await until(
      () => rebound.output().includes(`fault proxy API at http://127.0.0.1:${apiPort}`),
      'the fault proxy API line',
    );
    const toxiproxy = new Toxiproxy(`http://127.0.0.1:${apiPort}`);
    const proxies = await toxiproxy.getAll();
    assert.deepEqual(Object.keys(proxies), ['redis']);
    assert.equal(proxies.redis!.listen, `127.0.0.1:${listenPort}`);
    assert.equal(proxies.redis!.upstream, `127.0.0.1:${upstreamPort}`);
    assert.equal(await rebound.stop('SIGTERM'), 0);
    await assert.rejects(fetch(`http://127.0.0.1:${apiPort}/version`), 'the API is closed with rebound');
  });
});
