// degrade(): calls every component at once and serves what it can. A component whose live call
// fails is served by its strategy; the level says how much was served live (by weight), and
// maxLevel turns "too degraded" into DegradationExceededError.

import assert from 'node:assert/strict';
import { isTimeoutError } from 'rebound';
import { DegradationExceededError, degrade } from 'rebound/durable';

/** A component that answers `value`, and one that fails with `message` (typed as if it answered a T). */
const up =
  <T>(value: T) =>
  async (): Promise<T> =>
    value;
const down =
  <T = unknown>(message: string) =>
  async (): Promise<T> => {
    throw new Error(message);
  };

// --- all live: 'full'. One of four left out (the default strategy, 'partial'): 3/4 live, 'slight' ---
const all = await degrade({
  components: { metrics: up(12), logs: up(['oom']), alerts: up([]), traces: up('t-1') },
});
assert.equal(all.level, 'full');
assert.deepEqual(all.degraded, []);

const oneDown = await degrade({
  components: { metrics: up(12), logs: up(['oom']), alerts: up([]), traces: down('tracing 503') },
});
assert.equal(oneDown.level, 'slight');
assert.deepEqual(oneDown.degraded, ['traces']);
assert.equal(oneDown.components.traces.ok, false);
assert.equal(oneDown.components.traces.source, 'none');
assert.match(String(oneDown.components.traces.error), /tracing 503/);
console.log(`1 of 4 down: ${oneDown.level}, degraded ${oneDown.degraded.join(', ')}`);

// --- a strategy per component: a static fallback and an alternate source; substitutes are served
// (ok: true) but do not count as live ---
const substituted = await degrade({
  components: { metrics: down<number>('prometheus down'), logs: down<string[]>('loki down'), alerts: up([]) },
  strategy: { metrics: 'alternate', logs: 'static' }, // alerts: 'partial', the default
  alternates: { metrics: up(11) }, // e.g. the replica in the other region
  fallbacks: { logs: [] },
});
assert.deepEqual(
  Object.entries(substituted.components).map(([name, { ok, value, source }]) => [name, ok, value, source]),
  [
    ['metrics', true, 11, 'alternate'],
    ['logs', true, [], 'static'],
    ['alerts', true, [], 'live'],
  ],
);
assert.equal(substituted.level, 'minimal'); // 1/3 live, but everything was served
console.log(`metrics from the alternate, logs from the fallback: ${substituted.level}`);

// --- weights: the level is the share of the total weight served live ---
// full: all of it; slight: >= 75 %; moderate: >= 50 %; minimal: less, but something served; failed: nothing
const weighted = await degrade({
  components: { metrics: up(12), logs: down('loki down'), traces: down('tracing 503') },
  weights: { metrics: 3, logs: 1, traces: 0 }, // traces: shown, but does not count
});
assert.equal(weighted.level, 'slight'); // 3 / (3 + 1 + 0) = 75 %
assert.deepEqual(weighted.degraded, ['logs', 'traces']);
console.log(`weights 3/1/0 with logs and traces down: 75 % live, ${weighted.level}`);

const nothing = await degrade({ components: { metrics: down('down'), logs: down('down') } });
assert.equal(nothing.level, 'failed'); // the default maxLevel, 'failed', accepts even this

// --- maxLevel: anything worse rejects, naming every component not served live ---
await assert.rejects(
  degrade({
    components: { metrics: up(12), logs: down('loki down'), alerts: down('alertmanager down') },
    maxLevel: 'moderate',
  }),
  (error) => {
    assert.ok(error instanceof DegradationExceededError && error.code === 'DEGRADATION_EXCEEDED');
    assert.equal(error.level, 'minimal');
    assert.equal(error.maxLevel, 'moderate');
    assert.deepEqual(error.failed, ['logs', 'alerts']);
    return true;
  },
);
console.log("1 of 3 live with maxLevel 'moderate': DegradationExceededError");

// --- 'fail-fast': the component's own error at once; the other calls' signals abort ---
let aborted = false;
await assert.rejects(
  degrade({
    components: {
      auth: down('auth service down'),
      profile: ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          }),
        ),
    },
    strategy: { auth: 'fail-fast' },
  }),
  /auth service down/,
);
assert.equal(aborted, true);
console.log("'fail-fast': rejected with the component's own error, the other call aborted");

// --- timeoutMs bounds each live call; a timed-out call is a failure like any other ---
const slow = await degrade({
  components: { metrics: up(12), logs: () => new Promise(() => {}) },
  strategy: { logs: 'static' },
  fallbacks: { logs: ['(logs unavailable)'] },
  timeoutMs: 50,
});
assert.equal(slow.components.logs.source, 'static');
assert.ok(isTimeoutError(slow.components.logs.error));
console.log(`a hanging component after 50 ms: ${slow.components.logs.source}, level ${slow.level}`);
