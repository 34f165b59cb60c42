import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { manualClock } from '../policies/index.ts';
import type { BreakerConfig } from './configTypes.ts';
import { type Gateway, type GatewayOptions, startGateway } from './gateway.ts';
import { until } from '../../test/support/waiting.ts';

// The client side spoken byte by byte over raw sockets: pipelining, HTTP/1.0, refusals, upgrades,
// interim answers, idle connections.

const BREAKER: BreakerConfig = {
  trip: { kind: 'consecutive', failures: 5 },
  openMs: 60_000,
  openBackoff: undefined,
  halfOpen: { maxCalls: 1, successes: 1 },
  slowCall: undefined,
};

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(
  handler: (request: IncomingMessage, body: string) => { status?: number; body: string; delayMs?: number },
): Promise<{ port: number; server: HttpServer; requests: string[] }> {
  const requests: string[] = [];
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url} ${body}`);
      const answer = handler(request, body);
      const send = () => {
        response.statusCode = answer.status ?? 200;
        response.setHeader('content-length', Buffer.byteLength(answer.body));
        response.end(answer.body);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as { port: number }).port, server, requests };
}

async function gateway(port: number, options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const started = await startGateway({
    service: 'svc',
    host: '127.0.0.1',
    port: 0,
    balance: 'round-robin',
    timeoutMs: 5_000,
    breaker: BREAKER,
    fallback: undefined,
    ...options,
  });
  started.setUpstreams([{ id: 'r1', host: '127.0.0.1', port }]);
  cleanups.push(() => started.close());
  return started;
}

/** Writes `pieces` (a pause between each) and reads until `done(text)` holds or the server closes. */
async function converse(
  port: number,
  pieces: string[],
  done: (text: string) => boolean = () => false,
): Promise<{ text: string; closed: boolean; socket: Socket }> {
  const socket = connect({ host: '127.0.0.1', port });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'connect');
  let text = '';
  let closed = false;
  const finished = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) resolve();
    });
    socket.on('close', () => {
      closed = true;
      resolve();
    });
    socket.on('error', () => {});
  });
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await finished;
  return { text, closed, socket };
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern, 'g'))?.length ?? 0;
}

describe('gateway connections', () => {
  it('answers pipelined requests in order', async () => {
    const replica = await upstream((request) => ({
      body: `answer ${request.url}`,
      delayMs: request.url === '/1' ? 30 : 0, // the first is slowest: order must still hold
    }));
    const front = await gateway(replica.port);
    const pipelined =
      'GET /1 HTTP/1.1\r\nHost: h\r\n\r\n' +
      'POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody' +
      'GET /3 HTTP/1.1\r\nHost: h\r\n\r\n';
    const { text } = await converse(front.address.port, [pipelined], (t) => t.includes('answer /3'));
    assert.ok(text.indexOf('answer /1') < text.indexOf('answer /2'));
    assert.ok(text.indexOf('answer /2') < text.indexOf('answer /3'));
    assert.deepEqual(replica.requests, ['GET /1 ', 'POST /2 body', 'GET /3 ']);
  });

  it('reads a request split into many small pieces', async () => {
    const replica = await upstream((request, body) => ({ body: `got ${body}` }));
    const front = await gateway(replica.port);
    const request =
      'POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    const pieces = request.match(/[\s\S]{1,7}/g)!;
    const { text } = await converse(front.address.port, pieces, (t) => t.includes('got hello'));
    assert.match(text, /^HTTP\/1\.1 200 OK/);
  });

  it('serves HTTP/1.0 clients, keeping the connection only when asked', async () => {
    const replica = await upstream(() => ({ body: 'ten bytes!' }));
    const front = await gateway(replica.port);
    const plain = await converse(front.address.port, ['GET / HTTP/1.0\r\n\r\n']);
    assert.equal(plain.closed, true);
    assert.match(plain.text, /connection: close/i);
    assert.ok(plain.text.endsWith('ten bytes!'));
    const kept = await converse(
      front.address.port,
      [
        'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
        'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
      ],
      (t) => count(t, /ten bytes!/) === 2,
    );
    assert.equal(kept.closed, false);
    assert.equal(count(kept.text, /connection: keep-alive/i), 2);
  });

  it('refuses ambiguous framing with 400 and closes, never reaching the replica', async () => {
    const replica = await upstream(() => ({ body: 'x' }));
    const front = await gateway(replica.port);
    const smuggled =
      'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n';
    const { text, closed } = await converse(front.address.port, [smuggled]);
    assert.match(text, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(text, /"code":"BAD_REQUEST"/);
    assert.equal(closed, true);
    assert.deepEqual(replica.requests, []);
  });

  it('refuses a head larger than 16 KiB with 431', async () => {
    const replica = await upstream(() => ({ body: 'x' }));
    const front = await gateway(replica.port);
    const { text } = await converse(front.address.port, [
      `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(17_000)}`,
    ]);
    assert.match(text, /^HTTP\/1\.1 431/);
  });

  it('passes 100 Continue on, then the final answer', async () => {
    const replica = await upstream((request, body) => ({ body: `received ${body}` }));
    const front = await gateway(replica.port);
    const socket = connect({ host: '127.0.0.1', port: front.address.port });
    cleanups.push(() => void socket.destroy());
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.write('PUT /file HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n');
    await until(() => text.includes('100 Continue'), 'the interim answer');
    assert.doesNotMatch(text, /200 OK/);
    socket.write('payload');
    await until(() => text.includes('received payload'), 'the final answer');
  });

  it('tunnels an upgraded connection (WebSocket-style) both ways', async () => {
    const server = createHttpServer();
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      if (head.length > 0) socket.write(head);
      socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
      socket.on('end', () => socket.end());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const front = await gateway((server.address() as { port: number }).port);
    const socket = connect({ host: '127.0.0.1', port: front.address.port });
    cleanups.push(() => void socket.destroy());
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.write('GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    await until(() => text.includes('\r\n\r\n'), 'the 101');
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols/);
    assert.match(text, /x-rebound-replica: r1/);
    socket.write('ping');
    await until(() => text.includes('echo:ping'), 'the echo through the tunnel');
    assert.equal(front.metrics().inflight, 0, 'the upgrade is counted as done');
    assert.equal(front.metrics().requests, 1);
    // The client's half-close travels through the tunnel, and the upstream's close comes back.
    socket.end();
    await until(() => socket.destroyed || socket.readableEnded, 'the tunnel to close');
  });

  it('retries on a fresh connection when a kept-alive upstream connection was closed under the request', async () => {
    // An upstream that answers the first request on each connection and drops the connection when a
    // second one arrives: the race between an idle close and a new request, made certain.
    let dropped = 0;
    const server = createTcpServer((socket: Socket) => {
      let served = 0;
      socket.on('data', () => {
        if (served++ === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else {
          dropped++;
          socket.destroy();
        }
      });
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const front = await gateway((server.address() as { port: number }).port);
    const { text } = await converse(
      front.address.port,
      ['GET /a HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: h\r\n\r\n'],
      (t) => count(t, /200 OK/) === 2,
    );
    assert.equal(count(text, /200 OK/), 2);
    assert.equal(dropped, 1);
    assert.equal(front.metrics().errors, 0);
  });

  it('closes connections idle for keepAliveTimeoutMs, and heads that never end', async () => {
    const clock = manualClock(0);
    const replica = await upstream(() => ({ body: 'x' }));
    const front = await gateway(replica.port, { clock, keepAliveTimeoutMs: 5_000 });
    const idle = await converse(front.address.port, ['GET / HTTP/1.1\r\nHost: h\r\n\r\n'], (t) =>
      t.endsWith('x'),
    );
    const partial = connect({ host: '127.0.0.1', port: front.address.port });
    cleanups.push(() => void partial.destroy());
    partial.on('error', () => {});
    partial.write('GET / HTTP/1.1\r\nHo');
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(4_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(idle.socket.destroyed, false);
    assert.equal(partial.destroyed, false);
    clock.advance(1_000);
    await until(() => idle.socket.destroyed && partial.destroyed, 'both connections to be closed');
  });

  it('does not count a request the client abandons, and frees its slot', async () => {
    const replica = await upstream(() => ({ body: 'late', delayMs: 100 }));
    const front = await gateway(replica.port);
    const socket = connect({ host: '127.0.0.1', port: front.address.port });
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await until(() => front.metrics().inflight === 1, 'the request in flight');
    socket.destroy();
    await until(() => front.metrics().inflight === 0, 'the slot to be freed');
    assert.equal(front.metrics().requests, 0);
    assert.equal(front.replicaMetrics().r1!.inflight, 0);
  });
});
