// GET /api/stream in-process: a snapshot at once and then one per interval on a manual clock, a
// heartbeat between, nothing more once stopped; and on a real socket, the token rule and the
// stream ended when the server closes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler } from '../../test/support/apiHandler.ts';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { manualClock } from '../policies/index.ts';
import { startApiServer } from './server.ts';
import { streamRoutes } from './streamRoutes.ts';

function events(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event:'))
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n');
      return {
        event: eventLine!.slice('event: '.length),
        data: JSON.parse(dataLine!.slice('data: '.length)),
      };
    });
}

describe('GET /api/stream', () => {
  it('sends a snapshot at once, one per interval after, and stops when told', async () => {
    const controlPlane = fakeControlPlane();
    const clock = manualClock(Date.parse('2025-01-02T00:00:00.000Z'));
    const [route] = streamRoutes(controlPlane, { clock, intervalMs: 1_000 });
    const response = await route!.handle({
      params: {},
      query: new URLSearchParams(),
      body: undefined,
      request: { method: 'GET', url: '/api/stream', headers: {} },
    });
    assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
    let written = '';
    const stop = response.stream!((chunk) => (written += chunk));
    await clock.tickAsync(0);
    const first = events(written);
    assert.equal(first.length, 1);
    assert.equal(first[0]!.event, 'snapshot');
    const data = first[0]!.data as {
      services: { name: string }[];
      breakers: { aggregate: unknown };
      healingStats: { attempts: number };
      breakerTransitions: number;
      at: string;
    };
    assert.deepEqual(
      data.services.map((service) => service.name),
      controlPlane.services().map((service) => service.name),
    );
    assert.ok(data.breakers.aggregate);
    assert.equal(typeof data.healingStats.attempts, 'number');
    assert.equal(data.at, '2025-01-02T00:00:00.000Z');
    assert.equal(data.breakerTransitions, 0);
    assert.match(written, /\n: heartbeat\n\n/);

    // A breaker changing state counts in the next snapshots: the history has something new.
    controlPlane.breakers.reset('webhook', 'pager');
    await clock.tickAsync(2_000);
    assert.equal(events(written).length, 3);
    const third = events(written)[2]!.data as { at: string; breakerTransitions: number };
    assert.equal(third.at, '2025-01-02T00:00:02.000Z');
    assert.equal(third.breakerTransitions, 1);

    stop();
    assert.equal(clock.pendingTimers, 0);
    await clock.tickAsync(5_000);
    assert.equal(events(written).length, 3, 'nothing is sent once stopped');
  });

  it('reads the healing statistics at most every 10 s, shared by every stream', async () => {
    // They come from the whole healing log in the store: not once a second per open dashboard.
    const controlPlane = fakeControlPlane();
    let reads = 0;
    const healingStats = controlPlane.healingStats.bind(controlPlane);
    controlPlane.healingStats = () => {
      reads++;
      return healingStats();
    };
    const clock = manualClock(0);
    const [route] = streamRoutes(controlPlane, { clock, intervalMs: 1_000 });
    const request = {
      params: {},
      query: new URLSearchParams(),
      body: undefined,
      request: { method: 'GET', url: '/api/stream', headers: {} },
    };
    let written = '';
    const stops = [
      (await route!.handle(request)).stream!((chunk) => (written += chunk)),
      (await route!.handle(request)).stream!((chunk) => (written += chunk)),
    ];
    await clock.tickAsync(25_000);
    for (const stop of stops) stop();
    const snapshots = events(written).filter((event) => event.event === 'snapshot');
    assert.equal(snapshots.length, 2 * 26, 'a snapshot per second on each stream');
    assert.equal(reads, 3, 'read at 0 s, 10 s and 20 s');
  });

  it('needs the token off loopback, not on loopback (as every read)', async () => {
    const { get } = apiHandler({ token: 'secret', loopbackOnly: false });
    const refused = await get('/api/stream');
    assert.equal(refused.status, 401);
    assert.equal(refused.stream, undefined);
    const allowed = await get('/api/stream', { token: 'secret' });
    assert.equal(allowed.status, 200);
    assert.equal(typeof allowed.stream, 'function');
  });

  it('streams over a real socket, and closing the server ends the stream at once', async () => {
    const server = await startApiServer({
      controlPlane: fakeControlPlane(),
      host: '127.0.0.1',
      port: 0,
      token: undefined,
    });
    const response = await fetch(`${server.url}/api/stream`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: snapshot')) text += (await reader.read()).value ?? '';
    const started = performance.now();
    await server.close();
    assert.ok(performance.now() - started < 2_000, 'close does not wait for the grace period');
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });
});
