// Policies benchmark: a successful no-op call, bare and through rebound, cockatiel 4 and opossum 10.
// Goals (issue 2): pipeline(retry, breaker, timeout, bulkhead) >= 10x faster than cockatiel's wrap,
// breaker no slower than cockatiel's, no timer per call, idle breaker < 1 KB.

import {
  ConsecutiveBreaker,
  bulkhead as cBulkhead,
  circuitBreaker as cCircuitBreaker,
  retry as cRetry,
  timeout as cTimeout,
  ExponentialBackoff,
  handleAll,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import CircuitBreaker from 'opossum';
import { bulkhead, circuitBreaker, pipeline, retry, timeout } from 'rebound';
import { countTimers, format, heapBytesPerObject, machine, measure, table } from './harness.ts';

const noop = async () => 1;

const rBreaker = circuitBreaker({ trip: { kind: 'consecutive', failures: 5 }, openMs: 10_000 });
const cBreaker = cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
const oBreaker = new CircuitBreaker(noop, { timeout: false, resetTimeout: 10_000 });

const rTimeout = timeout(1_000);
const cTimeoutAggressive = cTimeout(1_000, TimeoutStrategy.Aggressive);
const cTimeoutCooperative = cTimeout(1_000, TimeoutStrategy.Cooperative);

const rPipeline = pipeline(
  retry({ maxRetries: 3 }),
  circuitBreaker({ trip: { kind: 'consecutive', failures: 5 }, openMs: 10_000 }),
  timeout(1_000),
  bulkhead({ maxConcurrent: 10, maxQueue: 100 }),
);
const cWrap = wrap(
  cRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
  cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
  cTimeout(1_000, TimeoutStrategy.Aggressive),
  cBulkhead(10, 100),
);

const calls = Number(process.env.BENCH_CALLS ?? 100_000);
console.log(
  `# policies benchmark\n\n${machine()}; ${calls} sequential calls per round, median of 7 rounds\n`,
);

const results = await measure(
  [
    { name: 'bare async call', run: noop },
    { name: 'rebound circuitBreaker', run: () => rBreaker.execute(noop) },
    { name: 'cockatiel circuitBreaker', run: () => cBreaker.execute(noop) },
    { name: 'opossum CircuitBreaker (timeout off)', run: () => oBreaker.fire() },
    { name: 'rebound timeout', run: () => rTimeout.execute(noop) },
    { name: 'cockatiel timeout (aggressive)', run: () => cTimeoutAggressive.execute(noop) },
    { name: 'cockatiel timeout (cooperative)', run: () => cTimeoutCooperative.execute(noop) },
    { name: 'rebound pipeline(retry, breaker, timeout, bulkhead)', run: () => rPipeline.execute(noop) },
    { name: 'cockatiel wrap(retry, breaker, timeout, bulkhead)', run: () => cWrap.execute(noop) },
  ],
  { calls },
);
const ns = Object.fromEntries(results.map((r) => [r.name, r.nsPerCall]));
const ratio = (peer: string, ours: string) => format.ratio(ns[peer]! / ns[ours]!);

console.log(
  table(
    ['case', 'ns/call'],
    results.map((r) => [r.name, format.ns(r.nsPerCall)]),
  ),
);
console.log(`\n## ratios (peer time / rebound time; above 1x means rebound is faster)\n`);
console.log(
  table(
    ['comparison', 'ratio', 'goal'],
    [
      ['breaker: cockatiel / rebound', ratio('cockatiel circuitBreaker', 'rebound circuitBreaker'), '>= 1x'],
      [
        'breaker: opossum / rebound',
        ratio('opossum CircuitBreaker (timeout off)', 'rebound circuitBreaker'),
        '',
      ],
      [
        'timeout: cockatiel aggressive / rebound',
        ratio('cockatiel timeout (aggressive)', 'rebound timeout'),
        '',
      ],
      [
        'timeout: cockatiel cooperative / rebound',
        ratio('cockatiel timeout (cooperative)', 'rebound timeout'),
        '',
      ],
      [
        'pipeline: cockatiel wrap / rebound',
        ratio(
          'cockatiel wrap(retry, breaker, timeout, bulkhead)',
          'rebound pipeline(retry, breaker, timeout, bulkhead)',
        ),
        '>= 10x',
      ],
    ],
  ),
);

const timerCalls = 10_000;
const timersRebound = await countTimers(async () => {
  for (let i = 0; i < timerCalls; i++) await rPipeline.execute(noop);
});
const timersCockatiel = await countTimers(async () => {
  for (let i = 0; i < timerCalls; i++) await cWrap.execute(noop);
});
const breakers = 100_000;
const heapRebound = heapBytesPerObject(() => circuitBreaker(), breakers);
const heapCockatiel = heapBytesPerObject(
  () => cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
  breakers,
);
const heapOpossum = heapBytesPerObject(() => new CircuitBreaker(noop, { timeout: false }), 10_000);
console.log(`\n## timers and memory\n`);
console.log(
  table(
    ['measure', 'rebound', 'cockatiel', 'opossum', 'goal'],
    [
      [
        `timers created over ${timerCalls} successful pipeline calls`,
        timersRebound,
        timersCockatiel,
        '',
        '0 per call',
      ],
      [
        `heap bytes per idle breaker (${breakers} breakers; opossum 10,000)`,
        heapRebound.toFixed(0),
        heapCockatiel.toFixed(0),
        heapOpossum.toFixed(0),
        '< 1024',
      ],
    ],
  ),
);
oBreaker.shutdown();
