// The policy engine on its own, with a manual clock and a small actuator: the highest-priority
// match runs and is verified against the signal; a policy in cooldown is skipped for the next one;
// a failed attempt moves on to the next match; when every match failed the engine escalates with
// what was tried; a rate limit stops at once.

import assert from 'node:assert/strict';
import { manualClock } from 'rebound';
import { type ActionConfig, type AttemptView, parseConfig, PolicyEngine } from 'rebound/healing';

const config = parseConfig(`
services:
  payment-api: { command: payment-api }
policies:
  - name: Critical Latency Spike
    when: [{ metric: latency_p99, op: gt, value: 500 }]
    do: [restart-service, alert-oncall]
    priority: 10
    cooldownMs: 600000
  - name: Slow Responses
    when: [{ metric: latency_p99, op: gt, value: 300 }]
    do: [scale-up]
    priority: 5
    cooldownMs: 60000
`);

const clock = manualClock(Date.parse('2025-01-01T00:00:00Z'));
/** What the service measures now; the actuator's actions change it. */
const metrics: Record<string, number> = { latency_p99: 120 };
/** How the stand-in actuator behaves. */
const world = { databaseDown: false, scaleUpHelps: false };
const ran: string[] = [];
const escalations: string[][] = [];
let ids = 0;

function engineWith(limits = config.limits) {
  return new PolicyEngine({
    policies: config.policies,
    limits,
    permissions: config.permissions,
    services: Object.keys(config.services),
    clock,
    newId: () => `attempt-${++ids}`,
    // What `rebound up` plugs in: the supervisor and gateways act, here a stand-in does.
    actuator: {
      async run(action: ActionConfig, { service }) {
        ran.push(`${action.type} ${service}`);
        if (action.type === 'restart-service') {
          if (world.databaseDown)
            return { ok: false, message: 'not restarted: its dependency database is down' };
          metrics.latency_p99 = 120;
        }
        if (action.type === 'scale-up' && world.scaleUpHelps) metrics.latency_p99 = 250;
        return { ok: true, message: `${action.type} done` };
      },
    },
    metricsOf: () => metrics, // read again every 250 ms while verifying
    record: () => {}, // `rebound up` writes each state of an attempt to the store
    escalate: (service, tried) => {
      escalations.push(tried.map((attempt) => `${attempt.policy}: ${attempt.outcome}`));
    },
  });
}
const engine = engineWith();
const spike = () => {
  metrics.latency_p99 = 800;
  return { service: 'payment-api', metrics: { ...metrics }, source: 'gateway' as const };
};

// --- 1. both policies match latency_p99 800; the higher priority runs, and is verified ---
assert.deepEqual(
  engine.matching('payment-api', { latency_p99: 800 }).map((policy) => policy.name),
  ['Critical Latency Spike', 'Slow Responses'],
);
let attempts = (await engine.evaluate(spike()))!;
assert.equal(attempts.length, 1);
let [attempt] = attempts as [AttemptView];
assert.equal(attempt.policy, 'Critical Latency Spike');
assert.equal(attempt.status, 'succeeded');
assert.equal(attempt.verified, true);
assert.deepEqual(
  attempt.actions.map((action) => `${action.type}: ${action.status}`),
  ['restart-service: succeeded', 'alert-oncall: succeeded'],
);
assert.equal(
  attempt.outcome,
  'restart-service, alert-oncall succeeded; latency_p99 back to 120 (condition latency_p99 > 500 cleared) after 0.0 s',
);
console.log(`1. ${attempt.policy}: ${attempt.outcome}`);

// --- 2. a new spike a minute later: that policy is in cooldown (600 s per policy and service) ---
clock.advance(60_000);
assert.equal(engine.cooldownRemainingMs('Critical Latency Spike', 'payment-api'), 540_000);
const healing = engine.evaluate(spike());
assert.equal(engine.isHealing('payment-api'), true); // one healing at a time per service
assert.equal(await engine.evaluate(spike()), undefined); // a signal meanwhile is ignored
// The next match, Slow Responses, scales up; latency stays at 800, so verification fails after
// verifyWithinMs (default 10 s; `rebound up` uses 20 s, longer than the gateway's 10 s window).
await clock.tickAsync(10_000);
attempts = (await healing)!;
assert.deepEqual(
  attempts.map((tried) => [tried.policy, tried.status, tried.verified]),
  [['Slow Responses', 'escalated', false]],
);
attempt = attempts[0]!;
assert.equal(
  attempt.outcome,
  'scale-up succeeded but latency_p99 still 800 (condition latency_p99 > 300 still holds) after 10.0 s',
);
console.log(`2. ${attempt.policy}: ${attempt.outcome}`);
// Every match was tried and failed: the escalation gets what was tried.
assert.deepEqual(escalations, [[`Slow Responses: ${attempt.outcome}`]]);
console.log(`   escalated with: ${escalations[0]!.join('; ')}`);

// --- 3. every match in cooldown: nothing runs, and nothing pages (the cooldown is what holds it) ---
assert.deepEqual(await engine.evaluate(spike()), []);
assert.equal(escalations.length, 1);
console.log('3. both policies in cooldown: no attempt, no page');
assert.deepEqual(ran, ['restart-service payment-api', 'alert-oncall payment-api', 'scale-up payment-api']);

// --- 4. a failed attempt moves on to the next matching policy (a fresh engine: no cooldowns) ---
Object.assign(world, { databaseDown: true, scaleUpHelps: true });
attempts = (await engineWith().evaluate(spike()))!;
assert.deepEqual(
  attempts.map((tried) => `${tried.policy}: ${tried.status}`),
  ['Critical Latency Spike: failed', 'Slow Responses: succeeded'],
);
assert.equal(
  attempts[0]!.outcome,
  'restart-service failed: not restarted: its dependency database is down; alert-oncall not run',
);
for (const tried of attempts) console.log(`4. ${tried.policy}: ${tried.outcome}`);
assert.equal(escalations.length, 1); // it healed: no page
Object.assign(world, { databaseDown: false, scaleUpHelps: false });

// --- 5. limits: one action per minute for all of automation; the second action is refused ---
const limited = engineWith({ actionsPerMinute: 1, actionsPerHour: 500 });
attempts = (await limited.evaluate(spike()))!;
attempt = attempts[0]!;
assert.equal(attempts.length, 1); // a limit is not tried around: it escalates at once
assert.equal(attempt.status, 'escalated');
assert.deepEqual(
  attempt.actions.map((action) => `${action.type}: ${action.status}`),
  ['restart-service: succeeded', 'alert-oncall: skipped'],
);
assert.equal(
  attempt.outcome,
  'restart-service succeeded; rate limit: 1 actions per minute reached; alert-oncall not run',
);
console.log(`5. ${attempt.policy}: ${attempt.outcome}`);
assert.equal(escalations.length, 2);
