// The real toxiproxy-node-client drives rebound's fault proxy API through its whole surface, and the
// toxics are measured over real loopback sockets.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Toxiproxy } from 'toxiproxy-node-client';
import { type FaultProxyServer, startToxiproxyApi } from '../src/chaos/toxiproxyApi.ts';

let api: FaultProxyServer;
let toxiproxy: Toxiproxy;
let echo: Server;
let echoAddress: string;

before(async () => {
  api = await startToxiproxyApi({ host: '127.0.0.1', port: 0 });
  toxiproxy = new Toxiproxy(api.url);
  // An echo server as the upstream: what the client sends comes back through both directions.
  echo = createServer((socket) => {
    socket.on('error', () => {}); // reset_peer resets this side too
    socket.pipe(socket);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoAddress = `127.0.0.1:${(echo.address() as { port: number }).port}`;
});
after(async () => {
  await api.close();
  echo.close();
});
beforeEach(() => api.proxies.closeAll());

describe('toxiproxy-node-client against rebound', () => {
  it('creates, gets, lists, updates and removes proxies', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress });
    assert.equal(proxy.name, 'echo');
    assert.equal(proxy.upstream, echoAddress);
    assert.equal(proxy.enabled, true);
    assert.match(proxy.listen, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(proxy.listen, '127.0.0.1:0');

    const fetched = await toxiproxy.get('echo');
    assert.deepEqual(fetched.toJson(), proxy.toJson());

    await toxiproxy.createProxy({ name: 'another', listen: 'localhost:0', upstream: echoAddress });
    const all = await toxiproxy.getAll();
    assert.deepEqual(Object.keys(all), ['another', 'echo']);

    const disabled = await proxy.update({
      enabled: false,
      listen: proxy.listen,
      upstream: echoAddress,
    });
    assert.equal(disabled.enabled, false);
    assert.equal(disabled.listen, proxy.listen);
    const enabled = await disabled.update({
      enabled: true,
      listen: proxy.listen,
      upstream: echoAddress,
    });
    assert.equal(enabled.enabled, true);

    await proxy.remove();
    await assert.rejects(toxiproxy.get('echo'), /404$/);
    await assert.rejects(proxy.remove(), /404$/);
  });

  it('refuses a duplicate proxy (409) and a proxy without upstream (400)', async () => {
    await toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress });
    await assert.rejects(
      toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress }),
      /409$/,
    );
    await assert.rejects(toxiproxy.createProxy({ name: 'x', listen: 'localhost:0', upstream: '' }), /400$/);
  });

  it('adds, gets, updates and removes toxics', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress });
    const toxic = await proxy.addToxic({ type: 'latency', attributes: { latency: 100 } } as never);
    assert.deepEqual(toxic.toJson(), {
      attributes: { latency: 100, jitter: 0 },
      name: 'latency_downstream',
      stream: 'downstream',
      toxicity: 1,
      type: 'latency',
    });
    await assert.rejects(proxy.addToxic({ type: 'latency', attributes: { latency: 5 } } as never), /409$/);
    await assert.rejects(proxy.addToxic({ type: 'nope', attributes: {} } as never), /400$/);

    const updated = await toxic.update({ attributes: { jitter: 10 } } as never);
    assert.deepEqual(updated.attributes, { latency: 100, jitter: 10 });
    assert.equal(updated.toxicity, 1);
    const fetched = await proxy.getToxic('latency_downstream');
    assert.deepEqual(fetched.toJson(), updated.toJson());

    await toxic.remove();
    await assert.rejects(proxy.getToxic('latency_downstream'), /404$/);
    await assert.rejects(toxic.remove(), /404$/);
  });

  it('populates, resets and tells its version', async () => {
    const proxies = await toxiproxy.populate([
      { name: 'one', listen: 'localhost:0', upstream: echoAddress },
      { name: 'two', listen: 'localhost:0', upstream: echoAddress, enabled: false },
    ] as never);
    assert.deepEqual(Object.keys(proxies), ['one', 'two']);
    assert.equal(proxies.two?.enabled, false);
    await proxies.one?.addToxic({ type: 'timeout', attributes: { timeout: 10 } } as never);

    await toxiproxy.reset();
    const all = await toxiproxy.getAll();
    assert.equal(all.two?.enabled, true);
    const one = await fetch(`${api.url}/proxies/one/toxics`).then((response) => response.json());
    assert.deepEqual(one, []);

    const version = await toxiproxy.getVersion();
    assert.deepEqual(JSON.parse(version), { version: '2.12.0' });
  });
});

/** A server that sends `bytes` bytes to each connection, then closes. */
async function sourceServer(bytes: number): Promise<{ address: string; close(): void }> {
  const payload = Buffer.alloc(bytes, 7);
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.end(payload);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}

function open(listen: string): Promise<Socket> {
  const [host, port] = listen.split(':') as [string, string];
  const socket = connect({ host, port: Number(port) });
  return once(socket, 'connect').then(() => socket);
}

/** Reads a socket until it closes: the bytes received, when the last arrived, and the error if any. */
function drain(socket: Socket): Promise<{ bytes: number; endedAt: number; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let error: NodeJS.ErrnoException | undefined;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.on('error', (cause: NodeJS.ErrnoException) => (error = cause));
    socket.on('close', () => resolve({ bytes, endedAt: performance.now(), ...(error ? { error } : {}) }));
  });
}

describe('toxics measured over loopback', () => {
  it('adds the latency of a latency toxic (within 10%)', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress });
    const socket = await open(proxy.listen);
    const roundTrip = async (): Promise<number> => {
      const start = performance.now();
      socket.write('ping');
      await once(socket, 'data');
      return performance.now() - start;
    };
    const direct = await roundTrip();
    await proxy.addToxic({ type: 'latency', attributes: { latency: 200 } } as never);
    const delayed = await roundTrip();
    socket.destroy();
    assert.ok(Math.abs(delayed - direct - 200) <= 20, `added ${delayed - direct} ms, expected 200 ± 20`);
  });

  it('limits the bandwidth to its rate (within 10%)', async () => {
    const source = await sourceServer(300_000);
    try {
      const proxy = await toxiproxy.createProxy({
        name: 'bulk',
        listen: 'localhost:0',
        upstream: source.address,
      });
      await proxy.addToxic({ type: 'bandwidth', attributes: { rate: 600 } } as never); // 600 KB/s: 500 ms
      const start = performance.now();
      const socket = await open(proxy.listen);
      const { bytes, endedAt } = await drain(socket);
      assert.equal(bytes, 300_000);
      const elapsed = endedAt - start;
      assert.ok(Math.abs(elapsed - 500) <= 50, `took ${elapsed} ms, expected 500 ± 50`);
    } finally {
      source.close();
    }
  });

  it('resets the connection with reset_peer', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress });
    await proxy.addToxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 50 } } as never);
    const socket = await open(proxy.listen);
    const result = drain(socket);
    socket.write('hello');
    const { bytes, error } = await result;
    assert.equal(bytes, 0);
    assert.equal(error?.code, 'ECONNRESET');
  });

  it('closes the connection after limit_data bytes', async () => {
    const source = await sourceServer(50_000);
    try {
      const proxy = await toxiproxy.createProxy({
        name: 'limited',
        listen: 'localhost:0',
        upstream: source.address,
      });
      await proxy.addToxic({ type: 'limit_data', attributes: { bytes: 1234 } } as never);
      const { bytes, error } = await drain(await open(proxy.listen));
      assert.equal(bytes, 1234);
      assert.equal(error, undefined);
    } finally {
      source.close();
    }
  });

  it('stalls the data with timeout, then closes', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress });
    await proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 300 } } as never);
    const start = performance.now();
    const socket = await open(proxy.listen);
    const result = drain(socket);
    socket.write('hello');
    const { bytes, endedAt } = await result;
    assert.equal(bytes, 0);
    assert.ok(endedAt - start >= 290, `closed after ${endedAt - start} ms, expected about 300`);
    assert.ok(endedAt - start < 1000, `closed after ${endedAt - start} ms, expected about 300`);
  });

  it('is down while disabled: live connections close and new ones are refused', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'echo', listen: 'localhost:0', upstream: echoAddress });
    const socket = await open(proxy.listen);
    const result = drain(socket);
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: echoAddress });
    await result;
    await assert.rejects(open(proxy.listen), { code: 'ECONNREFUSED' });
  });
});
