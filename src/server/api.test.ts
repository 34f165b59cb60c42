// Every route of the API in-process (no socket): happy paths, bad input that changes nothing, and
// the error shape, against an in-memory ControlPlane that records what it is asked to do.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError } from '../healing/index.ts';
import { apiHandler, assertError } from '../../test/support/apiHandler.ts';
import { brokenConfigError, FAKE_NOW_ISO } from '../../test/support/fakeControlPlane.ts';
import type { Route } from './apiTypes.ts';
import { MAX_BODY_BYTES } from './body.ts';
import { jsonResponse } from './responses.ts';

/** A route mounted beside the API's own, as the dashboard's are. */
const extraRoute: Route = {
  method: 'GET',
  path: '/extra/:thing',
  handle: ({ params }) => jsonResponse(200, params),
};

const setup = (options: { token?: string; loopbackOnly?: boolean } = {}) =>
  apiHandler({ ...options, routes: [extraRoute] });

describe('GET /api/health', () => {
  it('answers ok with the version, as JSON, without any CORS header', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/health');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { status: 'ok', version: '0.1.0-test' });
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.deepEqual(
      Object.keys(response.headers).filter((name) => name.toLowerCase().startsWith('access-control-')),
      [],
    );
  });

  it('answers HEAD like GET', async () => {
    const { call } = setup();
    assert.equal((await call('HEAD', '/api/health')).status, 200);
  });
});

describe('routing', () => {
  it('answers 404 NOT_FOUND for a path no route has', async () => {
    const { call } = setup();
    assertError(await call('GET', '/api/nothing'), 404, 'NOT_FOUND');
    assertError(await call('GET', '/'), 404, 'NOT_FOUND');
    assertError(await call('GET', '/api/services/payment-api/restart/again'), 404, 'NOT_FOUND');
  });

  it('answers 405 METHOD_NOT_ALLOWED with an Allow header for a known path', async () => {
    const { call } = setup();
    const deleted = await call('DELETE', '/api/services');
    assertError(deleted, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(deleted.headers.allow, 'GET, HEAD');
    const read = await call('GET', '/api/services/payment-api/restart');
    assertError(read, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(read.headers.allow, 'POST');
    // A CORS preflight is just a method the API does not have: no Access-Control-* answer.
    const preflight = await call('OPTIONS', '/api/reload', { headers: { origin: 'https://evil.example' } });
    assertError(preflight, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  it('refuses a request target that is not a path, and broken percent-encoding', async () => {
    const { call } = setup();
    assertError(await call('GET', 'http://example.com/api/health'), 400, 'BAD_REQUEST');
    assertError(await call('GET', '/api/services/%E0%A4%A'), 400, 'BAD_REQUEST');
  });

  it('decodes path parameters', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/services/payment%2Dapi');
    assert.equal(response.status, 200);
    assert.equal(response.json.name, 'payment-api');
  });

  it('serves routes mounted beside the API', async () => {
    const { call } = setup();
    const response = await call('GET', '/extra/a%20b');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { thing: 'a b' });
  });

  it('refuses query parameters a route does not take', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/services?verbose=1');
    assertError(response, 400, 'BAD_REQUEST');
    assert.deepEqual(
      response.json.error.details.map((problem: { path: string }) => problem.path),
      ['verbose'],
    );
  });
});

describe('services', () => {
  it('GET /api/services lists every service view', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/services');
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.json.services.map((service: { name: string; state: string }) => [service.name, service.state]),
      [
        ['payment-api', 'healthy'],
        ['database', 'critical'],
      ],
    );
    assert.equal(response.json.services[0].replicas[0].pid, 42001);
    assert.equal(response.json.services[1].replicas[0].pid, undefined, 'only running replicas carry a pid');
  });

  it('GET /api/services/:name answers the view, 404 UNKNOWN_SERVICE for an unknown name', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/services/database');
    assert.equal(response.status, 200);
    assert.equal(response.json.name, 'database');
    assert.equal(response.json.state, 'critical');
    const unknown = await call('GET', '/api/services/nope');
    assertError(unknown, 404, 'UNKNOWN_SERVICE');
    assert.match(unknown.json.error.message, /nope/);
  });

  for (const verb of ['restart', 'stop', 'start'] as const) {
    it(`POST /api/services/:name/${verb} runs it and answers the attempt`, async () => {
      const { call, controlPlane } = setup();
      const response = await call('POST', `/api/services/payment-api/${verb}`);
      assert.equal(response.status, 200);
      assert.equal(response.json.attempt.service, 'payment-api');
      assert.equal(response.json.attempt.source, 'operator');
      assert.equal(response.json.attempt.status, 'succeeded');
      assert.deepEqual(controlPlane.calls, [`${verb} payment-api`]);
    });

    it(`POST /api/services/:name/${verb} on an unknown service is a 404 and does nothing`, async () => {
      const { call, controlPlane } = setup();
      assertError(await call('POST', `/api/services/nope/${verb}`), 404, 'UNKNOWN_SERVICE');
      assert.deepEqual(controlPlane.calls, []);
    });
  }

  it('POST restart accepts an empty JSON object as its body', async () => {
    const { call, controlPlane } = setup();
    const response = await call('POST', '/api/services/payment-api/restart', { json: {} });
    assert.equal(response.status, 200);
    assert.deepEqual(controlPlane.calls, ['restart payment-api']);
  });

  it('POST restart with a body it does not take, or not JSON, changes nothing', async () => {
    const { call, controlPlane } = setup();
    assertError(
      await call('POST', '/api/services/payment-api/restart', { json: { force: true } }),
      400,
      'BAD_REQUEST',
    );
    assertError(
      await call('POST', '/api/services/payment-api/restart', {
        body: 'now',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assertError(
      await call('POST', '/api/services/payment-api/restart', {
        body: '{"force": tru',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'BAD_REQUEST',
    );
    assert.deepEqual(controlPlane.calls, []);
  });

  it('POST scale with { replicas } scales', async () => {
    const { call, controlPlane } = setup();
    const response = await call('POST', '/api/services/payment-api/scale', { json: { replicas: 3 } });
    assert.equal(response.status, 200);
    assert.equal(response.json.attempt.actions[0].type, 'scale');
    assert.deepEqual(controlPlane.calls, ['scale 3 payment-api']);
  });

  it('POST scale refuses every malformed body with the problem at its path, and changes nothing', async () => {
    const { call, controlPlane } = setup();
    const bodies: unknown[] = [
      { replicas: '3' },
      { replicas: 2.5 },
      { replicas: -1 },
      { replicas: 3, extra: true },
      {},
      [3],
      null,
      3,
    ];
    for (const json of bodies) {
      const response = await call('POST', '/api/services/payment-api/scale', { json });
      assertError(response, 400, 'BAD_REQUEST');
      assert.ok(Array.isArray(response.json.error.details), JSON.stringify(json));
      assert.ok(response.json.error.details.length > 0);
    }
    const wrongType = await call('POST', '/api/services/payment-api/scale', { json: { replicas: '3' } });
    assert.equal(wrongType.json.error.details[0].path, 'replicas');
    assertError(await call('POST', '/api/services/payment-api/scale'), 400, 'BAD_REQUEST');
    assert.deepEqual(controlPlane.calls, []);
  });

  it('POST scale beyond the service limits is a 400 INVALID_REQUEST with details', async () => {
    const { call, controlPlane } = setup();
    const response = await call('POST', '/api/services/payment-api/scale', { json: { replicas: 9 } });
    assertError(response, 400, 'INVALID_REQUEST');
    assert.equal(response.json.error.details[0].path, 'replicas');
    assert.deepEqual(controlPlane.calls, []);
  });

  it('POST scale on an unknown service is a 404 whatever the body', async () => {
    const { call, controlPlane } = setup();
    assertError(
      await call('POST', '/api/services/nope/scale', { json: { replicas: 3 } }),
      404,
      'UNKNOWN_SERVICE',
    );
    assertError(
      await call('POST', '/api/services/nope/scale', { json: { replicas: 'x' } }),
      404,
      'UNKNOWN_SERVICE',
    );
    assert.deepEqual(controlPlane.calls, []);
  });

  it('a conflict reported by the control plane is a 409 CONFLICT', async () => {
    const { call, controlPlane } = setup();
    controlPlane.failNext = new ConflictError('database, which payment-api depends on, is down');
    const response = await call('POST', '/api/services/payment-api/restart');
    assertError(response, 409, 'CONFLICT');
    assert.equal(response.json.error.message, 'database, which payment-api depends on, is down');
  });
});

describe('circuit breakers', () => {
  it('GET /api/circuit-breakers answers the registry health report', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/circuit-breakers');
    assert.equal(response.status, 200);
    assert.equal(response.json.aggregate.totalCircuits, 2);
    assert.equal(response.json.aggregate.isolatedCircuits, 1);
    assert.equal(response.json.kinds.gateway['payment-api'].state, 'closed');
    assert.equal(response.json.kinds.webhook.pager.state, 'isolated');
  });

  it('POST /api/circuit-breakers/reset resets every breaker', async () => {
    const { call, controlPlane } = setup();
    const response = await call('POST', '/api/circuit-breakers/reset');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { reset: 2 });
    assert.equal(controlPlane.breakers.get('webhook', 'pager').state, 'closed');
  });

  it('POST /api/circuit-breakers/:kind/:name/reset resets that one; a missing one is a 404', async () => {
    const { call, controlPlane } = setup();
    const response = await call('POST', '/api/circuit-breakers/webhook/pager/reset');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { reset: 1 });
    assert.equal(controlPlane.breakers.get('webhook', 'pager').state, 'closed');
    assertError(await call('POST', '/api/circuit-breakers/webhook/nope/reset'), 404, 'NOT_FOUND');
    assertError(await call('POST', '/api/circuit-breakers/nope/pager/reset'), 404, 'NOT_FOUND');
    assert.equal(controlPlane.breakers.has('webhook', 'nope'), false, 'a reset never creates a breaker');
  });
});

describe('policies and the healing log', () => {
  it('GET /api/policies lists the policies', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/policies');
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.json.policies.map((policy: { name: string; priority: number }) => [
        policy.name,
        policy.priority,
      ]),
      [['Critical Latency Spike', 10]],
    );
  });

  it('GET /api/healing answers the attempts, at most 100 unless asked', async () => {
    const { call, controlPlane } = setup();
    const response = await call('GET', '/api/healing');
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.json.attempts.map((attempt: { id: string }) => attempt.id),
      ['a-2', 'a-1'],
    );
    assert.deepEqual(controlPlane.lastHealingFilter, { limit: 100 });
  });

  it('GET /api/healing?service=&limit= filters', async () => {
    const { call, controlPlane } = setup();
    const response = await call('GET', '/api/healing?service=database&limit=1');
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.json.attempts.map((attempt: { id: string }) => attempt.id),
      ['a-1'],
    );
    assert.deepEqual(controlPlane.lastHealingFilter, { service: 'database', limit: 1 });
  });

  it('GET /api/healing refuses a bad limit, an unknown service, unknown and repeated parameters', async () => {
    const { call, controlPlane } = setup();
    for (const limit of ['0', '1001', 'abc', '1.5', '-1', '']) {
      const response = await call('GET', `/api/healing?limit=${limit}`);
      assertError(response, 400, 'BAD_REQUEST');
      assert.equal(response.json.error.details[0].path, 'limit');
    }
    assertError(await call('GET', '/api/healing?service=nope'), 404, 'UNKNOWN_SERVICE');
    assertError(await call('GET', '/api/healing?status=failed'), 400, 'BAD_REQUEST');
    assertError(await call('GET', '/api/healing?limit=1&limit=2'), 400, 'BAD_REQUEST');
    assert.equal(controlPlane.lastHealingFilter, undefined);
  });

  it('GET /api/healing/stats answers the statistics', async () => {
    const { call } = setup();
    const response = await call('GET', '/api/healing/stats');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, {
      attempts: 3,
      succeeded: 1,
      failed: 1,
      successRate: 0.5,
      meanRecoveryMs: 2300,
      escalations: 1,
    });
  });
});

describe('POST /api/events', () => {
  it('takes a metrics event: 202 { accepted: true }', async () => {
    const { call, controlPlane } = setup();
    const event = { service: 'payment-api', metrics: { latency_p99: 700, cpu_util: 0.5 } };
    const response = await call('POST', '/api/events', { json: event });
    assert.equal(response.status, 202);
    assert.deepEqual(response.json, { accepted: true });
    assert.deepEqual(controlPlane.calls, [`event ${JSON.stringify(event)}`]);
  });

  it('an unknown service is a 404 and nothing is recorded', async () => {
    const { call, controlPlane } = setup();
    const response = await call('POST', '/api/events', {
      json: { service: 'nope', metrics: { latency_p99: 1 } },
    });
    assertError(response, 404, 'UNKNOWN_SERVICE');
    assert.deepEqual(controlPlane.calls, []);
  });

  it('bad input is a 4xx with its problems and nothing is recorded', async () => {
    const { call, controlPlane } = setup();
    const wrongType = await call('POST', '/api/events', {
      json: { service: 'payment-api', metrics: { latency_p99: 'slow' } },
    });
    assertError(wrongType, 400, 'BAD_REQUEST');
    assert.match(wrongType.json.error.details[0].path, /^metrics/);
    assertError(
      await call('POST', '/api/events', { json: { metrics: { latency_p99: 1 } } }),
      400,
      'BAD_REQUEST',
    );
    assertError(await call('POST', '/api/events'), 400, 'BAD_REQUEST');
    assertError(
      await call('POST', '/api/events', { body: '{', headers: { 'content-type': 'application/json' } }),
      400,
      'BAD_REQUEST',
    );
    assertError(
      await call('POST', '/api/events', {
        body: JSON.stringify({ service: 'payment-api', metrics: { latency_p99: 1 } }),
        headers: {},
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assertError(
      await call('POST', '/api/events', {
        body: new Uint8Array([0x7b, 0xff, 0x7d]),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      }),
      400,
      'BAD_REQUEST',
    );
    assertError(
      await call('POST', '/api/events', {
        body: '{}',
        headers: { 'content-type': 'application/json; charset=latin1' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assert.deepEqual(controlPlane.calls, []);
  });

  it('a body over 1 MiB is a 413, and a declared one is refused without reading it', async () => {
    const { call, controlPlane } = setup();
    const padding = 'x'.repeat(MAX_BODY_BYTES);
    const large = await call('POST', '/api/events', {
      json: { service: 'payment-api', metrics: { latency_p99: 1 }, padding },
    });
    assertError(large, 413, 'PAYLOAD_TOO_LARGE');
    let read = false;
    const unread: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        read = true;
        throw new Error('must not be read');
      },
    };
    const declared = await call('POST', '/api/events', {
      body: unread,
      headers: { 'content-type': 'application/json', 'content-length': String(MAX_BODY_BYTES + 1) },
    });
    assertError(declared, 413, 'PAYLOAD_TOO_LARGE');
    assert.equal(read, false);
    assert.deepEqual(controlPlane.calls, []);
  });

  it('a streamed body is read no further than the limit', async () => {
    const { call, controlPlane } = setup();
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let chunksRead = 0;
    async function* endless() {
      for (;;) {
        chunksRead++;
        yield chunk;
      }
    }
    const response = await call('POST', '/api/events', {
      body: endless(),
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    assertError(response, 413, 'PAYLOAD_TOO_LARGE');
    assert.equal(chunksRead, MAX_BODY_BYTES / chunk.length + 1);
    assert.deepEqual(controlPlane.calls, []);
  });

  it('a body whose stream fails is a 400, not a server error', async () => {
    const { call, controlPlane, errors } = setup();
    async function* broken() {
      yield new TextEncoder().encode('{"service":');
      throw new Error('aborted');
    }
    const response = await call('POST', '/api/events', {
      body: broken(),
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    assertError(response, 400, 'BAD_REQUEST');
    assert.deepEqual(errors, []);
    assert.deepEqual(controlPlane.calls, []);
  });

  it('a body of exactly 1 MiB is read', async () => {
    const { call, controlPlane } = setup();
    const text = JSON.stringify({ service: 'payment-api', metrics: { latency_p99: 1 } });
    const body = text + ' '.repeat(MAX_BODY_BYTES - text.length);
    const response = await call('POST', '/api/events', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(response.status, 202);
    assert.equal(controlPlane.calls.length, 1);
  });
});

describe('POST /api/alerts/alertmanager', () => {
  const payload = {
    version: '4',
    groupKey: '{}:{alertname="HighLatency"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'rebound',
    groupLabels: { alertname: 'HighLatency' },
    commonLabels: { alertname: 'HighLatency', service: 'payment-api' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'HighLatency', service: 'payment-api' },
        annotations: { summary: 'p99 above 500 ms' },
        startsAt: '2025-01-01T00:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: 'c0ffee',
      },
    ],
  };

  it('takes a version 4 webhook: 202 { accepted: n }', async () => {
    const { call, controlPlane } = setup();
    const response = await call('POST', '/api/alerts/alertmanager', { json: payload });
    assert.equal(response.status, 202);
    assert.deepEqual(response.json, { accepted: 1 });
    assert.deepEqual(controlPlane.calls, ['alerts firing 1']);
  });

  it('refuses another version or a malformed body, and records nothing', async () => {
    const { call, controlPlane } = setup();
    const old = await call('POST', '/api/alerts/alertmanager', { json: { ...payload, version: '3' } });
    assertError(old, 400, 'BAD_REQUEST');
    assert.ok(old.json.error.details.some((problem: { path: string }) => problem.path === 'version'));
    assertError(
      await call('POST', '/api/alerts/alertmanager', { json: { ...payload, alerts: 'x' } }),
      400,
      'BAD_REQUEST',
    );
    assertError(await call('POST', '/api/alerts/alertmanager'), 400, 'BAD_REQUEST');
    assert.deepEqual(controlPlane.calls, []);
  });
});

describe('incidents', () => {
  it('GET /api/incidents lists incidents without timelines; /api/incidents/:id adds the timeline', async () => {
    const { call } = setup();
    const list = await call('GET', '/api/incidents');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.incidents, [
      {
        id: 'inc-1',
        service: 'database',
        severity: 'critical',
        status: 'escalated',
        title: 'database is critical',
        openedAt: '2025-01-01T00:00:00.000Z',
        resolvedAt: null,
        acknowledgedAt: null,
      },
    ]);
    const one = await call('GET', '/api/incidents/inc-1');
    assert.equal(one.status, 200);
    assert.deepEqual(one.json.timeline[0], {
      at: '2025-01-01T00:00:00.000Z',
      kind: 'signal',
      summary: 'database became critical',
      data: { from: 'healthy', to: 'critical' },
    });
  });

  it('GET /api/incidents?status= filters, and refuses a status that does not exist or another parameter', async () => {
    const { call } = setup();
    const ids = async (status: string) =>
      (await call('GET', `/api/incidents?status=${status}`)).json.incidents.map((i: { id: string }) => i.id);
    assert.deepEqual(await ids('escalated'), ['inc-1']);
    assert.deepEqual(await ids('open'), []);
    const bad = await call('GET', '/api/incidents?status=closed');
    assertError(bad, 400, 'BAD_REQUEST');
    assert.equal(bad.json.error.details[0].path, 'status');
    assertError(await call('GET', '/api/incidents?state=open'), 400, 'BAD_REQUEST');
  });

  it('an unknown incident is a 404 NOT_FOUND on every route, and nothing changes', async () => {
    const { call, controlPlane } = setup();
    assertError(await call('GET', '/api/incidents/inc-404'), 404, 'NOT_FOUND');
    assertError(await call('POST', '/api/incidents/inc-404/ack'), 404, 'NOT_FOUND');
    assertError(await call('POST', '/api/incidents/inc-404/resolve'), 404, 'NOT_FOUND');
    assertError(
      await call('POST', '/api/incidents/inc-404/notes', { json: { text: 'x' } }),
      404,
      'NOT_FOUND',
    );
    assertError(await call('POST', '/api/incidents/inc-404/notes', { json: { nope: 1 } }), 404, 'NOT_FOUND');
    assert.deepEqual(controlPlane.calls, []);
  });

  it('POST ack sets acknowledgedAt once; a second ack changes nothing', async () => {
    const { call } = setup();
    const first = await call('POST', '/api/incidents/inc-1/ack');
    assert.equal(first.status, 200);
    assert.equal(first.json.acknowledgedAt, FAKE_NOW_ISO);
    const again = await call('POST', '/api/incidents/inc-1/ack');
    assert.equal(again.status, 200);
    assert.equal(again.json.timeline.filter((entry: { kind: string }) => entry.kind === 'note').length, 1);
    const [listed] = (await call('GET', '/api/incidents')).json.incidents;
    assert.equal(listed.acknowledgedAt, FAKE_NOW_ISO);
  });

  it('POST resolve resolves it with a decision on the timeline; resolving it again is a 409 CONFLICT', async () => {
    const { call, controlPlane } = setup();
    const resolved = await call('POST', '/api/incidents/inc-1/resolve');
    assert.equal(resolved.status, 200);
    assert.equal(resolved.json.status, 'resolved');
    assert.equal(resolved.json.resolvedAt, FAKE_NOW_ISO);
    assert.deepEqual(resolved.json.timeline.at(-1).data, { from: 'escalated', to: 'resolved' });
    assertError(await call('POST', '/api/incidents/inc-1/resolve'), 409, 'CONFLICT');
    assert.deepEqual(controlPlane.calls, ['resolve inc-1']);
    assert.deepEqual(
      (await call('GET', '/api/incidents?status=resolved')).json.incidents.map((i: { id: string }) => i.id),
      ['inc-1'],
    );
  });

  it('POST notes adds a note; a missing, empty, too long or extra field is a 400 that changes nothing', async () => {
    const { call, controlPlane } = setup();
    for (const json of [
      {},
      { text: '' },
      { text: 'x'.repeat(4001) },
      { text: 'ok', by: 'me' },
      { text: 5 },
    ]) {
      assertError(await call('POST', '/api/incidents/inc-1/notes', { json }), 400, 'BAD_REQUEST');
    }
    assertError(
      await call('POST', '/api/incidents/inc-1/notes', {
        body: 'hi',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assert.deepEqual(controlPlane.calls, []);
    const noted = await call('POST', '/api/incidents/inc-1/notes', { json: { text: 'x'.repeat(4000) } });
    assert.equal(noted.status, 200);
    assert.equal(noted.json.timeline.at(-1).kind, 'note');
    assert.equal(noted.json.timeline.at(-1).summary.length, 4000);
  });

  it('ack, resolve and notes need the token', async () => {
    const { call, controlPlane } = setup({ token: 't0k' });
    assertError(await call('POST', '/api/incidents/inc-1/ack'), 401, 'UNAUTHORIZED');
    assertError(await call('POST', '/api/incidents/inc-1/resolve'), 401, 'UNAUTHORIZED');
    assertError(
      await call('POST', '/api/incidents/inc-1/notes', { json: { text: 'x' } }),
      401,
      'UNAUTHORIZED',
    );
    assert.deepEqual(controlPlane.calls, []);
    assert.equal((await call('POST', '/api/incidents/inc-1/ack', { token: 't0k' })).status, 200);
  });
});

describe('POST /api/reload', () => {
  it('answers what changed', async () => {
    const { call, controlPlane } = setup();
    controlPlane.reloadOutcome = { changed: ['payment-api'] };
    const response = await call('POST', '/api/reload');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { changed: ['payment-api'] });
    assert.deepEqual(controlPlane.calls, ['reload']);
  });

  it('an invalid config is a 400 CONFIG_INVALID listing every problem', async () => {
    const { call, controlPlane } = setup();
    controlPlane.reloadOutcome = brokenConfigError();
    const response = await call('POST', '/api/reload');
    assertError(response, 400, 'CONFIG_INVALID');
    assert.deepEqual(response.json.error.details, [
      { path: 'services.payment-api.replicas.count', line: 4, column: 24, message: 'must be >= 0, got -1' },
    ]);
    assert.deepEqual(controlPlane.calls, []);
  });
});

describe('unexpected errors', () => {
  it('are a 500 INTERNAL whose answer says nothing of the error; onError is told', async () => {
    const { call, controlPlane, errors } = setup();
    const failure = new Error('connection to postgres://admin:hunter2@db failed');
    controlPlane.failNext = failure;
    const response = await call('GET', '/api/services');
    assertError(response, 500, 'INTERNAL');
    assert.equal(response.json.error.message, 'internal error');
    assert.doesNotMatch(response.body, /hunter2|postgres|stack/);
    assert.deepEqual(errors, [failure]);
  });
});

describe('the token (SPEC 4.2a)', () => {
  const token = 's3cret-token';

  it('on loopback, reads need no token but every mutating call does', async () => {
    const { call, controlPlane } = setup({ token });
    assert.equal((await call('GET', '/api/services')).status, 200);
    assert.equal((await call('GET', '/metrics')).status, 200);
    const missing = await call('POST', '/api/services/payment-api/restart');
    assertError(missing, 401, 'UNAUTHORIZED');
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="rebound"');
    assertError(
      await call('POST', '/api/services/payment-api/restart', { token: 'wrong' }),
      401,
      'UNAUTHORIZED',
    );
    assertError(
      await call('POST', '/api/services/payment-api/restart', { token: `${token}x` }),
      401,
      'UNAUTHORIZED',
    );
    assertError(
      await call('POST', '/api/circuit-breakers/reset', { headers: { authorization: `Basic ${token}` } }),
      401,
      'UNAUTHORIZED',
    );
    assertError(await call('POST', '/api/reload'), 401, 'UNAUTHORIZED');
    assert.deepEqual(controlPlane.calls, []);
    assert.equal(controlPlane.breakers.get('webhook', 'pager').state, 'isolated');

    assert.equal((await call('POST', '/api/services/payment-api/restart', { token })).status, 200);
    const lowerCase = await call('POST', '/api/services/payment-api/stop', {
      headers: { authorization: `bearer ${token}` },
    });
    assert.equal(lowerCase.status, 200);
    assert.deepEqual(controlPlane.calls, ['restart payment-api', 'stop payment-api']);
  });

  it('off loopback, reads need the token too, /metrics included', async () => {
    const { call } = setup({ token, loopbackOnly: false });
    assertError(await call('GET', '/api/services'), 401, 'UNAUTHORIZED');
    assertError(await call('GET', '/metrics'), 401, 'UNAUTHORIZED');
    assertError(await call('GET', '/extra/x'), 401, 'UNAUTHORIZED');
    assert.equal((await call('GET', '/api/services', { token })).status, 200);
    assert.equal((await call('GET', '/metrics', { token })).status, 200);
  });

  it('is checked before the body is read: a bad body without the token is a 401', async () => {
    const { call } = setup({ token });
    const response = await call('POST', '/api/events', {
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    assertError(response, 401, 'UNAUTHORIZED');
  });

  it('is never echoed back', async () => {
    const { call } = setup({ token, loopbackOnly: false });
    const responses = [
      await call('GET', '/api/services', { token: 'guess' }),
      await call('POST', '/api/services/payment-api/restart', { token: 'guess' }),
      await call('GET', '/api/health', { token }),
      await call('GET', '/api/nothing', { token }),
    ];
    for (const response of responses) {
      assert.doesNotMatch(response.body, /s3cret|guess/);
      assert.doesNotMatch(JSON.stringify(response.headers), /s3cret|guess/);
    }
  });

  it('without a token set, every call is allowed', async () => {
    const { call } = setup({ loopbackOnly: false });
    assert.equal((await call('POST', '/api/services/payment-api/restart')).status, 200);
  });
});
