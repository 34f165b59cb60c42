// pipeline(): policies composed outermost first; what each attempt sees in its context; your own
// Policy objects inside a pipeline; and a caller's AbortSignal.

import assert from 'node:assert/strict';
import { circuitBreaker, type Operation, type Policy, pipeline, retry, timeout } from 'rebound';

// Your own policy only needs `execute`: here, one that logs each call that passes through it.
const log: string[] = [];
const logging: Policy = {
  async execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    log.push('logging: call');
    return fn({ signal: signal ?? new AbortController().signal, attempt: 0 });
  },
};

// retry outermost: every attempt goes through logging, the breaker and a fresh 1 s timeout.
const policy = pipeline(
  retry({ maxRetries: 2, backoff: { kind: 'constant', delayMs: 1 } }),
  logging,
  circuitBreaker({ name: 'inventory' }),
  timeout(1_000),
);
const result = await policy.execute(({ attempt }) => {
  log.push(`fn: attempt ${attempt}`); // ctx.attempt passes through from the retry, even past `logging`
  if (attempt < 2) throw new Error('flaky');
  return 'in stock';
});
assert.equal(result, 'in stock');
assert.deepEqual(log, [
  'logging: call',
  'fn: attempt 0',
  'logging: call',
  'fn: attempt 1',
  'logging: call',
  'fn: attempt 2',
]);
console.log(log.join('\n'));

// Nested pipelines are flattened: `.policies` lists the composed policies, outermost first.
assert.equal(pipeline(policy, timeout(5_000)).policies.length, 5);

// A caller's signal: the call rejects at once with its reason, even while a retry waits (the
// wait is cancelled) or while fn ignores the signal; a running fn sees the abort via ctx.signal.
const patient = pipeline(
  retry({ maxRetries: 5, backoff: { kind: 'constant', delayMs: 60_000 } }),
  timeout(60_000),
);
const cancel = (controller: AbortController) =>
  setTimeout(() => controller.abort(new Error('user cancelled')), 10);

let controller = new AbortController();
let started = Date.now();
const waiting = patient.execute(() => {
  throw new Error('flaky'); // fails at once: the retry now waits 60 s
}, controller.signal);
cancel(controller);
await assert.rejects(waiting, /user cancelled/);
assert.ok(Date.now() - started < 1_000);
console.log(`cancelled during a 60 s retry wait after ${Date.now() - started} ms`);

controller = new AbortController();
started = Date.now();
let seenByFn: AbortSignal | undefined;
const running = pipeline(retry(), circuitBreaker()).execute(({ signal }) => {
  seenByFn = signal;
  return new Promise<never>(() => {}); // never settles and ignores its signal
}, controller.signal);
cancel(controller);
await assert.rejects(running, /user cancelled/);
assert.ok(Date.now() - started < 1_000);
assert.equal(seenByFn?.aborted, true);
assert.match(String(seenByFn?.reason), /user cancelled/);
console.log(`cancelled a running call that ignores its signal after ${Date.now() - started} ms`);

// An already aborted signal rejects before fn runs.
let ran = false;
await assert.rejects(
  patient.execute(() => (ran = true), AbortSignal.abort(new Error('too late'))),
  /too late/,
);
assert.equal(ran, false);
