import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  Agent,
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { BreakerRegistry, manualClock } from '../policies/index.ts';
import type { BreakerConfig, FallbackConfig } from './configTypes.ts';
import { type Gateway, type GatewayOptions, isGatewayListenError, startGateway } from './gateway.ts';
import { until } from '../../test/support/waiting.ts';

// Real sockets on loopback: upstreams are node:http servers, clients node:http requests.

const BREAKER: BreakerConfig = {
  trip: { kind: 'consecutive', failures: 2 },
  openMs: 60_000,
  openBackoff: undefined,
  halfOpen: { maxCalls: 1, successes: 1 },
  slowCall: undefined,
};
const FALLBACK: FallbackConfig = { status: 200, headers: { 'x-mode': 'degraded' }, body: { degraded: true } };

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface TestUpstream {
  id: string;
  port: number;
  seen: Seen[];
  /** TCP connections accepted. */
  connections: number;
  server: HttpServer;
}

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const answerOk: Handler = (request, response, body) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ url: request.url, body }));
};

async function upstream(id: string, handler: Handler = answerOk): Promise<TestUpstream> {
  const result: TestUpstream = { id, port: 0, seen: [], connections: 0, server: undefined as never };
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      result.seen.push({ method: request.method!, url: request.url!, headers: request.headers, body });
      handler(request, response, body);
    });
  });
  server.on('connection', () => result.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  result.port = (server.address() as { port: number }).port;
  result.server = server;
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return result;
}

/** A "replica" that was just killed: it accepts connections and resets them as soon as data arrives. */
async function resettingUpstream(): Promise<{ port: number; server: TcpServer; hits: number }> {
  const result = { port: 0, server: undefined as unknown as TcpServer, hits: 0 };
  const server = createTcpServer((socket: Socket) => {
    socket.on('data', () => {
      result.hits++;
      socket.resetAndDestroy();
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  result.port = (server.address() as { port: number }).port;
  result.server = server;
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return result;
}

/** A port nothing listens on (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function gateway(options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const started = await startGateway({
    service: 'payment-api',
    host: '127.0.0.1',
    port: 0,
    balance: 'round-robin',
    timeoutMs: 5_000,
    breaker: BREAKER,
    fallback: FALLBACK,
    ...options,
  });
  cleanups.push(() => started.close());
  return started;
}

function to(target: TestUpstream): { id: string; host: string; port: number } {
  return { id: target.id, host: '127.0.0.1', port: target.port };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(
  port: number,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    agent?: Agent;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

describe('gateway: proxying', () => {
  it('proxies a GET, names the replica, adds X-Forwarded-* and drops hop-by-hop headers', async () => {
    const replica = await upstream('r1');
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    const answer = await send(front.address.port, {
      path: '/orders?id=7',
      headers: { host: 'shop.example', connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'x-trace': 'abc' },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { url: '/orders?id=7', body: '' });
    assert.equal(answer.headers['x-rebound-replica'], 'r1');
    const seen = replica.seen[0]!;
    assert.equal(seen.headers.host, 'shop.example');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'shop.example');
    assert.equal(seen.headers['x-trace'], 'abc');
    assert.equal(seen.headers['x-hop'], undefined);
    assert.equal(answer.headers['keep-alive'], undefined, 'the upstream keep-alive hint is hop-by-hop');
  });

  it('appends to an X-Forwarded-For set by a proxy in front and keeps its -Proto', async () => {
    const replica = await upstream('r1');
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    await send(front.address.port, {
      headers: { 'x-forwarded-for': '10.1.2.3', 'x-forwarded-proto': 'https' },
    });
    assert.equal(replica.seen[0]!.headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
    assert.equal(replica.seen[0]!.headers['x-forwarded-proto'], 'https');
  });

  it('proxies POST bodies: sized, chunked, and large ones streamed both ways', async () => {
    const replica = await upstream('r1', (request, response, body) => {
      if (request.url === '/echo-large') {
        response.write(body.slice(0, 1000)); // chunked response, in pieces
        setTimeout(() => response.end(body.slice(1000)), 5);
        return;
      }
      answerOk(request, response, body);
    });
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    const sized = await send(front.address.port, { method: 'POST', body: 'hello' });
    assert.equal(JSON.parse(sized.body).body, 'hello');

    const chunked = await new Promise<Answer>((resolve, reject) => {
      const outgoing = httpRequest(
        { host: '127.0.0.1', port: front.address.port, method: 'POST', path: '/', agent: false },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode!, headers: response.headers, body }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.write('part one, ');
      setTimeout(() => outgoing.end('part two'), 10);
    });
    assert.equal(JSON.parse(chunked.body).body, 'part one, part two');
    assert.equal(replica.seen[1]!.headers['transfer-encoding'], 'chunked');

    const large = 'x'.repeat(3 * 1024 * 1024) + 'end';
    const echoed = await send(front.address.port, { method: 'PUT', path: '/echo-large', body: large });
    assert.equal(echoed.status, 200);
    assert.equal(echoed.body.length, large.length);
    assert.ok(echoed.body.endsWith('end'));
  });

  it('keeps connections alive on both sides', async () => {
    const replica = await upstream('r1');
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    let clientSockets = 0;
    const counted = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      const answer = await new Promise<IncomingMessage>((resolve, reject) => {
        const outgoing = httpRequest(
          { host: '127.0.0.1', port: front.address.port, path: `/${i}`, agent },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response));
          },
        );
        outgoing.on('socket', (socket) => {
          if (!counted.has(socket)) {
            counted.add(socket);
            clientSockets++;
          }
        });
        outgoing.on('error', reject);
        outgoing.end();
      });
      assert.equal(answer.statusCode, 200);
    }
    assert.equal(clientSockets, 1, 'one client connection for 20 requests');
    assert.equal(replica.connections, 1, 'one upstream connection for 20 requests');
    assert.equal(replica.seen.length, 20);
  });

  it('passes back-pressure on: a client that does not read slows the replica down', async () => {
    let written = 0;
    let stop = false;
    const replica = await upstream('r1', (request, response) => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!stop && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', pump);
            return;
          }
        }
        response.end();
      };
      pump();
    });
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    const client = await new Promise<IncomingMessage>((resolve) => {
      httpRequest({ host: '127.0.0.1', port: front.address.port, agent: false }, resolve).end();
    });
    client.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whilePaused = written;
    stop = true;
    client.destroy();
    assert.ok(
      whilePaused < 16 * 1024 * 1024,
      `the replica wrote ${whilePaused} bytes to a client that read none`,
    );
  });

  it('passes back-pressure on for request bodies: a replica that does not read slows the client down', async () => {
    let paused: IncomingMessage | undefined;
    const server = createHttpServer((request) => {
      request.pause(); // never reads the body
      paused = request;
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const front = await gateway({ timeoutMs: 1_000 });
    front.setUpstreams([{ id: 'r1', host: '127.0.0.1', port: (server.address() as { port: number }).port }]);
    const outgoing = httpRequest({
      host: '127.0.0.1',
      port: front.address.port,
      method: 'PUT',
      agent: false,
    });
    outgoing.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 'y');
    let sent = 0;
    let stop = false;
    const pump = () => {
      while (!stop && sent < 64 * 1024 * 1024) {
        sent += chunk.length;
        if (!outgoing.write(chunk)) {
          outgoing.once('drain', pump);
          return;
        }
      }
    };
    pump();
    await until(() => paused !== undefined, 'the request to reach the replica');
    await new Promise((resolve) => setTimeout(resolve, 500));
    stop = true;
    assert.ok(sent < 32 * 1024 * 1024, `the client could send ${sent} bytes to a replica that read none`);
    outgoing.destroy();
  });

  it('answers HEAD without a body, and 204/304 as they are', async () => {
    const replica = await upstream('r1', (request, response) => {
      if (request.url === '/empty') {
        response.statusCode = 204;
        response.end();
        return;
      }
      response.setHeader('content-length', '11');
      response.end(request.method === 'HEAD' ? undefined : 'hello world');
    });
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const head = await send(front.address.port, { method: 'HEAD', agent });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '11');
    assert.equal(head.body, '');
    const empty = await send(front.address.port, { path: '/empty', agent });
    assert.equal(empty.status, 204);
    const full = await send(front.address.port, { agent });
    assert.equal(full.body, 'hello world', 'the connection is still in sync after HEAD and 204');
  });
});

describe('gateway: balancing', () => {
  it('round-robin takes the replicas in turn', async () => {
    const [a, b, c] = await Promise.all([upstream('a'), upstream('b'), upstream('c')]);
    const front = await gateway({ balance: 'round-robin' });
    front.setUpstreams([to(a), to(b), to(c)]);
    const order: string[] = [];
    for (let i = 0; i < 6; i++)
      order.push(String((await send(front.address.port)).headers['x-rebound-replica']));
    assert.deepEqual(order, ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('least-loaded sends to the replica with the fewest requests in flight, ties in turn', async () => {
    const held: ServerResponse[] = [];
    const slow = await upstream('slow', (request, response, body) => {
      if (request.url === '/hold') held.push(response);
      else answerOk(request, response, body);
    });
    const fast = await upstream('fast');
    const front = await gateway({ balance: 'least-loaded' });
    front.setUpstreams([to(slow), to(fast)]);
    // Ties alternate.
    const first = await send(front.address.port);
    const second = await send(front.address.port);
    assert.notEqual(first.headers['x-rebound-replica'], second.headers['x-rebound-replica']);
    // With one request held on whichever replica gets it, the others go to the other one.
    const pending = send(front.address.port, { path: '/hold' });
    await until(() => held.length === 1 || fast.seen.some((s) => s.url === '/hold'), 'the held request');
    const holder = held.length === 1 ? 'slow' : 'fast';
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await send(front.address.port)).headers['x-rebound-replica']);
    if (holder === 'slow') {
      assert.deepEqual(answers, ['fast', 'fast', 'fast', 'fast']);
      held[0]!.end('released');
      assert.equal((await pending).body, 'released');
    } else {
      await pending;
    }
    assert.equal(front.metrics().inflight, 0);
  });

  it('a replica taken out of the set finishes its in-flight requests; new ones go elsewhere', async () => {
    const held: ServerResponse[] = [];
    const leaving = await upstream('leaving', (request, response) => held.push(response));
    const staying = await upstream('staying');
    const front = await gateway();
    front.setUpstreams([to(leaving)]);
    const inFlight = [send(front.address.port, { path: '/1' }), send(front.address.port, { path: '/2' })];
    await until(() => held.length === 2, 'two requests in flight on the leaving replica');
    front.setUpstreams([to(staying)]);
    const next = await send(front.address.port);
    assert.equal(next.headers['x-rebound-replica'], 'staying');
    for (const response of held) response.end('finished');
    const finished = await Promise.all(inFlight);
    for (const answer of finished) {
      assert.equal(answer.status, 200);
      assert.equal(answer.body, 'finished');
      assert.equal(answer.headers['x-rebound-replica'], 'leaving');
    }
    assert.deepEqual(Object.keys(front.replicaMetrics()), ['staying']);
    assert.equal(front.metrics().errors, 0);
  });

  it('a replica restarted on another port keeps its id: new requests go to the new address', async () => {
    const before = await upstream('r1');
    const after = await upstream('r1');
    const front = await gateway();
    front.setUpstreams([to(before)]);
    await send(front.address.port);
    front.setUpstreams([{ id: 'r1', host: '127.0.0.1', port: after.port }]);
    await send(front.address.port);
    assert.equal(before.seen.length, 1);
    assert.equal(after.seen.length, 1);
    assert.equal(front.replicaMetrics().r1!.requests, 2, 'one window per replica id');
  });

  it('a replica added to the set takes the next request', async () => {
    const [a, b] = await Promise.all([upstream('a'), upstream('b')]);
    const front = await gateway();
    front.setUpstreams([to(a)]);
    assert.equal((await send(front.address.port)).headers['x-rebound-replica'], 'a');
    front.setUpstreams([to(a), to(b)]);
    const seen = new Set<unknown>();
    for (let i = 0; i < 4; i++) seen.add((await send(front.address.port)).headers['x-rebound-replica']);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });
});

describe('gateway: failures', () => {
  it('answers 503 NO_HEALTHY_REPLICA with Retry-After when there is no replica, and counts it', async () => {
    const front = await gateway();
    const answer = await send(front.address.port);
    assert.equal(answer.status, 503);
    assert.equal(answer.headers['retry-after'], '1');
    assert.equal(JSON.parse(answer.body).error.code, 'NO_HEALTHY_REPLICA');
    const metrics = front.metrics();
    assert.equal(metrics.requests, 1);
    assert.equal(metrics.errors, 1);
    assert.equal(metrics.error_rate, 1);
  });

  it('retries an idempotent request once on another replica when its replica was killed', async () => {
    const killed = await resettingUpstream();
    const alive = await upstream('alive');
    const front = await gateway({ balance: 'round-robin' });
    front.setUpstreams([{ id: 'killed', host: '127.0.0.1', port: killed.port }, to(alive)]);
    for (let i = 0; i < 6; i++) {
      const answer = await send(front.address.port, { method: i % 2 === 0 ? 'GET' : 'PUT', body: 'x' });
      assert.equal(answer.status, 200, `request ${i}`);
      assert.equal(answer.headers['x-rebound-replica'], 'alive');
    }
    assert.ok(killed.hits >= 1, 'the killed replica was tried');
    assert.equal(front.metrics().errors, 0, 'clients saw no failure');
    assert.equal(front.metrics().requests, 6);
    assert.equal(front.replicaMetrics().killed!.errors, killed.hits, 'the replica itself is charged');
  });

  it('loses no request when a replica dies under steady traffic and another one is healthy', async () => {
    const slowly: Handler = (request, response, body) =>
      setTimeout(() => answerOk(request, response, body), 3);
    const doomed = await upstream('doomed', slowly);
    const survivor = await upstream('survivor', slowly);
    const front = await gateway({ balance: 'least-loaded' });
    front.setUpstreams([to(doomed), to(survivor)]); // the supervisor has not noticed the death yet
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(() => agent.destroy());
    let stop = false;
    const statuses: number[] = [];
    const client = async () => {
      while (!stop) statuses.push((await send(front.address.port, { path: '/work', agent })).status);
    };
    const clients = Array.from({ length: 8 }, client);
    await until(() => statuses.length >= 100 && doomed.seen.length > 10, 'traffic on both replicas');
    // The "kill": every connection to it is cut, requests in flight included, and new ones are refused.
    doomed.server.close();
    doomed.server.closeAllConnections();
    const atKill = statuses.length;
    await until(() => statuses.length >= atKill + 200, 'traffic after the kill');
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(
      statuses.filter((status) => status !== 200),
      [],
      'every request answered 200',
    );
    assert.equal(front.metrics().errors, 0);
    assert.ok(front.replicaMetrics().doomed!.errors >= 1, 'requests were in flight on it: they were retried');
  });

  it('does not retry a POST that reached a replica (502), but does when the connection was refused', async () => {
    const killed = await resettingUpstream();
    const alive = await upstream('alive');
    const front = await gateway();
    front.setUpstreams([{ id: 'killed', host: '127.0.0.1', port: killed.port }]);
    const reset = await send(front.address.port, { method: 'POST', body: 'charge' });
    assert.equal(reset.status, 502);
    assert.equal(JSON.parse(reset.body).error.code, 'BAD_GATEWAY');
    assert.equal(alive.seen.length, 0);

    front.setUpstreams([{ id: 'gone', host: '127.0.0.1', port: await closedPort() }, to(alive)]);
    for (let i = 0; i < 2; i++) {
      const answer = await send(front.address.port, { method: 'POST', body: 'charge' });
      assert.equal(answer.status, 200, 'a refused connection sent nothing: safe to retry');
    }
    assert.equal(alive.seen.length, 2);
    assert.equal(front.metrics().errors, 1);
  });

  it('answers 502 when the only replica refuses connections', async () => {
    const front = await gateway();
    front.setUpstreams([{ id: 'gone', host: '127.0.0.1', port: await closedPort() }]);
    const answer = await send(front.address.port);
    assert.equal(answer.status, 502);
    assert.equal(front.metrics().errors, 1);
    assert.equal(front.replicaMetrics().gone!.errors, 1);
  });

  it('answers 504 after timeoutMs without an answer (one shared timer, manual clock)', async () => {
    const clock = manualClock(1_000_000);
    const held: ServerResponse[] = [];
    const hanging = await upstream('hanging', (request, response) => held.push(response));
    const front = await gateway({ clock, timeoutMs: 2_000 });
    front.setUpstreams([to(hanging)]);
    const pending = send(front.address.port);
    await until(() => held.length === 1, 'the request to reach the upstream');
    clock.advance(1_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(front.metrics().inflight, 1, 'not yet');
    assert.equal(front.inflight, 1, 'the raw count, as the snapshot');
    clock.advance(1);
    const answer = await pending;
    assert.equal(answer.status, 504);
    assert.equal(JSON.parse(answer.body).error.code, 'GATEWAY_TIMEOUT');
    assert.equal(front.metrics().errors, 1);
    assert.equal(front.metrics().inflight, 0);
    assert.equal(front.inflight, 0);
  });

  it('cuts a response whose body stalls for timeoutMs, and counts it failed', async () => {
    const clock = manualClock(0);
    const stalled: ServerResponse[] = [];
    const replica = await upstream('r1', (request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('only the first part');
      stalled.push(response);
    });
    const front = await gateway({ clock, timeoutMs: 1_000 });
    front.setUpstreams([to(replica)]);
    const outcome = send(front.address.port).then(
      () => 'completed',
      (error: Error) => error.message,
    );
    await until(() => stalled.length === 1, 'the response to start');
    await new Promise((resolve) => setTimeout(resolve, 30));
    clock.advance(1_000);
    assert.match(await outcome, /aborted|socket hang up|ECONNRESET/);
    assert.equal(front.metrics().errors, 1);
    assert.equal(front.metrics().inflight, 0);
  });

  it('counts upstream 5xx answers as failed and 4xx as succeeded', async () => {
    const replica = await upstream('r1', (request, response) => {
      response.statusCode = Number(request.url!.slice(1));
      response.end();
    });
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    for (const status of [200, 404, 500, 503])
      assert.equal((await send(front.address.port, { path: `/${status}` })).status, status);
    const metrics = front.metrics();
    assert.equal(metrics.requests, 4);
    assert.equal(metrics.errors, 2);
    assert.equal(metrics.error_rate, 0.5);
    assert.equal(front.replicaMetrics().r1!.errors, 2);
  });
});

describe('gateway: breaker, fallback, failover', () => {
  it('an enabled breaker opens on failures, then the fallback answers without touching the replica', async () => {
    const registry = new BreakerRegistry();
    const failing = await upstream('r1', (request, response) => {
      response.statusCode = 500;
      response.end();
    });
    const front = await gateway({ registry });
    front.setUpstreams([to(failing)]);
    assert.equal(front.breakerEnabled, false);
    front.setBreakerEnabled(true);
    assert.equal(front.breakerEnabled, true);
    assert.equal((await send(front.address.port)).status, 500);
    assert.equal((await send(front.address.port)).status, 500);
    assert.equal(registry.get('gateway', 'payment-api').state, 'open');
    const answer = await send(front.address.port);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { degraded: true });
    assert.equal(answer.headers['x-rebound-fallback'], 'true');
    assert.equal(answer.headers['x-mode'], 'degraded');
    assert.equal(failing.seen.length, 2, 'the open breaker kept the request away');
    const metrics = front.metrics();
    assert.equal(metrics.requests, 3);
    assert.equal(metrics.errors, 2, 'the fallback answer is not an error');
  });

  it('without a fallback an open breaker answers 503 CIRCUIT_OPEN with Retry-After', async () => {
    const failing = await upstream('r1', (request, response) => {
      response.statusCode = 502;
      response.end();
    });
    const front = await gateway({ fallback: undefined, breaker: { ...BREAKER, openMs: 4_500 } });
    front.setUpstreams([to(failing)]);
    front.setBreakerEnabled(true);
    await send(front.address.port);
    await send(front.address.port);
    const answer = await send(front.address.port);
    assert.equal(answer.status, 503);
    assert.equal(JSON.parse(answer.body).error.code, 'CIRCUIT_OPEN');
    assert.equal(answer.headers['retry-after'], '5');
    assert.equal(front.metrics().errors, 3);
  });

  it('a disabled breaker lets every request through again', async () => {
    let fail = true;
    const replica = await upstream('r1', (request, response) => {
      response.statusCode = fail ? 500 : 200;
      response.end();
    });
    const front = await gateway({ fallback: undefined });
    front.setUpstreams([to(replica)]);
    front.setBreakerEnabled(true);
    await send(front.address.port);
    await send(front.address.port);
    assert.equal((await send(front.address.port)).status, 503);
    front.setBreakerEnabled(false);
    fail = false;
    assert.equal((await send(front.address.port)).status, 200);
  });

  it('fallback mode answers every request itself, counted in throughput but not as errors or latency', async () => {
    const replica = await upstream('r1');
    const front = await gateway();
    front.setUpstreams([to(replica)]);
    front.setFallbackMode(true);
    assert.equal(front.fallbackMode, true);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    for (let i = 0; i < 5; i++) {
      const answer = await send(front.address.port, { method: 'POST', body: 'ignored', agent });
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.body), { degraded: true });
    }
    assert.equal(replica.seen.length, 0);
    const metrics = front.metrics();
    assert.equal(metrics.requests, 5);
    assert.equal(metrics.errors, 0);
    assert.equal(metrics.latency_p99, 0);
    assert.ok(metrics.throughput > 0);
    front.setFallbackMode(false);
    assert.equal((await send(front.address.port, { agent })).headers['x-rebound-replica'], 'r1');
  });

  it('after openMs a trial request goes through, and its success closes the breaker', async () => {
    const clock = manualClock(5_000_000);
    const registry = new BreakerRegistry({ clock });
    let fail = true;
    const replica = await upstream('r1', (request, response) => {
      response.statusCode = fail ? 503 : 200;
      response.end();
    });
    const front = await gateway({ registry, clock, breaker: { ...BREAKER, openMs: 10_000 } });
    front.setUpstreams([to(replica)]);
    front.setBreakerEnabled(true);
    await send(front.address.port);
    await send(front.address.port);
    const breaker = registry.get('gateway', 'payment-api');
    assert.equal(breaker.state, 'open');
    assert.equal((await send(front.address.port)).headers['x-rebound-fallback'], 'true');
    fail = false;
    clock.advance(10_000);
    const trial = await send(front.address.port);
    assert.equal(trial.status, 200);
    assert.equal(trial.headers['x-rebound-replica'], 'r1');
    assert.equal(breaker.state, 'closed');
    assert.equal(replica.seen.length, 3);
  });

  it('registers its breaker only once enabled, and a registry reset closes it', async () => {
    const registry = new BreakerRegistry();
    const failing = await upstream('r1', (request, response) => {
      response.statusCode = 500;
      response.end();
    });
    const front = await gateway({ registry, fallback: undefined });
    front.setUpstreams([to(failing)]);
    assert.equal(registry.has('gateway', 'payment-api'), false);
    front.setBreakerEnabled(true);
    assert.equal(registry.has('gateway', 'payment-api'), true);
    await send(front.address.port);
    await send(front.address.port);
    assert.equal((await send(front.address.port)).status, 503);
    registry.reset('gateway', 'payment-api');
    assert.equal((await send(front.address.port)).status, 500, 'reset: requests reach the replica again');
    assert.equal(failing.seen.length, 3);
  });

  it('serves a fallback without a body, or with a text body', async () => {
    const replica = await upstream('r1');
    const empty = await gateway({
      fallback: { status: 503, headers: { 'retry-after': '30' }, body: undefined },
    });
    empty.setUpstreams([to(replica)]);
    empty.setFallbackMode(true);
    const answer = await send(empty.address.port);
    assert.equal(answer.status, 503);
    assert.equal(answer.headers['retry-after'], '30');
    assert.equal(answer.headers['content-length'], '0');
    assert.equal(empty.metrics().errors, 1, 'a 5xx fallback is a failed answer (SPEC 6: availability)');
    assert.equal(empty.metrics().latency_p99, 0);
    const text = await gateway({
      service: 'other',
      fallback: { status: 200, headers: {}, body: 'come back later' },
    });
    text.setFallbackMode(true);
    const textAnswer = await send(text.address.port);
    assert.equal(textAnswer.body, 'come back later');
    assert.equal(textAnswer.headers['content-type'], 'text/plain; charset=utf-8');
  });

  it('fails over to another service and back', async () => {
    const primary = await upstream('primary-1');
    const backup = await upstream('backup-1');
    const backupGateway = await gateway({ service: 'backup-api' });
    backupGateway.setUpstreams([to(backup)]);
    const front = await gateway();
    front.setUpstreams([to(primary)]);
    front.setFailover({ service: 'backup-api', ...backupGateway.address });
    assert.equal(front.failover, 'backup-api');
    const answer = await send(front.address.port, { path: '/pay' });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-rebound-replica'], 'backup-1', 'named by the backup gateway');
    assert.equal(backup.seen[0]!.url, '/pay');
    assert.equal(primary.seen.length, 0);
    assert.equal(front.metrics().requests, 1);
    assert.throws(
      () => front.setFailover({ service: 'self', host: '127.0.0.1', port: front.address.port }),
      /is this gateway itself/,
    );
    front.setFailover(undefined);
    assert.equal(front.failover, null);
    assert.equal((await send(front.address.port)).headers['x-rebound-replica'], 'primary-1');
  });
});

describe('gateway: metrics and lifecycle', () => {
  it('measures per replica and for the whole service', async () => {
    const a = await upstream('a');
    const b = await upstream('b', (request, response) => setTimeout(() => response.end('slow'), 30));
    const front = await gateway();
    front.setUpstreams([to(a), to(b)]);
    for (let i = 0; i < 10; i++) await send(front.address.port);
    const replicas = front.replicaMetrics();
    assert.equal(replicas.a!.requests, 5);
    assert.equal(replicas.b!.requests, 5);
    assert.ok(replicas.b!.latency_p50 >= 25, `slow replica p50 ${replicas.b!.latency_p50}`);
    assert.ok(replicas.a!.latency_p50 < replicas.b!.latency_p50);
    const service = front.metrics();
    assert.equal(service.requests, 10);
    assert.equal(service.errors, 0);
    assert.ok(service.latency_p99 >= 25);
    assert.ok(service.throughput > 0);
  });

  it('close() stops accepting, lets the request in flight finish, then resolves', async () => {
    const held: ServerResponse[] = [];
    const replica = await upstream('r1', (request, response) => held.push(response));
    const front = await startGateway({
      service: 'payment-api',
      host: '127.0.0.1',
      port: 0,
      balance: 'least-loaded',
      timeoutMs: 5_000,
      breaker: BREAKER,
      fallback: undefined,
    });
    front.setUpstreams([to(replica)]);
    const pending = send(front.address.port);
    await until(() => held.length === 1, 'the request in flight');
    let closed = false;
    const closing = front.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(closed, false, 'waits for the request in flight');
    await assert.rejects(send(front.address.port), /ECONNREFUSED/);
    held[0]!.end('done');
    const answer = await pending;
    assert.equal(answer.body, 'done');
    assert.equal(answer.headers.connection, 'close');
    await closing;
    assert.equal(closed, true);
  });

  it('with reusePort, two gateways share one port (several processes or threads)', async () => {
    const replica = await upstream('r1');
    const first = await gateway({ reusePort: true });
    const second = await gateway({ reusePort: true, port: first.address.port });
    first.setUpstreams([to(replica)]);
    second.setUpstreams([to(replica)]);
    assert.equal(second.address.port, first.address.port);
    for (let i = 0; i < 20; i++) assert.equal((await send(first.address.port)).status, 200);
    assert.equal(first.metrics().requests + second.metrics().requests, 20);
  });

  it('refuses to start on an address in use, with a clear error', async () => {
    const first = await gateway();
    await assert.rejects(gateway({ port: first.address.port }), (error: unknown) => {
      assert.ok(isGatewayListenError(error));
      assert.match((error as Error).message, /payment-api cannot listen on 127\.0\.0\.1:\d+/);
      return true;
    });
  });

  it('validates its options once, listing every problem', async () => {
    await assert.rejects(
      gateway({ port: -1, timeoutMs: 0, balance: 'random' as never }),
      /gateway\.port[\s\S]*gateway\.balance[\s\S]*gateway\.timeoutMs/,
    );
  });
});
