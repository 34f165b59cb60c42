// The demo's steady traffic: a few requests per second through the payment service's gateway, so
// that its metrics (latency, error rate, throughput) mean something. rebound supervises it like
// any service; it answers /health on PORT. Plain JavaScript: it runs on any Node.

import { createServer, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { URL } from 'node:url';

const target = new URL(process.env.TARGET ?? 'http://127.0.0.1:9100/');
const perSecond = Number(process.env.RATE ?? 20);
const counts = { ok: 0, failed: 0 };

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

setInterval(once, 1000 / perSecond);

createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ status: 'ok', target: target.href, ...counts }));
}).listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
