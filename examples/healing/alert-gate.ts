// Alert suppression and dependencies: start order from dependsOn, pages inhibited while a
// dependency is down, pages of a recovering service held until the healing's verdict (sent if it
// failed, dropped if it worked).

import assert from 'node:assert/strict';
import { AlertGate, isDependencyCycleError, type Notification } from 'rebound/healing';

const dependsOn = { database: [], 'payment-api': ['database'], checkout: ['payment-api'] };

// --- dependencies first: the order `rebound up` starts services in (and reloads them in) ---
assert.deepEqual(AlertGate.order(dependsOn), ['database', 'payment-api', 'checkout']);
assert.throws(
  () => AlertGate.order({ a: ['b'], b: ['a'] }),
  (error) => isDependencyCycleError(error) && error.message === 'dependency cycle: a -> b -> a',
);
console.log(`start order: ${AlertGate.order(dependsOn).join(' -> ')}`);

const down = new Set<string>();
const recovering = new Set<string>();
const gate = new AlertGate({
  dependsOn,
  isDown: (service) => down.has(service),
  isRecovering: (service) => recovering.has(service),
});
const page = (service: string, summary: string): Notification => ({
  id: `rebound-${service}-inc-1`,
  action: 'trigger',
  service,
  severity: 'high',
  summary,
  tried: [],
  details: {},
  at: Date.parse('2025-01-01T00:00:00Z'),
});

// --- nothing wrong: a page goes out ---
assert.deepEqual(gate.decide('checkout'), { send: true });

// --- the database is down: its dependents' pages are inhibited, transitively (it pages itself) ---
down.add('database');
assert.deepEqual(gate.decide('checkout'), { send: false, reason: 'dependency-down', dependency: 'database' });
assert.deepEqual(gate.decide('database'), { send: true });
// The same check holds back the supervisor's restarts of the dependents (no cascading restarts).
assert.deepEqual(gate.downDependencies('checkout'), ['database']);
console.log('database down: checkout and payment-api pages inhibited, their restarts held');
down.delete('database');

// --- a recovering service: its pages wait for the healing's verdict ---
recovering.add('payment-api');
assert.deepEqual(gate.decide('payment-api'), { send: false, reason: 'recovering' });
gate.hold('payment-api', page('payment-api', 'HighLatency: p99 above 500 ms'));
gate.hold('payment-api', page('payment-api', 'policy "Critical Latency Spike" fired'));
assert.equal(gate.heldCount('payment-api'), 2);

// The healing worked: the held pages are dropped (`rebound up` notes each on the incident).
const dropped = gate.drop('payment-api');
assert.equal(dropped.length, 2);
assert.equal(gate.heldCount('payment-api'), 0);
console.log(`healing worked: ${dropped.length} held pages dropped, none sent`);

// The healing failed: the held pages go out, in the order they came.
gate.hold('payment-api', page('payment-api', 'HighLatency: p99 above 500 ms'));
const released = gate.release('payment-api');
assert.deepEqual(
  released.map((notification) => notification.summary),
  ['HighLatency: p99 above 500 ms'],
);
console.log(`healing failed: ${released.length} held page sent: ${released[0]!.summary}`);
