// A breaker per agent plus a bulkhead per agent, in a pipeline: when one agent's dependency hangs,
// that agent's calls are capped, time out and then fail fast, while another agent keeps working.
// A manual clock drives the 10 s timeouts, so the file runs in milliseconds.

import assert from 'node:assert/strict';
import {
  BreakerRegistry,
  bulkhead,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isTimeoutError,
  manualClock,
  type Pipeline,
  pipeline,
  timeout,
} from 'rebound';

const clock = manualClock(); // leave `clock` out in production: the system clock is the default

const breakers = new BreakerRegistry({ clock });
breakers.configure('agent', { trip: { kind: 'consecutive', failures: 3 }, openMs: 30_000 });

const policies = new Map<string, Pipeline>();

/** The policy every call of `agent` goes through, created on its first call. */
function policyFor(agent: string): Pipeline {
  let policy = policies.get(agent);
  if (policy === undefined) {
    policy = pipeline(
      bulkhead({ maxConcurrent: 4, maxQueue: 4 }), // this agent's share: 4 running, 4 waiting
      breakers.get('agent', agent), // this agent's breaker: 'agent:<name>'
      timeout(10_000, { clock }), // each call: 10 s
    );
    policies.set(agent, policy);
  }
  return policy;
}

/** A dependency that never answers; it stops when its signal aborts (at the timeout). */
const hangs = ({ signal }: { signal: AbortSignal }) =>
  new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
/** A dependency that answers in 200 ms. */
const answers = () => new Promise<string>((resolve) => clock.setTimeout(() => resolve('done'), 200));

// The researcher floods its hanging dependency with 12 calls while the writer makes 4 normal ones.
const researcher = Array.from({ length: 12 }, () => policyFor('researcher').execute(hangs));
const writer = Array.from({ length: 4 }, () => policyFor('writer').execute(answers));

const outcomes = Promise.all([Promise.allSettled(researcher), Promise.allSettled(writer)]);
await clock.tickAsync(10_000); // 10 s pass
const [researched, written] = await outcomes;

const count = (test: (error: unknown) => boolean) =>
  researched.filter((outcome) => outcome.status === 'rejected' && test(outcome.reason)).length;
// The 4 beyond the queue were refused by the bulkhead at once. The 4 running timed out after 10 s
// and their failures opened the breaker (3 in a row); the 4 queued behind them then started and
// failed fast on the open breaker.
assert.equal(count(isBulkheadRejectedError), 4);
assert.equal(count(isTimeoutError), 4);
assert.equal(count(isBrokenCircuitError), 4);
assert.equal(breakers.get('agent', 'researcher').state, 'open');
console.log('researcher: 4 timed out, 4 failed fast on its open breaker, 4 refused by its bulkhead');

// The writer was not starved: every call succeeded and its breaker stayed closed.
assert.deepEqual(
  written.map((outcome) => outcome.status),
  ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
);
assert.equal(breakers.get('agent', 'writer').state, 'closed');
console.log('writer: 4 of 4 calls succeeded meanwhile');

const health = breakers.health();
assert.equal(health.aggregate.openCircuits, 1);
assert.equal(health.kinds.agent?.writer?.state, 'closed');
console.log(`registry: ${health.aggregate.openCircuits} of ${health.aggregate.totalCircuits} circuits open`);

// Further researcher calls fail at once, until the breaker lets a trial through after 30 s.
await assert.rejects(policyFor('researcher').execute(hangs), isBrokenCircuitError);
