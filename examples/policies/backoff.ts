// Backoff schedules and jitter: backoffDelays() prints the waits a retry policy would make (for
// errors without retryAfterMs). A fixed `random` makes the jittered schedules reproducible.

import assert from 'node:assert/strict';
import { backoffDelays, DEFAULT_BACKOFF } from 'rebound';

const half = () => 0.5; // what Math.random would return, fixed

const schedules = {
  constant: backoffDelays({ kind: 'constant', delayMs: 1_000 }, 4),
  // baseMs + stepMs × n, capped at maxMs (stepMs defaults to baseMs, maxMs to Infinity)
  linear: backoffDelays({ kind: 'linear', baseMs: 100, stepMs: 50, maxMs: 300 }, 6),
  // none: min(baseMs × factorⁿ, maxMs)
  none: backoffDelays({ kind: 'exponential', baseMs: 100, maxMs: 1_000, jitter: 'none' }, 6),
  // full: uniform in [0, that]
  full: backoffDelays({ kind: 'exponential', baseMs: 100, maxMs: 1_000, jitter: 'full' }, 6, half),
  // equal: that / 2 + uniform in [0, that / 2]
  equal: backoffDelays({ kind: 'exponential', baseMs: 100, maxMs: 1_000, jitter: 'equal' }, 6, half),
  // decorrelated: min(maxMs, uniform in [baseMs, max(baseMs, previous × 3)]), previous = baseMs at first
  decorrelated: backoffDelays(
    { kind: 'exponential', baseMs: 100, maxMs: 1_000, jitter: 'decorrelated' },
    6,
    half,
  ),
  // a function of the attempt about to be made (1 = first retry), the error, and its previous value
  custom: backoffDelays((attempt) => attempt * 250, 4),
};

assert.deepEqual(schedules, {
  constant: [1_000, 1_000, 1_000, 1_000],
  linear: [100, 150, 200, 250, 300, 300],
  none: [100, 200, 400, 800, 1_000, 1_000],
  full: [50, 100, 200, 400, 500, 500],
  equal: [75, 150, 300, 600, 750, 750],
  decorrelated: [200, 350, 575, 912.5, 1_000, 1_000],
  custom: [250, 500, 750, 1_000],
});
for (const [name, delays] of Object.entries(schedules))
  console.log(`${name.padEnd(12)} ${delays.join(', ')}`);

// retry()'s default: exponential from 100 ms, factor 2, capped at 30 s, full jitter.
assert.deepEqual(DEFAULT_BACKOFF, {
  kind: 'exponential',
  baseMs: 100,
  factor: 2,
  maxMs: 30_000,
  jitter: 'full',
});
const drawn = backoffDelays(DEFAULT_BACKOFF, 10);
drawn.forEach((ms, n) => assert.ok(ms >= 0 && ms <= Math.min(100 * 2 ** n, 30_000)));
console.log(`default      ${drawn.map(Math.round).join(', ')}`);
