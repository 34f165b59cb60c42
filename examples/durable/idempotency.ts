// idempotency(): an action runs once per key, however many times (and from however many processes)
// it is called; later calls get its stored result. Concurrent duplicates wait for the first, or are
// rejected on request; one explicit key with other params is a conflict; a failure frees the key.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { idempotency, IdempotencyConflictError, IdempotencyInProgressError } from 'rebound/durable';
import { openStore } from 'rebound/store';

const directory = mkdtempSync(join(tmpdir(), 'rebound-idempotency-'));
const url = `sqlite:${join(directory, 'state.db')}`;
const store = await openStore(url);
const idem = idempotency(store);
assert.deepEqual(
  [idem.ttlMs, idem.leaseMs, idem.onInProgress, idem.pollMs], // the defaults
  [24 * 60 * 60_000, 60_000, 'wait', 100],
);

let resizes = 0;
async function resize(pod: string, memory: string) {
  resizes++;
  await new Promise((resolve) => setTimeout(resolve, 20)); // the real call takes a while
  return { pod, memory, at: resizes };
}

// --- the key: sha256 of the name and the canonical JSON of the params (key order does not matter) ---
const key = idem.keyOf('set_pod_memory', { pod: 'payment', memory: '2Gi' });
assert.equal(key, idem.keyOf('set_pod_memory', { memory: '2Gi', pod: 'payment' }));
assert.match(key, /^[0-9a-f]{64}$/);

// --- five concurrent duplicates: the action runs once, every caller gets its result ---
const request = { name: 'set_pod_memory', params: { pod: 'payment', memory: '2Gi' } };
const answers = await Promise.all(
  Array.from({ length: 5 }, () => idem.run(request, () => resize('payment', '2Gi'))),
);
assert.equal(resizes, 1);
assert.ok(answers.every((answer) => answer === answers[0])); // in this process: the very object
console.log(`5 concurrent calls, 1 resize: ${JSON.stringify(answers[0])}`);

// --- later, from another process (another store handle, another owner): the stored result ---
const otherStore = await openStore(url);
const otherWorker = idempotency(otherStore);
const later = await otherWorker.run(request, () => resize('payment', '2Gi'));
assert.deepEqual(later, answers[0]); // read back from JSON
assert.equal(resizes, 1);
console.log('a later call from another worker: the stored result, no second resize');

// --- a duplicate arriving while the first still runs: waits for it, or is rejected on request ---
const scaleUp = { name: 'scale', params: { deployment: 'api', replicas: 6 } };
let scalings = 0;
let started!: () => void;
const running = new Promise<void>((resolve) => (started = resolve));
const first = idem.run(scaleUp, async () => {
  scalings++;
  started();
  await new Promise((resolve) => setTimeout(resolve, 50));
  return 'scaled to 6';
});
await running; // the first caller holds the key now
const impatient = otherWorker.run(scaleUp, () => 'never runs', { onInProgress: 'reject' });
await assert.rejects(impatient, (error) => {
  assert.ok(error instanceof IdempotencyInProgressError && error.code === 'IDEMPOTENCY_IN_PROGRESS');
  assert.equal(error.owner, idem.owner); // who holds it: '<host>:<pid>:<uuid>' by default
  return true;
});
const patient = otherWorker.run(scaleUp, () => 'never runs'); // polls the store every pollMs
assert.deepEqual(await Promise.all([first, patient]), ['scaled to 6', 'scaled to 6']);
assert.equal(scalings, 1);
console.log("a duplicate during the run: 'reject' gets IdempotencyInProgressError, 'wait' gets the result");

// --- one explicit key (a client's Idempotency-Key header) with other params: a conflict ---
const charge = (amount: number) => ({ name: 'charge', params: { amount }, key: 'order-1001' });
assert.equal(await idem.run(charge(40), () => 'charged 40'), 'charged 40');
assert.equal(await idem.run(charge(40), () => 'charged twice'), 'charged 40');
await assert.rejects(
  idem.run(charge(45), () => 'charged 45'),
  (error) => {
    assert.ok(error instanceof IdempotencyConflictError && error.code === 'IDEMPOTENCY_CONFLICT');
    assert.equal(error.key, 'order-1001');
    return true;
  },
);
console.log("key 'order-1001' with other params: IdempotencyConflictError");

// --- a failed action releases its key: the next call runs it again ---
const restart = { name: 'restart', params: { service: 'checkout' } };
await assert.rejects(
  idem.run(restart, () => Promise.reject(new Error('kubelet unreachable'))),
  /kubelet unreachable/,
);
assert.equal(await idem.run(restart, () => 'restarted'), 'restarted');
console.log('a failure is not stored: the retry ran the action again');

await Promise.all([store.close(), otherStore.close()]);
rmSync(directory, { recursive: true, force: true });
