// The API over a real loopback socket: addresses, the token, bodies cut off at the limit, closing.

import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { after, describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { type ApiServer, startApiServer } from './server.ts';

const servers: ApiServer[] = [];
after(() => Promise.all(servers.map((server) => server.close())));

async function start(token?: string) {
  const controlPlane = fakeControlPlane();
  const server = await startApiServer({ controlPlane, host: '127.0.0.1', port: 0, token });
  servers.push(server);
  return { controlPlane, server };
}

interface RawAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** Bytes of request body the client managed to write before the answer came. */
  written: number;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
}

/**
 * A POST whose body is `declaredLength` bytes announced up front (never sent), or, without it,
 * a chunked body written for as long as the server takes it.
 */
function rawPost(url: string, path: string, declaredLength?: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (declaredLength !== undefined) headers['content-length'] = String(declaredLength);
    const request = httpRequest(`${url}${path}`, { method: 'POST', headers, agent: false });
    let written = 0;
    let answered = false;
    const closed = new Promise<void>((done) => request.on('close', done));
    request.on('error', (error) => {
      // Writing into a connection the server cut is expected once the answer is in.
      if (!answered) reject(error);
    });
    request.on('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: response.headers,
          written,
          closed,
        }),
      );
      response.on('error', () => {});
    });
    if (declaredLength !== undefined) {
      request.flushHeaders();
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!answered && !request.destroyed) {
        written += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('startApiServer', () => {
  it('listens on the given host, port 0 picking a free one, and serves the API', async () => {
    const { server } = await start();
    assert.equal(server.address.host, '127.0.0.1');
    assert.ok(server.address.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}`);
    const response = await fetch(`${server.url}/api/health`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    assert.deepEqual(await response.json(), { status: 'ok', version: '0.1.0-test' });
  });

  it('serves /metrics as Prometheus text', async () => {
    const { server } = await start();
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(await response.text(), /^rebound_service_up\{service="payment-api"\} 1$/m);
  });

  it('needs the bearer token for a mutating call', async () => {
    const { server, controlPlane } = await start('t0ken');
    const refused = await fetch(`${server.url}/api/services/payment-api/restart`, { method: 'POST' });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    assert.deepEqual(controlPlane.calls, []);
    const allowed = await fetch(`${server.url}/api/services/payment-api/restart`, {
      method: 'POST',
      headers: { authorization: 'Bearer t0ken' },
    });
    assert.equal(allowed.status, 200);
    assert.deepEqual(controlPlane.calls, ['restart payment-api']);
  });

  it('takes a JSON body sent over the socket', async () => {
    const { server, controlPlane } = await start();
    const response = await fetch(`${server.url}/api/services/payment-api/scale`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replicas: 4 }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(controlPlane.calls, ['scale 4 payment-api']);
  });

  it('refuses a declared length over 1 MiB at once, before any of the body is sent', async () => {
    const { server, controlPlane } = await start();
    const answer = await rawPost(server.url, '/api/events', 2 * 1024 * 1024);
    assert.equal(answer.status, 413);
    assert.equal(JSON.parse(answer.body).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(answer.headers.connection, 'close');
    await answer.closed;
    assert.deepEqual(controlPlane.calls, []);
  });

  it('stops reading an endless body past 1 MiB, answers 413 and closes the connection', async () => {
    const { server, controlPlane } = await start();
    const answer = await rawPost(server.url, '/api/events');
    assert.equal(answer.status, 413);
    assert.equal(JSON.parse(answer.body).error.code, 'PAYLOAD_TOO_LARGE');
    assert.ok(answer.written > 1024 * 1024, `the client wrote ${answer.written} bytes`);
    // The client would write forever: only the server cutting the connection ends this.
    await answer.closed;
    assert.deepEqual(controlPlane.calls, []);
  });

  it('keeps the connection after refusing a short body it did not read', async () => {
    const { server } = await start('t0ken');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (const path of ['/api/events', '/api/events', '/api/health']) {
        const body =
          path === '/api/health'
            ? ''
            : JSON.stringify({ service: 'payment-api', metrics: { latency_p99: 1 } });
        const status = await new Promise<number>((resolve, reject) => {
          const request = httpRequest(
            `${server.url}${path}`,
            {
              method: body === '' ? 'GET' : 'POST',
              agent,
              headers:
                body === ''
                  ? {}
                  : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            },
            (response) => {
              sockets.add(request.socket);
              response.resume();
              response.on('end', () => resolve(response.statusCode!));
            },
          );
          request.on('error', reject);
          request.end(body);
        });
        assert.equal(status, path === '/api/health' ? 200 : 401);
      }
      assert.equal(sockets.size, 1, 'one connection served all three');
    } finally {
      agent.destroy();
    }
  });

  it('refuses a port already in use', async () => {
    const { server } = await start();
    await assert.rejects(
      startApiServer({
        controlPlane: fakeControlPlane(),
        host: '127.0.0.1',
        port: server.address.port,
        token: undefined,
      }),
      { code: 'EADDRINUSE' },
    );
  });

  it('close() ends idle keep-alive connections and stops listening', async () => {
    const { server } = await start();
    // fetch keeps its connection alive after this answer: close must not wait for it to time out.
    assert.equal((await fetch(`${server.url}/api/health`)).status, 200);
    const started = performance.now();
    await server.close();
    assert.ok(performance.now() - started < 2000, 'closed without waiting for the keep-alive timeout');
    await assert.rejects(fetch(`${server.url}/api/health`));
    await server.close();
  });
});
