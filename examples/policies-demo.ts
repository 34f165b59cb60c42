// The demo `npm start` runs until the control plane exists: a real HTTP dependency on loopback
// that turns slow and then fails, called through a pipeline of rebound's policies.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bulkhead,
  circuitBreaker,
  fallback,
  isBrokenCircuitError,
  isTimeoutError,
  pipeline,
  retry,
  timeout,
} from 'rebound';

type Phase = 'healthy' | 'slow' | 'failing';
let phase: Phase = 'healthy';

const dependency = createServer((request, response) => {
  if (phase === 'failing') {
    response.writeHead(503, { 'retry-after': '0' }).end('unavailable');
  } else if (phase === 'slow') {
    setTimeout(() => response.end('late'), 400);
  } else {
    response.end('ok');
  }
  request.resume();
});
await new Promise<void>((resolve) => dependency.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(dependency.address() as AddressInfo).port}/`;

const breaker = circuitBreaker({
  name: 'dependency',
  trip: { kind: 'consecutive', failures: 4 },
  openMs: 1_500,
});
const retrying = retry({ maxRetries: 2, backoff: { kind: 'exponential', baseMs: 20, maxMs: 200 } });
const resilient = pipeline(
  fallback((error: unknown) => `fallback (${describe(error)})`),
  retrying,
  breaker,
  timeout(150),
  bulkhead({ maxConcurrent: 8, maxQueue: 16 }),
);

breaker.onStateChange(({ from, to, reason }) => log(`breaker ${from} -> ${to} (${reason})`));
retrying.onRetry(({ attempt, delayMs, error }) =>
  log(`retry #${attempt} in ${Math.round(delayMs)} ms after ${describe(error)}`),
);

async function call(): Promise<string> {
  return resilient.execute(async ({ signal }) => {
    const response = await fetch(url, { signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.text();
  });
}

function describe(error: unknown): string {
  if (isBrokenCircuitError(error)) return 'circuit open';
  if (isTimeoutError(error)) return `timeout after ${error.timeoutMs} ms`;
  return error instanceof Error ? error.message : String(error);
}

const started = Date.now();
function log(message: string): void {
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${message}`);
}

const schedule: Array<[Phase, number]> = [
  ['healthy', 600],
  ['slow', 800],
  ['failing', 1_200],
  ['healthy', 2_400],
];
console.log(
  `rebound policies demo: calling ${url} through fallback > retry > breaker > timeout > bulkhead\n`,
);
for (const [next, durationMs] of schedule) {
  phase = next;
  log(`--- dependency is now ${next} ---`);
  const until = Date.now() + durationMs;
  const answers = new Map<string, number>();
  while (Date.now() < until) {
    const answer = await call();
    answers.set(answer, (answers.get(answer) ?? 0) + 1);
    await sleep(50);
  }
  for (const [answer, count] of answers) log(`${count} x ${answer}`);
}

const stats = breaker.stats();
console.log(
  `\nbreaker: ${stats.state}, ${stats.calls} calls, ${stats.failures} failures, ${stats.rejected} rejected, ` +
    `tripped ${stats.tripCount} time(s), health ${stats.healthPercent.toFixed(0)}%`,
);
dependency.close();
