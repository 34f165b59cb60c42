import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  Agent,
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  request as httpRequest,
  type Server as HttpServer,
} from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { InvalidOptionsError, type ManualClock, manualClock } from '../policies/index.ts';
import { parseConfig } from './config.ts';
import type { BreakerConfig } from './configTypes.ts';
import { isConflictError, isInvalidRequestError, isNotFoundError } from './errors.ts';
import { type Gateway, type GatewayOptions, startGateway } from './gateway.ts';
import { checkGatewayToxic } from './gatewayToxics.ts';
import { seeded } from '../../test/support/seeded.ts';
import { until } from '../../test/support/waiting.ts';

// Real sockets on loopback: the upstream is a node:http server, clients node:http requests. Toxics
// delay on the gateway's manual clock, so delays are asserted exactly, not measured.

const BREAKER: BreakerConfig = {
  trip: { kind: 'consecutive', failures: 1_000 },
  openMs: 60_000,
  openBackoff: undefined,
  halfOpen: { maxCalls: 1, successes: 1 },
  slowCall: undefined,
};

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Replica {
  port: number;
  hits: number;
  server: HttpServer;
}

async function replica(): Promise<Replica> {
  const result: Replica = { port: 0, hits: 0, server: undefined as never };
  const server = createHttpServer((request, response) => {
    result.hits++;
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ ok: true, url: request.url }));
    });
  });
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

async function gateway(target: Replica, options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const started = await startGateway({
    service: 'payment-api',
    host: '127.0.0.1',
    port: 0,
    balance: 'round-robin',
    timeoutMs: 10_000,
    breaker: BREAKER,
    fallback: undefined,
    ...options,
  });
  cleanups.push(() => started.close());
  started.setUpstreams([{ id: 'r1', host: '127.0.0.1', port: target.port }]);
  return started;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(port: number, agent: Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/pay', agent }, (response) => {
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
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function keepAlive(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  cleanups.push(() => agent.destroy());
  return agent;
}

/** A real-time pause for I/O to happen: long enough for an answer that is not held to arrive. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * Sends a request on `clock`'s gateway and checks that a toxic holds it exactly `ms` of clock time:
 * not answered at ms - 1, answered at ms.
 */
async function heldFor(clock: ManualClock, ms: number, port: number, agent: Agent | false = false) {
  const timers = clock.pendingTimers;
  let answered = false;
  const pending = send(port, agent).finally(() => (answered = true));
  await until(() => clock.pendingTimers > timers || answered, 'a toxic to hold the exchange');
  clock.advance(ms - 1);
  await settle();
  assert.equal(answered, false, `answered before ${ms} ms of clock time`);
  clock.advance(1);
  await until(() => answered, `the answer at ${ms} ms of clock time`);
  return pending;
}

describe('gateway toxics: network', () => {
  it('a downstream latency toxic adds its delay to answers and to the metrics', async () => {
    const clock = manualClock(0);
    const target = await replica();
    const front = await gateway(target, { clock });
    for (let index = 0; index < 5; index++) assert.equal((await send(front.address.port)).status, 200);
    const view = front.addToxic({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 200, jitter: 0 },
    });
    assert.deepEqual(view, {
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 200, jitter: 0 },
    });
    for (let index = 0; index < 5; index++) {
      assert.equal((await heldFor(clock, 200, front.address.port)).status, 200);
    }
    // Five quick answers and five delayed ones: the upper half of the latencies carries the delay.
    const metrics = front.metrics();
    assert.equal(metrics.requests, 10);
    assert.equal(metrics.errors, 0);
    // Percentiles come from log-linear buckets read at their geometric middle: within ~1.1%.
    assert.ok(metrics.latency_p99 >= 200 * 0.985, `p99 ${metrics.latency_p99} includes the injected 200 ms`);
  });

  it('an upstream latency toxic delays what clients send, on kept-alive connections too', async () => {
    const clock = manualClock(0);
    const target = await replica();
    const front = await gateway(target, { clock });
    const agent = keepAlive();
    assert.equal((await send(front.address.port, agent)).status, 200); // no toxic yet: the clock stands still
    front.addToxic({
      name: 'slow-up',
      type: 'latency',
      stream: 'upstream',
      toxicity: 1,
      attributes: { latency: 150, jitter: 0 },
    });
    const second = await heldFor(clock, 150, front.address.port, agent); // the same, live connection
    assert.equal(second.status, 200);
    assert.equal(target.hits, 2);
  });

  it('a toxic at toxicity 0 never applies (the draw is per connection)', async () => {
    const clock = manualClock(0);
    const target = await replica();
    const front = await gateway(target, { clock });
    front.addToxic({
      name: 'never',
      type: 'latency',
      stream: 'downstream',
      toxicity: 0,
      attributes: { latency: 2_000, jitter: 0 },
    });
    const answer = await send(front.address.port); // answered with the clock standing still
    assert.equal(answer.status, 200);
    assert.equal(clock.now(), 0);
  });

  it('reset_peer: the client sees its connection reset', async () => {
    const target = await replica();
    const front = await gateway(target);
    front.addToxic({
      name: 'reset',
      type: 'reset_peer',
      stream: 'downstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    await assert.rejects(send(front.address.port), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'ECONNRESET');
      return true;
    });
    front.removeToxic('reset');
    assert.equal((await send(front.address.port)).status, 200);
  });

  it('an upstream reset_peer swallows the request: it counts as a failed request', async () => {
    const target = await replica();
    const front = await gateway(target);
    front.addToxic({
      name: 'reset-up',
      type: 'reset_peer',
      stream: 'upstream',
      toxicity: 1,
      attributes: { timeout: 20 },
    });
    await assert.rejects(send(front.address.port), /ECONNRESET|socket hang up/);
    assert.equal(target.hits, 0, 'the request never reached the replica');
    const metrics = front.metrics();
    assert.equal(metrics.requests, 1);
    assert.equal(metrics.errors, 1);
  });

  it('limit_data closes the connection after the byte count', async () => {
    const target = await replica();
    const front = await gateway(target);
    front.addToxic({
      name: 'cut',
      type: 'limit_data',
      stream: 'downstream',
      toxicity: 1,
      attributes: { bytes: 20 },
    });
    await assert.rejects(send(front.address.port), /ECONNRESET|socket hang up|Parse Error|aborted/);
  });

  it('removing a latency toxic releases the bytes it holds at once', async () => {
    const clock = manualClock(0);
    const target = await replica();
    const front = await gateway(target, { clock });
    front.addToxic({
      name: 'stuck',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 5_000, jitter: 0 },
    });
    const timers = clock.pendingTimers;
    const pending = send(front.address.port);
    await until(() => clock.pendingTimers > timers, 'the toxic to hold the answer');
    front.removeToxic('stuck');
    const answer = await pending; // with the clock standing still: the removed toxic held nothing back
    assert.equal(answer.status, 200);
    assert.equal(clock.now(), 0);
    assert.deepEqual(front.toxics(), []);
  });
});

describe('gateway toxics: HTTP', () => {
  it('http-error at toxicity 1 answers the status for every request without touching replicas', async () => {
    const target = await replica();
    const front = await gateway(target);
    const agent = keepAlive();
    front.addToxic({ type: 'http-error', attributes: { status: 503 }, toxicity: 1 });
    for (let index = 0; index < 10; index++) {
      const answer = await send(front.address.port, agent);
      assert.equal(answer.status, 503);
      assert.equal(answer.headers['x-rebound-fault'], 'injected');
      assert.equal(JSON.parse(answer.body).error.code, 'INJECTED_FAULT');
    }
    assert.equal(target.hits, 0);
    const metrics = front.metrics();
    assert.equal(metrics.requests, 10);
    assert.equal(metrics.errors, 10);
    assert.equal(metrics.error_rate, 1);
  });

  it('http-error at toxicity 0.5 fails about half of 400 requests (seeded)', async () => {
    const target = await replica();
    const front = await gateway(target, { random: seeded(42), window: { windowMs: 60_000, slots: 6 } });
    const agent = keepAlive();
    front.addToxic({ name: 'half', type: 'http-error', attributes: { status: 500 }, toxicity: 0.5 });
    let failed = 0;
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => send(front.address.port, agent)));
      for (const answer of answers) {
        if (answer.status === 500) failed++;
        else assert.equal(answer.status, 200);
      }
    }
    assert.ok(failed >= 160 && failed <= 240, `${failed} of 400 failed, expected about 200`);
    assert.equal(target.hits, 400 - failed);
    const metrics = front.metrics();
    assert.equal(metrics.requests, 400);
    assert.equal(metrics.errors, failed);
  });

  it('fail-first fails the first N requests after it is added, then passes', async () => {
    const target = await replica();
    const front = await gateway(target);
    const agent = keepAlive();
    assert.equal((await send(front.address.port, agent)).status, 200);
    front.addToxic({ name: 'cold', type: 'fail-first', attributes: { requests: 3, status: 502 } });
    const statuses: number[] = [];
    for (let index = 0; index < 6; index++) statuses.push((await send(front.address.port, agent)).status);
    assert.deepEqual(statuses, [502, 502, 502, 200, 200, 200]);
    assert.equal(target.hits, 4);
    assert.deepEqual(front.toxics(), [
      {
        name: 'cold',
        type: 'fail-first',
        stream: 'downstream',
        toxicity: 1,
        attributes: { requests: 3, status: 502 },
      },
    ]);
    front.addToxic({ name: 'default-status', type: 'fail-first', attributes: { requests: 1 } });
    assert.equal((await send(front.address.port, agent)).status, 503);
  });

  it('removing and resetting toxics restores normal answers at once', async () => {
    const clock = manualClock(0);
    const target = await replica();
    const front = await gateway(target, { clock });
    const agent = keepAlive();
    front.addToxic({ name: 'down', type: 'http-error', attributes: { status: 503 } });
    assert.equal((await send(front.address.port, agent)).status, 503);
    front.removeToxic('down');
    assert.equal((await send(front.address.port, agent)).status, 200);
    front.addToxic({ name: 'down', type: 'http-error', attributes: { status: 504 } });
    front.addToxic({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 300, jitter: 0 },
    });
    assert.equal(front.toxics().length, 2);
    front.resetToxics();
    assert.deepEqual(front.toxics(), []);
    const answer = await send(front.address.port, agent); // with the clock standing still
    assert.equal(answer.status, 200);
    assert.equal(clock.now(), 0);
  });
});

describe('gateway toxics: management and config', () => {
  it('lists upstream toxics, then downstream, then HTTP ones; names are unique', async () => {
    const target = await replica();
    const front = await gateway(target);
    front.addToxic({ type: 'http-error', attributes: { status: 500 } });
    front.addToxic({
      name: 'b',
      type: 'bandwidth',
      stream: 'downstream',
      toxicity: 1,
      attributes: { rate: 100 },
    });
    front.addToxic({ name: 'a', type: 'slicer', stream: 'upstream', toxicity: 0.5, attributes: {} });
    assert.deepEqual(
      front.toxics().map((toxic) => toxic.name),
      ['a', 'b', 'http-error_downstream'],
    );
    assert.deepEqual(front.toxics()[0]!.attributes, { average_size: 0, size_variation: 0, delay: 0 });
    assert.throws(
      () => front.addToxic({ name: 'a', type: 'http-error', attributes: { status: 503 } }),
      isConflictError,
    );
    assert.throws(() => front.removeToxic('missing'), isNotFoundError);
    assert.throws(
      () => front.addToxic({ type: 'http-error', attributes: { status: 200 } }),
      (error: unknown) => isInvalidRequestError(error) && /attributes\.status/.test(error.message),
    );
  });

  it('checks toxics with every problem and its path', () => {
    const { problems } = checkGatewayToxic(
      { type: 'latency', stream: 'sideways', toxicity: 2, attributes: { latency: 1.5 } },
      'gateway.toxics[0]',
    );
    assert.deepEqual(problems, [
      'gateway.toxics[0].stream must be "upstream" or "downstream", got "sideways"',
      'gateway.toxics[0].toxicity must be a number from 0 to 1, got 2',
      'gateway.toxics[0].attributes.latency must be an integer, got 1.5',
    ]);
    assert.match(
      checkGatewayToxic({ type: 'jam' }).problems[0]!,
      /toxic\.type must be one of latency, .*fail-first/,
    );
    assert.match(
      checkGatewayToxic({ type: 'fail-first', attributes: {} }).problems[0]!,
      /attributes\.requests must be an integer >= 1/,
    );
  });

  it('starts with the config file toxics in place', async () => {
    const config = parseConfig(
      [
        'services:',
        '  api:',
        '    command: node server.js',
        '    gateway:',
        '      port: 9000',
        '      toxics:',
        '        - { name: boom, type: http-error, attributes: { status: 500 } }',
        '        - { type: latency, attributes: { latency: 100 } }',
      ].join('\n'),
      { env: {} },
    );
    const toxics = config.services.api!.gateway!.toxics;
    const clock = manualClock(0);
    const target = await replica();
    const front = await gateway(target, { toxics, clock });
    assert.deepEqual(
      front.toxics().map(({ name, type }) => [name, type]),
      [
        ['latency_downstream', 'latency'],
        ['boom', 'http-error'],
      ],
    );
    const answer = await heldFor(clock, 100, front.address.port); // the injected error after the latency toxic
    assert.equal(answer.status, 500);
    assert.equal(target.hits, 0);
  });

  it('refuses bad config toxics before listening', async () => {
    const target = await replica();
    await assert.rejects(
      gateway(target, {
        toxics: [
          { type: 'latency', stream: 'downstream', toxicity: 1, attributes: {} },
          { type: 'latency', stream: 'downstream', toxicity: 1, attributes: {} },
          { type: 'flood', stream: 'downstream', toxicity: 1, attributes: {} },
        ],
      }),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        /gateway\.toxics\[1\]\.name latency_downstream is used twice/.test(error.message) &&
        /gateway\.toxics\[2\]\.type must be one of/.test(error.message),
    );
  });

  it('with no toxic, answers and metrics are as without the feature', async () => {
    const target = await replica();
    const front = await gateway(target);
    assert.deepEqual(front.toxics(), []);
    const answer = await send(front.address.port);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-rebound-fault'], undefined);
    assert.equal(target.hits, 1);
    assert.equal(front.metrics().errors, 0);
  });
});
