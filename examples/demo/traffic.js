// The demo's steady traffic: a few requests per second through the payment service's gateway, so
// that its metrics (latency, error rate, throughput) mean something. rebound supervises it like
// any service; it answers /health on PORT. Plain JavaScript: it runs on any Node.
//
//   TARGET         the URL to call
//   RATE           requests per second (default 20)
//   PEAK_RATE      requests per second during a peak (default: RATE, no peaks)
//   PEAK_EVERY_MS  a peak starts this often (default 300000), the first one after PEAK_EVERY_MS / 2
//   PEAK_FOR_MS    and lasts this long (default 60000)

import { createServer, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { URL } from 'node:url';

const target = new URL(process.env.TARGET ?? 'http://127.0.0.1:9100/');
const baseRate = Number(process.env.RATE ?? 20);
const peakRate = Number(process.env.PEAK_RATE ?? baseRate);
const peakEveryMs = Number(process.env.PEAK_EVERY_MS ?? 300_000);
const peakForMs = Number(process.env.PEAK_FOR_MS ?? 60_000);
const startedAt = performance.now();
const counts = { ok: 0, failed: 0 };

/** Requests per second now: the peak rate for PEAK_FOR_MS in every PEAK_EVERY_MS. */
function rate() {
  const into = (performance.now() - startedAt + peakEveryMs / 2) % peakEveryMs;
  return into < peakForMs ? peakRate : baseRate;
}

function once() {
  const started = performance.now();
  const call = request(target, { agent: false, timeout: 5000 }, (response) => {
    response.resume();
    response.on('end', () => {
      if (response.statusCode >= 500) counts.failed++;
      else counts.ok++;
      if (performance.now() - started > 5000) counts.failed++;
    });
  });
  call.on('timeout', () => call.destroy(new Error('timeout')));
  call.on('error', () => counts.failed++);
  call.end();
}

// Requests are spread evenly: each tick sends what the rate owes since the last one.
let owed = 0;
setInterval(() => {
  owed += rate() / 100;
  for (; owed >= 1; owed--) once();
}, 10);

createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ status: 'ok', target: target.href, rate: rate(), ...counts }));
}).listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
