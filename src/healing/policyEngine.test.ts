import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReboundError, manualClock, type ManualClock } from '../policies/index.ts';
import { deferred } from '../../test/support/waiting.ts';
import { ActionRateLimit } from './actionLimits.ts';
import { parseConfig } from './config.ts';
import type { ActionConfig, PolicyConfig, ReboundConfig } from './configTypes.ts';
import type { AttemptView } from './controlPlaneTypes.ts';
import { isUnknownServiceError } from './errors.ts';
import {
  type ActionOutcome,
  conditionHolds,
  describeCondition,
  PolicyEngine,
  type PolicyEngineOptions,
  type Signal,
} from './policyEngine.ts';

const START = Date.parse('2025-01-01T00:00:00.000Z');

const SERVICES = `
services:
  api: { command: node api.js, failover: { target: backup } }
  backup: { command: node backup.js }
  db: { command: postgres }
`;

interface Call {
  type: ActionConfig['type'];
  service: string;
  policy: string;
  attemptId: string;
}

interface Harness {
  config: ReboundConfig;
  engine: PolicyEngine;
  clock: ManualClock;
  /** What `metricsOf` answers, per service; tests change it to make conditions clear. */
  metrics: Map<string, Record<string, number>>;
  calls: Call[];
  recorded: AttemptView[];
  escalations: { service: string; tried: readonly AttemptView[]; signal: Signal }[];
  /** How an action behaves; default: succeeds and runs `effects[type]`. */
  behave: (action: ActionConfig, call: Call) => ActionOutcome | Promise<ActionOutcome>;
  /** What an action does to the metrics when it succeeds. */
  effects: Partial<Record<ActionConfig['type'], () => void>>;
  signal(service: string, metrics: Record<string, number>): Signal;
}

function harness(yaml: string, options: Partial<PolicyEngineOptions> = {}): Harness {
  const config = parseConfig(SERVICES + yaml, { env: {}, source: 'test.yaml' });
  const clock = manualClock(START);
  let counter = 0;
  const h: Harness = {
    config,
    clock,
    metrics: new Map(),
    calls: [],
    recorded: [],
    escalations: [],
    effects: {},
    behave: (action) => {
      h.effects[action.type]?.();
      return { ok: true, message: `${action.type} done` };
    },
    signal: (service, metrics) => {
      h.metrics.set(service, metrics);
      return { service, metrics, source: 'event' };
    },
    engine: undefined as unknown as PolicyEngine,
  };
  h.engine = new PolicyEngine({
    policies: config.policies,
    limits: config.limits,
    permissions: config.permissions,
    services: Object.keys(config.services),
    failoverTargetOf: (service) => config.services[service]?.failover?.target,
    actuator: {
      run: async (action, context) => {
        const call = { type: action.type, ...context };
        h.calls.push(call);
        return h.behave(action, call);
      },
    },
    metricsOf: (service) => h.metrics.get(service),
    record: (attempt) => {
      h.recorded.push(attempt);
    },
    escalate: (service, tried, signal) => {
      h.escalations.push({ service, tried, signal });
    },
    clock,
    newId: () => `attempt-${++counter}`,
    ...options,
  });
  return h;
}

/** Runs `evaluate` while moving the manual clock until it settles. */
async function settle<T>(clock: ManualClock, promise: Promise<T>, stepMs = 250, maxMs = 120_000): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  for (let elapsed = 0; !done && elapsed <= maxMs; elapsed += stepMs) await clock.tickAsync(stepMs);
  assert.ok(done, `still running after ${maxMs} ms of clock time`);
  return watched;
}

const latencyPolicies = `
policies:
  - name: Moderate Latency
    when: [{ metric: latency_p99, op: gt, value: 300 }]
    do: [scale-up]
    priority: 5
  - name: Critical Latency Spike
    when: [{ metric: latency_p99, op: gt, value: 500 }]
    do: [restart-service, alert-oncall]
    priority: 10
    cooldownMs: 600000
`;

describe('conditions', () => {
  it('compares with each operator and never holds on a missing or NaN metric', () => {
    const metrics = { latency_p99: 500, error_rate: Number.NaN };
    const holds = (op: 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq', value: number) =>
      conditionHolds({ metric: 'latency_p99', op, value }, metrics);
    assert.deepEqual(
      [
        holds('gt', 500),
        holds('gte', 500),
        holds('lt', 500),
        holds('lte', 500),
        holds('eq', 500),
        holds('neq', 500),
      ],
      [false, true, false, true, true, false],
    );
    assert.equal(holds('gt', 499), true);
    assert.equal(holds('lt', 501), true);
    for (const op of ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const) {
      assert.equal(conditionHolds({ metric: 'throughput', op, value: 0 }, metrics), false, `missing, ${op}`);
      assert.equal(conditionHolds({ metric: 'error_rate', op, value: 0 }, metrics), false, `NaN, ${op}`);
    }
  });

  it('describes a condition as people write it', () => {
    assert.equal(describeCondition({ metric: 'latency_p99', op: 'gt', value: 500 }), 'latency_p99 > 500');
    assert.equal(describeCondition({ metric: 'error_rate', op: 'gte', value: 0.15 }), 'error_rate >= 0.15');
    assert.equal(describeCondition({ metric: 'up', op: 'neq', value: 1 }), 'up != 1');
    assert.equal(describeCondition({ metric: 'cpu_util', op: 'lte', value: 0.1 }), 'cpu_util <= 0.1');
  });
});

describe('PolicyEngine: matching', () => {
  it('lists matching policies highest priority first, config order among equals', () => {
    const h = harness(`
policies:
  - { name: low, when: [{ metric: x, op: gt, value: 0 }], do: [scale-up], priority: 1 }
  - { name: tie-first, when: [{ metric: x, op: gt, value: 0 }], do: [scale-up], priority: 5 }
  - { name: high, when: [{ metric: x, op: gt, value: 0 }], do: [scale-up], priority: 9 }
  - { name: tie-second, when: [{ metric: x, op: gt, value: 0 }], do: [scale-up], priority: 5 }
`);
    assert.deepEqual(
      h.engine.matching('api', { x: 1 }).map((policy) => policy.name),
      ['high', 'tie-first', 'tie-second', 'low'],
    );
  });

  it('needs every condition to hold, honours the services list and leaves disabled policies out', () => {
    const h = harness(`
policies:
  - name: High Error Rate
    when: [{ metric: error_rate, op: gt, value: 0.15 }, { metric: throughput, op: gt, value: 100 }]
    do: [enable-circuit-breaker, fallback-mode]
  - name: only-db
    services: [db]
    when: [{ metric: error_rate, op: gt, value: 0.15 }]
    do: [restart-service]
  - name: disabled
    enabled: false
    when: [{ metric: error_rate, op: gt, value: 0.15 }]
    do: [restart-service]
`);
    const names = (service: string, metrics: Record<string, number>) =>
      h.engine.matching(service, metrics).map((policy) => policy.name);
    assert.deepEqual(names('api', { error_rate: 0.2, throughput: 50 }), []);
    assert.deepEqual(names('api', { error_rate: 0.2 }), []);
    assert.deepEqual(names('api', { error_rate: 0.2, throughput: 150 }), ['High Error Rate']);
    assert.deepEqual(names('db', { error_rate: 0.2, throughput: 150 }), ['High Error Rate', 'only-db']);
    assert.deepEqual(names('db', { error_rate: 0.2 }), ['only-db']);
  });
});

describe('PolicyEngine: evaluate', () => {
  it('runs the highest-priority match, its actions in order, and verifies that the signal cleared', async () => {
    const h = harness(latencyPolicies);
    h.effects['restart-service'] = () => h.metrics.set('api', { latency_p99: 120 });
    const attempts = await h.engine.evaluate(h.signal('api', { latency_p99: 800 }));

    assert.deepEqual(
      h.calls.map((call) => [call.type, call.service, call.policy, call.attemptId]),
      [
        ['restart-service', 'api', 'Critical Latency Spike', 'attempt-1'],
        ['alert-oncall', 'api', 'Critical Latency Spike', 'attempt-1'],
      ],
    );
    assert.equal(attempts?.length, 1);
    const attempt = attempts[0]!;
    assert.equal(attempt.id, 'attempt-1');
    assert.equal(attempt.source, 'policy');
    assert.equal(attempt.policy, 'Critical Latency Spike');
    assert.equal(attempt.status, 'succeeded');
    assert.equal(attempt.verified, true);
    assert.deepEqual(attempt.trigger, {
      source: 'event',
      metrics: { latency_p99: 800 },
      conditions: ['latency_p99 > 500'],
    });
    assert.deepEqual(
      attempt.actions.map((action) => [action.type, action.status, action.message]),
      [
        ['restart-service', 'succeeded', 'restart-service done'],
        ['alert-oncall', 'succeeded', 'alert-oncall done'],
      ],
    );
    assert.equal(
      attempt.outcome,
      'restart-service, alert-oncall succeeded; latency_p99 back to 120 (condition latency_p99 > 500 cleared) after 0.0 s',
    );
    assert.equal(attempt.startedAt, '2025-01-01T00:00:00.000Z');
    assert.equal(attempt.endedAt, '2025-01-01T00:00:00.000Z');
    assert.deepEqual(h.escalations, []);

    // Recorded at the start, after each action but the last, and at the end: snapshots, not one object.
    assert.deepEqual(
      h.recorded.map((recorded) => [recorded.status, recorded.actions.length]),
      [
        ['running', 0],
        ['running', 1],
        ['succeeded', 2],
      ],
    );
    assert.notEqual(h.recorded[0], h.recorded[2]);
    assert.equal(h.recorded[0]!.endedAt, null);
    assert.equal(h.recorded[0]!.verified, null);
  });

  it('returns an empty list when nothing matches, and rejects an unknown service', async () => {
    const h = harness(latencyPolicies);
    assert.deepEqual(await h.engine.evaluate(h.signal('api', { latency_p99: 100 })), []);
    assert.deepEqual(h.calls, []);
    await assert.rejects(h.engine.evaluate(h.signal('nope', { latency_p99: 900 })), (error: unknown) => {
      assert.ok(isUnknownServiceError(error));
      return true;
    });
  });

  it('keeps polling until the conditions clear, and says how long it took', async () => {
    const h = harness(latencyPolicies);
    const pending = h.engine.evaluate(h.signal('api', { latency_p99: 800 }));
    await h.clock.tickAsync(2_000);
    assert.equal(h.engine.isHealing('api'), true);
    h.metrics.set('api', { latency_p99: 450 });
    await h.clock.tickAsync(300);
    const [attempt] = (await pending)!;
    assert.equal(attempt!.status, 'succeeded');
    assert.equal(attempt!.verified, true);
    assert.match(
      attempt!.outcome,
      /latency_p99 back to 450 \(condition latency_p99 > 500 cleared\) after 2\.3 s$/,
    );
    // Read every 250 ms: the first reading after the change was at 2 250 ms.
    assert.equal(attempt!.endedAt, '2025-01-01T00:00:02.250Z');
    assert.equal(h.engine.isHealing('api'), false);
  });

  it('fails an attempt whose conditions still hold after verifyWithinMs, tries the next policy, then escalates', async () => {
    const h = harness(latencyPolicies, { verifyWithinMs: 5_000 });
    const signal = h.signal('api', { latency_p99: 800 });
    const attempts = (await settle(h.clock, h.engine.evaluate(signal)))!;

    assert.deepEqual(
      attempts.map((attempt) => [attempt.policy, attempt.status, attempt.verified]),
      [
        ['Critical Latency Spike', 'failed', false],
        ['Moderate Latency', 'escalated', false],
      ],
    );
    assert.equal(
      attempts[0]!.outcome,
      'restart-service, alert-oncall succeeded but latency_p99 still 800 (condition latency_p99 > 500 still holds) after 5.0 s',
    );
    assert.deepEqual(
      h.calls.map((call) => call.type),
      ['restart-service', 'alert-oncall', 'scale-up'],
    );
    assert.equal(h.escalations.length, 1);
    const escalation = h.escalations[0]!;
    assert.equal(escalation.service, 'api');
    assert.equal(escalation.signal, signal);
    assert.deepEqual(
      escalation.tried.map((attempt) => [attempt.policy, attempt.status]),
      [
        ['Critical Latency Spike', 'failed'],
        ['Moderate Latency', 'escalated'],
      ],
    );
    // The escalated status is recorded too.
    assert.deepEqual(
      h.recorded.filter((recorded) => recorded.id === attempts[1]!.id).map((recorded) => recorded.status),
      ['running', 'failed', 'escalated'],
    );
  });

  it('cannot verify without metrics of the service, and says so', async () => {
    const h = harness(latencyPolicies, { verifyWithinMs: 1_000 });
    const pending = h.engine.evaluate({ service: 'api', metrics: { latency_p99: 800 }, source: 'gateway' });
    const attempts = (await settle(h.clock, pending))!;
    assert.equal(attempts[0]!.verified, false);
    assert.match(attempts[0]!.outcome, /but no metrics of api to verify against after 1\.0 s$/);
  });

  it('treats a throwing action as failed, skips the rest of the attempt and moves to the next policy', async () => {
    const h = harness(latencyPolicies);
    h.behave = (action) => {
      if (action.type === 'restart-service') throw new Error('no such process');
      h.metrics.set('api', { latency_p99: 200 });
      return { ok: true, message: 'scaled to 3 replicas' };
    };
    const attempts = (await h.engine.evaluate(h.signal('api', { latency_p99: 800 })))!;
    const [spike, moderate] = attempts;
    assert.equal(spike!.status, 'failed');
    assert.equal(spike!.verified, null);
    assert.deepEqual(
      spike!.actions.map((action) => [action.type, action.status, action.message]),
      [
        ['restart-service', 'failed', 'no such process'],
        ['alert-oncall', 'skipped', 'not run: restart-service failed'],
      ],
    );
    assert.equal(spike!.outcome, 'restart-service failed: no such process; alert-oncall not run');
    assert.equal(moderate!.policy, 'Moderate Latency');
    assert.equal(moderate!.status, 'succeeded');
    assert.deepEqual(
      h.calls.map((call) => call.type),
      ['restart-service', 'scale-up'],
    );
    assert.deepEqual(h.escalations, []);
  });

  it('treats an ok: false outcome as a failed action', async () => {
    const h = harness(latencyPolicies);
    h.behave = (action) => ({ ok: action.type !== 'scale-up', message: 'at max replicas (8)' });
    h.effects = {};
    const attempts = (await settle(h.clock, h.engine.evaluate(h.signal('api', { latency_p99: 400 }))))!;
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.status, 'escalated');
    assert.equal(attempts[0]!.outcome, 'scale-up failed: at max replicas (8)');
    assert.equal(h.escalations.length, 1);
  });

  it('verifies an attempt whose only action is paging like any other', async () => {
    const h = harness(
      `
policies:
  - { name: page, when: [{ metric: error_rate, op: gt, value: 0.5 }], do: [alert-oncall] }
`,
      { verifyWithinMs: 2_000 },
    );
    const attempts = (await settle(h.clock, h.engine.evaluate(h.signal('api', { error_rate: 0.9 }))))!;
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.verified, false);
    assert.equal(attempts[0]!.status, 'escalated');
    assert.equal(
      attempts[0]!.outcome,
      'alert-oncall succeeded but error_rate still 0.9 (condition error_rate > 0.5 still holds) after 2.0 s',
    );
  });

  it('rejects when an attempt cannot be recorded, and is free to heal the service again', async () => {
    let failing = true;
    const h = harness(latencyPolicies, {
      record: () => {
        if (failing) throw new Error('store closed');
      },
    });
    await assert.rejects(h.engine.evaluate(h.signal('api', { latency_p99: 800 })), /store closed/);
    assert.equal(h.engine.isHealing('api'), false);
    assert.deepEqual(h.calls, []);
    failing = false;
    h.effects['scale-up'] = () => h.metrics.set('api', { latency_p99: 100 });
    const attempts = (await h.engine.evaluate(h.signal('api', { latency_p99: 800 })))!;
    // The failed attempt's cooldown had started: the next policy heals.
    assert.deepEqual(
      attempts.map((attempt) => [attempt.policy, attempt.status]),
      [['Moderate Latency', 'succeeded']],
    );
  });

  it('skips a policy in cooldown for that service and tries the next matching one', async () => {
    const h = harness(latencyPolicies);
    h.effects['restart-service'] = () => h.metrics.set('api', { latency_p99: 120 });
    h.effects['scale-up'] = () => h.metrics.set('api', { latency_p99: 120 });
    await h.engine.evaluate(h.signal('api', { latency_p99: 800 }));
    assert.equal(h.engine.cooldownRemainingMs('Critical Latency Spike', 'api'), 600_000);

    await h.clock.tickAsync(60_000);
    assert.equal(h.engine.cooldownRemainingMs('Critical Latency Spike', 'api'), 540_000);
    const again = (await h.engine.evaluate(h.signal('api', { latency_p99: 800 })))!;
    assert.deepEqual(
      again.map((attempt) => [attempt.policy, attempt.status]),
      [['Moderate Latency', 'succeeded']],
    );

    // Per service: the same policy runs at once on another service.
    h.effects['restart-service'] = () => h.metrics.set('db', { latency_p99: 120 });
    const database = (await h.engine.evaluate(h.signal('db', { latency_p99: 800 })))!;
    assert.deepEqual(
      database.map((attempt) => [attempt.policy, attempt.service]),
      [['Critical Latency Spike', 'db']],
    );
    assert.equal(h.engine.cooldownRemainingMs('Critical Latency Spike', 'backup'), 0);

    // Once the cooldown is over the policy runs again.
    await h.clock.tickAsync(540_000);
    assert.equal(h.engine.cooldownRemainingMs('Critical Latency Spike', 'api'), 0);
    h.effects['restart-service'] = () => h.metrics.set('api', { latency_p99: 120 });
    const later = (await h.engine.evaluate(h.signal('api', { latency_p99: 800 })))!;
    assert.equal(later[0]!.policy, 'Critical Latency Spike');
  });

  it('does nothing and escalates nothing while every matching policy is in cooldown', async () => {
    const h = harness(`
policies:
  - { name: only, when: [{ metric: latency_p99, op: gt, value: 500 }], do: [restart-service], cooldownMs: 60000 }
`);
    h.effects['restart-service'] = () => h.metrics.set('api', { latency_p99: 100 });
    await h.engine.evaluate(h.signal('api', { latency_p99: 800 }));
    assert.deepEqual(await h.engine.evaluate(h.signal('api', { latency_p99: 800 })), []);
    assert.equal(h.calls.length, 1);
    assert.deepEqual(h.escalations, []);
  });

  it('starts the cooldown when the attempt starts, not when it ends', async () => {
    const h = harness(latencyPolicies, { verifyWithinMs: 8_000 });
    const pending = h.engine.evaluate(h.signal('api', { latency_p99: 800 }));
    await h.clock.tickAsync(3_000);
    assert.equal(h.engine.cooldownRemainingMs('Critical Latency Spike', 'api'), 597_000);
    await settle(h.clock, pending);
  });

  it('never runs a disabled policy', async () => {
    const h = harness(`
policies:
  - { name: off, enabled: false, priority: 10, when: [{ metric: x, op: gt, value: 0 }], do: [restart-service] }
  - { name: on, priority: 1, when: [{ metric: x, op: gt, value: 0 }], do: [scale-up] }
`);
    h.effects['scale-up'] = () => h.metrics.set('api', { x: 0 });
    const attempts = (await h.engine.evaluate(h.signal('api', { x: 1 })))!;
    assert.deepEqual(
      attempts.map((attempt) => attempt.policy),
      ['on'],
    );
    assert.deepEqual(
      h.calls.map((call) => call.type),
      ['scale-up'],
    );
  });

  it('ignores signals for a service while it is being healed, not for other services', async () => {
    const h = harness(latencyPolicies);
    const restart = deferred<ActionOutcome>();
    h.behave = (action, call) => {
      if (call.service === 'api' && action.type === 'restart-service') return restart.promise;
      h.metrics.set(call.service, { latency_p99: 100 });
      return { ok: true, message: 'done' };
    };
    const first = h.engine.evaluate(h.signal('api', { latency_p99: 800 }));
    assert.equal(h.engine.isHealing('api'), true);
    assert.equal(await h.engine.evaluate(h.signal('api', { latency_p99: 900 })), undefined);
    assert.equal(await h.engine.evaluate(h.signal('api', { latency_p99: 400 })), undefined);
    const database = (await h.engine.evaluate(h.signal('db', { latency_p99: 800 })))!;
    assert.equal(database[0]!.status, 'succeeded');

    h.metrics.set('api', { latency_p99: 100 });
    restart.resolve({ ok: true, message: 'restarted' });
    const attempts = (await first)!;
    assert.equal(attempts[0]!.status, 'succeeded');
    assert.equal(h.engine.isHealing('api'), false);
    assert.deepEqual(
      h.calls.filter((call) => call.service === 'api').map((call) => call.type),
      ['restart-service', 'alert-oncall'],
    );
  });

  it('emits a copy of every recorded state on onAttempt', async () => {
    const h = harness(latencyPolicies);
    h.effects['restart-service'] = () => h.metrics.set('api', { latency_p99: 120 });
    const seen: AttemptView[] = [];
    const unsubscribe = h.engine.onAttempt((attempt) => seen.push(attempt));
    await h.engine.evaluate(h.signal('api', { latency_p99: 800 }));
    unsubscribe();
    assert.deepEqual(seen, h.recorded);
    assert.notEqual(seen[0], h.recorded[0]);
  });

  it('ends a verification in progress on close() without escalating, and then ignores signals', async () => {
    const h = harness(latencyPolicies);
    const pending = h.engine.evaluate(h.signal('api', { latency_p99: 800 }));
    await h.clock.tickAsync(1_000);
    h.engine.close();
    const attempts = (await pending)!;
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.status, 'failed');
    assert.match(attempts[0]!.outcome, /not verified: rebound stopped$/);
    assert.deepEqual(h.escalations, []);
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(await h.engine.evaluate(h.signal('db', { latency_p99: 800 })), undefined);
  });
});

describe('PolicyEngine: validation', () => {
  const permitted = `
permissions:
  api: [scale-up, alert-oncall]
policies:
  - { name: restart, priority: 10, when: [{ metric: down, op: eq, value: 1 }], do: [alert-oncall, restart-service] }
  - { name: scale, priority: 5, when: [{ metric: down, op: eq, value: 1 }], do: [scale-up] }
`;

  it('refuses an action the permissions do not allow, runs nothing of that attempt and tries the next policy', async () => {
    const h = harness(permitted);
    h.effects['scale-up'] = () => h.metrics.set('api', { down: 0 });
    const attempts = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    const [refused, scaled] = attempts;
    assert.equal(refused!.status, 'failed');
    assert.equal(refused!.verified, null);
    assert.deepEqual(
      refused!.actions.map((action) => [action.type, action.status, action.message]),
      [
        ['alert-oncall', 'skipped', 'not run: restart-service is not allowed'],
        [
          'restart-service',
          'skipped',
          'restart-service is not permitted on api (permissions.api: scale-up, alert-oncall)',
        ],
      ],
    );
    assert.equal(
      refused!.outcome,
      'not run: restart-service is not permitted on api (permissions.api: scale-up, alert-oncall)',
    );
    assert.equal(scaled!.status, 'succeeded');
    assert.deepEqual(
      h.calls.map((call) => call.type),
      ['scale-up'],
    );
  });

  it('permits every action on a service the permissions do not list', async () => {
    const h = harness(permitted);
    h.effects['restart-service'] = () => h.metrics.set('db', { down: 0 });
    const attempts = (await h.engine.evaluate(h.signal('db', { down: 1 })))!;
    assert.deepEqual(
      attempts.map((attempt) => [attempt.policy, attempt.status]),
      [['restart', 'succeeded']],
    );
  });

  it('checks failover targets: unknown, itself, missing, or the service’s own configured target', async () => {
    const h = harness('');
    const failover = (target: string | undefined, priority: number): PolicyConfig => ({
      name: `failover-${target ?? 'default'}-${priority}`,
      description: undefined,
      services: [],
      when: [{ metric: 'down', op: 'eq', value: 1 }],
      do: [{ type: 'failover', target }],
      priority,
      cooldownMs: 0,
      enabled: true,
    });
    h.engine.updatePolicies(
      [failover('nowhere', 4), failover('api', 3), failover(undefined, 2)],
      h.config.limits,
      h.config.permissions,
    );
    h.effects.failover = () => h.metrics.set('api', { down: 0 });
    const attempts = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.deepEqual(
      attempts.map((attempt) => [attempt.status, attempt.actions[0]!.status, attempt.actions[0]!.message]),
      [
        ['failed', 'skipped', 'failover target "nowhere" is not a known service'],
        ['failed', 'skipped', 'failover target "api" is the service itself'],
        ['succeeded', 'succeeded', 'failover done'],
      ],
    );
    assert.equal(h.calls.length, 1);

    // For db, "api" is a valid target; db has no failover target of its own, so an action that
    // names none cannot run there.
    const database = (await settle(h.clock, h.engine.evaluate(h.signal('db', { down: 1 }))))!;
    assert.deepEqual(
      database.map((attempt) => [attempt.status, attempt.actions[0]!.status]),
      [
        ['failed', 'skipped'],
        ['failed', 'succeeded'],
        ['escalated', 'skipped'],
      ],
    );
    assert.equal(
      database[2]!.actions[0]!.message,
      'failover has no target: name one in the policy or set failover.target on db',
    );
    assert.equal(h.escalations.length, 1);
    assert.equal(h.calls.length, 2);
  });

  it('reports every problem with its options at once', () => {
    const config = parseConfig(SERVICES, { env: {} });
    const policy: PolicyConfig = {
      name: 'p',
      description: undefined,
      services: ['ghost'],
      when: [],
      do: [{ type: 'restart-service' }],
      priority: 0,
      cooldownMs: -1,
      enabled: true,
    };
    assert.throws(
      () =>
        new PolicyEngine({
          policies: [policy, policy],
          limits: { actionsPerMinute: 0, actionsPerHour: 1.5 },
          permissions: {},
          services: Object.keys(config.services),
          actuator: {} as never,
          metricsOf: () => undefined,
          record: () => {},
          escalate: () => {},
          verifyIntervalMs: 0,
        }),
      (error: unknown) => {
        assert.ok(isReboundError(error));
        const message = (error as Error).message;
        for (const expected of [
          'policyEngine.policies[1].name duplicates "p"',
          'policyEngine.policies[0].when must hold at least one condition',
          'policyEngine.policies[0].cooldownMs must be >= 0, got -1',
          'policyEngine.policies[0].services names unknown service "ghost"',
          'policyEngine.limits.actionsPerMinute must be >= 1, got 0',
          'policyEngine.limits.actionsPerHour must be an integer, got 1.5',
          'policyEngine.actuator.run must be a function',
          'policyEngine.verifyIntervalMs must be > 0, got 0',
        ]) {
          assert.ok(message.includes(expected), `missing "${expected}" in:\n${message}`);
        }
        return true;
      },
    );
  });
});

describe('PolicyEngine: rate limits', () => {
  const restartEverything = (limits: string) => `
limits: ${limits}
policies:
  - { name: restart, priority: 10, cooldownMs: 0, when: [{ metric: down, op: eq, value: 1 }], do: [restart-service, alert-oncall] }
  - { name: scale, priority: 5, cooldownMs: 0, when: [{ metric: down, op: eq, value: 1 }], do: [scale-up] }
`;

  it('refuses actions over the per-minute limit, fails the attempt and escalates without trying more', async () => {
    const h = harness(restartEverything('{ actionsPerMinute: 3, actionsPerHour: 100 }'));
    h.effects['restart-service'] = () => h.metrics.set('api', { down: 0 });
    await h.engine.evaluate(h.signal('api', { down: 1 }));
    assert.equal(h.calls.length, 2);

    await h.clock.tickAsync(10_000);
    const attempts = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.equal(attempts.length, 1);
    const [limited] = attempts;
    assert.equal(limited!.status, 'escalated');
    assert.deepEqual(
      limited!.actions.map((action) => [action.type, action.status, action.message]),
      [
        ['restart-service', 'succeeded', 'restart-service done'],
        ['alert-oncall', 'skipped', 'rate limit: 3 actions per minute reached'],
      ],
    );
    assert.equal(
      limited!.outcome,
      'restart-service succeeded; rate limit: 3 actions per minute reached; alert-oncall not run',
    );
    assert.equal(h.calls.length, 3);
    assert.equal(h.escalations.length, 1);

    // Nothing at all while the minute is full; the window slides: the first actions leave it at 60 s.
    await h.clock.tickAsync(49_999);
    const refused = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.equal(
      refused[0]!.outcome,
      'rate limit: 3 actions per minute reached; restart-service, alert-oncall not run',
    );
    assert.equal(h.calls.length, 3);
    await h.clock.tickAsync(1);
    const admitted = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.equal(admitted[0]!.status, 'succeeded');
    assert.equal(h.calls.length, 5);
  });

  it('refuses actions over the per-hour limit until the hour has slid past them', async () => {
    const h = harness(restartEverything('{ actionsPerMinute: 60, actionsPerHour: 4 }'));
    h.effects['restart-service'] = () => h.metrics.set('api', { down: 0 });
    await h.engine.evaluate(h.signal('api', { down: 1 }));
    await h.clock.tickAsync(20 * 60_000);
    await h.engine.evaluate(h.signal('api', { down: 1 }));
    assert.equal(h.calls.length, 4);

    await h.clock.tickAsync(20 * 60_000);
    const refused = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.equal(refused[0]!.actions[0]!.message, 'rate limit: 4 actions per hour reached');
    assert.equal(refused[0]!.status, 'escalated');
    assert.equal(h.calls.length, 4);

    await h.clock.tickAsync(20 * 60_000);
    const admitted = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.equal(admitted[0]!.status, 'succeeded');
    assert.equal(h.calls.length, 6);
  });

  it('counts actions across policies and services', async () => {
    const h = harness(restartEverything('{ actionsPerMinute: 3, actionsPerHour: 100 }'));
    h.behave = (action, call) => {
      if (action.type === 'scale-up') h.metrics.set(call.service, { down: 0 });
      return { ok: action.type !== 'restart-service', message: action.type };
    };
    // api: restart fails (1 action), scale-up works (2); db: restart fails (3), scale-up refused.
    await h.engine.evaluate(h.signal('api', { down: 1 }));
    const database = (await h.engine.evaluate(h.signal('db', { down: 1 })))!;
    assert.deepEqual(
      database.map((attempt) => [attempt.policy, attempt.status]),
      [
        ['restart', 'failed'],
        ['scale', 'escalated'],
      ],
    );
    assert.equal(database[1]!.actions[0]!.message, 'rate limit: 3 actions per minute reached');
  });

  it('counts on a limit passed in, which actions taken elsewhere count against too', async () => {
    const clock = manualClock(START);
    const shared = new ActionRateLimit({ actionsPerMinute: 2, actionsPerHour: 100 }, clock);
    const h = harness(restartEverything('{ actionsPerMinute: 2, actionsPerHour: 100 }'), {
      clock,
      rateLimit: shared,
    });
    h.behave = (action) => ({ ok: false, message: `${action.type} failed` });
    // Both policies' actions run and fail: they took both slots of the shared limit.
    const failed = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.deepEqual(
      failed.map((attempt) => [attempt.policy, attempt.status]),
      [
        ['restart', 'failed'],
        ['scale', 'escalated'],
      ],
    );
    assert.equal(shared.take(), 'rate limit: 2 actions per minute reached');

    // A minute on, a controller's action takes one slot and another the last: the next policy
    // action is skipped and nothing more is tried (final), where a failed action would go on.
    await clock.tickAsync(60_000);
    assert.equal(shared.take(), undefined);
    assert.equal(shared.take(), undefined);
    const refused = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.deepEqual(
      refused.map((attempt) => [attempt.policy, attempt.status, attempt.actions[0]!.status]),
      [['restart', 'escalated', 'skipped']],
    );
    assert.equal(refused[0]!.actions[0]!.message, 'rate limit: 2 actions per minute reached');
    assert.deepEqual(
      h.calls.map((call) => call.type),
      ['restart-service', 'scale-up'],
    );
    assert.equal(h.escalations.length, 2);
  });

  it('keeps the counted actions and cooldowns when the policies are updated', async () => {
    const h = harness(restartEverything('{ actionsPerMinute: 3, actionsPerHour: 100 }'));
    h.effects['restart-service'] = () => h.metrics.set('api', { down: 0 });
    await h.engine.evaluate(h.signal('api', { down: 1 }));
    const next = parseConfig(
      SERVICES +
        `
limits: { actionsPerMinute: 2, actionsPerHour: 100 }
policies:
  - { name: restart, cooldownMs: 60000, when: [{ metric: down, op: eq, value: 1 }], do: [restart-service] }
`,
      { env: {} },
    );
    h.engine.updatePolicies(next.policies, next.limits, next.permissions);
    const refused = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.equal(refused[0]!.actions[0]!.message, 'rate limit: 2 actions per minute reached');
    await h.clock.tickAsync(60_000);
    await h.engine.evaluate(h.signal('api', { down: 1 }));
    assert.equal(h.engine.cooldownRemainingMs('restart', 'api'), 60_000);
    const cooling = (await h.engine.evaluate(h.signal('api', { down: 1 })))!;
    assert.deepEqual(cooling, []);
  });
});

describe('ActionRateLimit', () => {
  it('admits exactly the limit in any sliding minute', () => {
    const clock = manualClock(0);
    const limit = new ActionRateLimit({ actionsPerMinute: 2, actionsPerHour: 10 }, clock);
    assert.equal(limit.take(), undefined);
    clock.advance(30_000);
    assert.equal(limit.take(), undefined);
    assert.equal(limit.available(), 0);
    clock.advance(29_999);
    assert.equal(limit.take(), 'rate limit: 2 actions per minute reached');
    clock.advance(1);
    assert.equal(limit.take(), undefined);
    assert.equal(limit.take(), 'rate limit: 2 actions per minute reached');
    limit.setLimits({ actionsPerMinute: 5, actionsPerHour: 3 });
    assert.equal(limit.take(), 'rate limit: 3 actions per hour reached');
    clock.advance(3_600_000);
    assert.equal(limit.available(), 3);
  });
});
