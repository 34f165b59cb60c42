// fallback(): answers with a substitute when the call fails: a value, or a function of the error;
// `on` picks the errors it answers. Outermost in a pipeline, it answers when everything else gave up.

import assert from 'node:assert/strict';
import { fallback, isBrokenCircuitError, isTimeoutError, pipeline, retry, timeout } from 'rebound';

const unavailable = () => {
  throw new Error('recommendations service unavailable');
};

// A value.
const emptyList = fallback<string[]>([]);
const replaced: unknown[] = [];
emptyList.onFallback(({ error }) => replaced.push(error));
assert.deepEqual(await emptyList.execute(unavailable), []);
assert.equal(replaced.length, 1);

// A function of the error (it may be async, e.g. read a cache).
const cached = fallback(async (error) => `cached answer (live one failed: ${(error as Error).message})`);
console.log(await cached.execute(unavailable));

// `on`: only the errors it accepts are answered; others are rethrown unchanged.
const onlyWhenDown = fallback('cached', {
  on: (error) => isTimeoutError(error) || isBrokenCircuitError(error),
});
await assert.rejects(
  onlyWhenDown.execute(() => {
    throw new TypeError('a bug, not an outage');
  }),
  TypeError,
);

// A call the caller cancelled is not answered: it rejects with the signal's reason.
const controller = new AbortController();
const cancelled = emptyList.execute(() => new Promise<string[]>(() => {}), controller.signal);
controller.abort(new Error('user cancelled'));
await assert.rejects(cancelled, /user cancelled/);

// Outermost: the substitute answers once the retries (each attempt with a 20 ms timeout) are spent.
const resilient = pipeline(
  fallback('default greeting'),
  retry({ maxRetries: 2, backoff: { kind: 'constant', delayMs: 1 } }),
  timeout(20),
);
let attempts = 0;
const greeting = await resilient.execute(
  ({ signal }) =>
    new Promise<string>((_, reject) => {
      attempts++;
      signal.addEventListener('abort', () => reject(signal.reason));
    }),
);
assert.equal(greeting, 'default greeting');
assert.equal(attempts, 3);
console.log(`after ${attempts} timed-out attempts: '${greeting}'`);
