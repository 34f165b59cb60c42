import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertGate, isDependencyCycleError } from './alertGate.ts';
import type { Notification } from './webhookFormats.ts';

const alert = (service: string, summary: string): Notification => ({
  id: `rebound-${service}-1`,
  action: 'trigger',
  service,
  severity: 'high',
  summary,
  tried: [],
  details: {},
  at: 0,
});

// web → api → (db, cache); cache → db; worker alone.
const dependsOn = { web: ['api'], api: ['db', 'cache'], cache: ['db'], db: [], worker: [] };

function gate(down: string[] = [], recovering: string[] = []) {
  const state = { down: new Set(down), recovering: new Set(recovering) };
  const instance = new AlertGate({
    dependsOn,
    isDown: (service) => state.down.has(service),
    isRecovering: (service) => state.recovering.has(service),
  });
  return { gate: instance, state };
}

describe('AlertGate.order', () => {
  it('puts dependencies first and otherwise keeps the order services are named in', () => {
    assert.deepEqual(AlertGate.order(dependsOn), ['db', 'cache', 'api', 'web', 'worker']);
    assert.deepEqual(AlertGate.order({ b: [], a: [] }), ['b', 'a']);
  });

  it('includes services only named as dependencies, and a service called constructor', () => {
    assert.deepEqual(AlertGate.order({ api: ['external'], constructor: ['api'] }), [
      'external',
      'api',
      'constructor',
    ]);
  });

  it('throws a DependencyCycleError naming the cycle', () => {
    assert.throws(
      () => AlertGate.order({ a: ['b'], b: ['c'], c: ['a'] }),
      (error: unknown) => {
        assert.ok(isDependencyCycleError(error));
        assert.deepEqual(error.cycle, ['a', 'b', 'c', 'a']);
        assert.equal(error.message, 'dependency cycle: a -> b -> c -> a');
        return true;
      },
    );
    assert.throws(
      () => new AlertGate({ dependsOn: { a: ['a'] }, isDown: () => false, isRecovering: () => false }),
    );
  });
});

describe('AlertGate.decide', () => {
  it('sends the alerts of a service that is neither recovering nor behind a down dependency', () => {
    assert.deepEqual(gate().gate.decide('web'), { send: true });
    assert.deepEqual(gate(['web']).gate.decide('web'), { send: true });
    assert.deepEqual(gate(['db']).gate.decide('worker'), { send: true });
  });

  it('holds the alerts of a recovering service', () => {
    assert.deepEqual(gate([], ['api']).gate.decide('api'), { send: false, reason: 'recovering' });
  });

  it('inhibits the alerts of a service whose dependency is down, naming the deepest one', () => {
    assert.deepEqual(gate(['api']).gate.decide('web'), {
      send: false,
      reason: 'dependency-down',
      dependency: 'api',
    });
    // Transitive: web depends on db through api. db is the root cause when both are down.
    assert.deepEqual(gate(['db', 'api']).gate.decide('web'), {
      send: false,
      reason: 'dependency-down',
      dependency: 'db',
    });
    // A dependency's outage wins over the service's own recovery: it cannot recover before it.
    assert.deepEqual(gate(['cache'], ['api']).gate.decide('api'), {
      send: false,
      reason: 'dependency-down',
      dependency: 'cache',
    });
  });

  it('reads the state at each decision', () => {
    const { gate: instance, state } = gate(['db']);
    assert.equal(instance.decide('api').send, false);
    state.down.delete('db');
    assert.equal(instance.decide('api').send, true);
  });
});

describe('AlertGate.downDependencies', () => {
  it('lists the transitive dependencies that are down, deepest first', () => {
    const { gate: instance } = gate(['api', 'db', 'worker']);
    assert.deepEqual(instance.downDependencies('web'), ['db', 'api']);
    assert.deepEqual(instance.downDependencies('cache'), ['db']);
    assert.deepEqual(instance.downDependencies('db'), []);
    assert.deepEqual(instance.downDependencies('unknown'), []);
  });
});

describe('AlertGate: held alerts', () => {
  it('keeps alerts per service until released (to send) or dropped (recovered)', () => {
    const { gate: instance } = gate();
    const first = alert('api', 'p99 high');
    const second = alert('api', 'errors high');
    instance.hold('api', first);
    instance.hold('api', second);
    instance.hold('web', alert('web', 'slow'));
    assert.equal(instance.heldCount('api'), 2);

    assert.deepEqual(instance.release('api'), [first, second]);
    assert.deepEqual(instance.release('api'), []);
    assert.equal(instance.heldCount('api'), 0);

    assert.deepEqual(
      instance.drop('web').map((held) => held.summary),
      ['slow'],
    );
    assert.deepEqual(instance.drop('web'), []);
  });
});
