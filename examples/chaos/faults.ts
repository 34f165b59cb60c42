// faults(): delays and fails a share of calls in-process, to see what the policies around them do.
// The random source is injectable: with a seeded one, a test or a game day replays the same faults.

import assert from 'node:assert/strict';
import { fallback, pipeline, retry, timeout } from 'rebound';
import { faults, isInjectedFaultError } from 'rebound/chaos';

/** A seeded random source (mulberry32): the same seed gives the same faults on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// 10% of calls fail with InjectedFaultError (code INJECTED_FAULT) and never reach the work.
const flaky = faults({ error: { rate: 0.1 }, random: seeded(42) });
let failures = 0;
for (let call = 0; call < 1_000; call++) {
  await flaky
    .execute(() => 'ok')
    .catch((error: unknown) => {
      assert.ok(isInjectedFaultError(error));
      failures++;
    });
}
assert.ok(failures > 70 && failures < 130);
assert.deepEqual(flaky.stats(), { calls: 1_000, latencyInjected: 0, errorsInjected: failures });
console.log(`error rate 0.1: ${failures} of 1000 calls failed`);

// The hypothesis "a retry absorbs a 30% error rate" holds: every call succeeds.
const chaos = faults({ error: { rate: 0.3 }, random: seeded(7) });
const resilient = pipeline(retry({ maxRetries: 5, backoff: { kind: 'constant', delayMs: 0 } }), chaos);
let succeeded = 0;
for (let call = 0; call < 100; call++) if ((await resilient.execute(() => 'ok')) === 'ok') succeeded++;
assert.equal(succeeded, 100);
console.log(
  `with retry: ${succeeded} of 100 calls succeeded through ${chaos.stats().errorsInjected} injected errors`,
);

// Half the calls get 200 ms ± 20 ms: a 50 ms timeout cuts them short (the delay is abandoned, the
// work never called) and the fallback answers them.
const slow = faults({ latency: { ms: 200, jitterMs: 20, rate: 0.5 }, random: seeded(3) });
const delays: number[] = [];
slow.onInjected(({ kind, ms }) => {
  if (kind === 'latency') delays.push(ms!);
});
const guarded = pipeline(fallback('from cache'), timeout(50), slow);
const started = Date.now();
const answers = await Promise.all(Array.from({ length: 20 }, () => guarded.execute(() => 'fresh')));
const cached = answers.filter((answer) => answer === 'from cache').length;
assert.equal(cached, slow.stats().latencyInjected);
assert.ok(cached > 0 && cached < 20);
assert.ok(delays.every((ms) => ms >= 180 && ms <= 220));
console.log(
  `latency 200±20 ms at rate 0.5: ${cached} of 20 answers from the fallback, in ${Date.now() - started} ms`,
);

// A game day switches the faults on and off without rebuilding the pipeline.
let gameDay = false;
const switchable = faults({ error: { rate: 1 }, enabled: () => gameDay });
assert.equal(await switchable.execute(() => 'ok'), 'ok');
gameDay = true;
await assert.rejects(
  switchable.execute(() => 'ok'),
  (error) => isInjectedFaultError(error),
);
gameDay = false;
assert.equal(await switchable.execute(() => 'ok'), 'ok');
console.log('enabled: () => gameDay switches injection on and off at run time');
