// The demo's payment service: a small HTTP service that can be made slow, failing, leaking or hung
// on demand, so that `npm start` can show rebound healing it. Plain JavaScript: it runs on any Node.
//
//   GET  /               a "payment" answer (JSON)
//   GET  /health         200 { status: 'ok' } (503 while made unhealthy)
//   GET  /metrics        Prometheus text: cpu_util, memory_util, demo_requests_total
//   POST /admin/slow?ms=800       every answer takes that long (0 to undo)
//   POST /admin/errors?rate=0.5   that share of answers are 500s (0 to undo)
//   POST /admin/leak?mb=50        holds that many more MiB (memory_util rises)
//   POST /admin/unhealthy         /health answers 503
//   POST /admin/hang              blocks the event loop for good (a hang: only a probe sees it)
//   POST /admin/crash             exits with status 1
//   POST /admin/reset             undoes slow, errors, leak and unhealthy
//
// The admin endpoints act on the replica that answers; through the gateway, that is one of them.
// SLOW_MS in the environment makes a release slow from its start (a bad rollout, for the demo).
// CONCURRENCY=N makes a replica serve at most N requests at once and queue the rest, as a real
// service limited by its CPU or connection pool does: under too much load its latency grows, and
// its gateway's inflight per replica with it (what the autoscaled demo service scales on).

import { Buffer } from 'node:buffer';
import console from 'node:console';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setImmediate, setInterval, setTimeout } from 'node:timers';
import { URL } from 'node:url';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const memoryLimitMb = Number(process.env.MEMORY_LIMIT_MB ?? 256);

const state = { slowMs: Number(process.env.SLOW_MS ?? 0), errorRate: 0, leak: [], unhealthy: false };
const concurrency = Number(process.env.CONCURRENCY ?? Infinity);
let serving = 0;
const queued = [];
let requests = 0;
let lastCpu = process.cpuUsage();
let lastCpuAt = performance.now();
let cpuUtil = 0;

// CPU use over the last second, as a fraction of one core.
setInterval(() => {
  const now = performance.now();
  const used = process.cpuUsage(lastCpu);
  cpuUtil = Math.min(1, (used.user + used.system) / 1000 / (now - lastCpuAt));
  lastCpu = process.cpuUsage();
  lastCpuAt = now;
}, 1000).unref();

function json(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function metrics() {
  const memoryUtil = process.memoryUsage().rss / (memoryLimitMb * 1024 * 1024);
  return [
    '# HELP cpu_util CPU used over the last second, fraction of one core.',
    '# TYPE cpu_util gauge',
    `cpu_util ${cpuUtil.toFixed(4)}`,
    '# HELP memory_util Resident memory as a fraction of MEMORY_LIMIT_MB.',
    '# TYPE memory_util gauge',
    `memory_util ${memoryUtil.toFixed(4)}`,
    '# HELP demo_requests_total Requests answered.',
    '# TYPE demo_requests_total counter',
    `demo_requests_total ${requests}`,
    '',
  ].join('\n');
}

const admin = {
  '/admin/slow': (query) => (state.slowMs = Number(query.get('ms') ?? 800)),
  '/admin/errors': (query) => (state.errorRate = Number(query.get('rate') ?? 0.5)),
  '/admin/leak': (query) => {
    const mb = Number(query.get('mb') ?? 50);
    for (let i = 0; i < mb; i++) state.leak.push(Buffer.alloc(1024 * 1024, 1));
    return state.leak.length;
  },
  '/admin/unhealthy': () => (state.unhealthy = true),
  '/admin/hang': () => {
    setImmediate(() => {
      for (;;);
    });
    return 'hanging';
  },
  '/admin/crash': () => {
    setImmediate(() => process.exit(1));
    return 'crashing';
  },
  '/admin/reset': () => {
    Object.assign(state, { slowMs: 0, errorRate: 0, leak: [], unhealthy: false });
    return 'reset';
  },
};

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://demo');
  if (url.pathname === '/health') {
    return json(response, state.unhealthy ? 503 : 200, { status: state.unhealthy ? 'unhealthy' : 'ok' });
  }
  if (url.pathname === '/metrics') {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    return response.end(metrics());
  }
  const action = admin[url.pathname];
  if (action) {
    if (request.method !== 'POST') return json(response, 405, { error: 'use POST' });
    return json(response, 200, { pid: process.pid, [url.pathname.slice(7)]: action(url.searchParams) });
  }
  requests++;
  const answer = () => {
    if (Math.random() < state.errorRate) json(response, 500, { error: 'payment processor failed' });
    else json(response, 200, { paid: true, pid: process.pid, at: new Date().toISOString() });
    serving--;
    if (queued.length > 0) serve(queued.shift());
  };
  const serve = (work) => {
    serving++;
    if (state.slowMs > 0) setTimeout(work, state.slowMs);
    else work();
  };
  if (serving < concurrency) serve(answer);
  else queued.push(answer);
});

server.keepAliveTimeout = 65_000;
server.listen(port, host, () => console.log(`payment-api listening on ${host}:${port} (pid ${process.pid})`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
