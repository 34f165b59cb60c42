import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Journal } from '../chaos/index.ts';
import {
  REPORT_TARGETS,
  type ReliabilityInput,
  serviceReliability,
  targetChecks,
} from './reliabilityMetrics.ts';

function journal(patch: Partial<Journal> & Pick<Journal, 'id' | 'status'>): Journal {
  return {
    title: `run ${patch.id}`,
    target: 'api',
    reason: null,
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:00:05.000Z',
    steadyStateBefore: { met: true, probes: [] },
    steadyStateAfter: { met: true, probes: [] },
    activities: [],
    rollbacks: [],
    recoveryMs: 400,
    expectation: { recoveredWithinMs: 2000, met: true },
    ...patch,
  };
}

function input(patch: Partial<ReliabilityInput> = {}): ReliabilityInput {
  return {
    name: 'api',
    metrics: { requests_total: 1000, errors_total: 5, requests: 40, errors: 2, error_rate: 0.05 },
    hasGateway: true,
    slo: { target: 0.99, windowDays: 30 },
    incidents: [],
    attempts: [],
    experiments: [],
    ...patch,
  };
}

const at = (minutes: number) => new Date(Date.UTC(2025, 0, 1, 0, minutes)).toISOString();

describe('serviceReliability', () => {
  it('takes availability, budget, MTTR, MTBF and burn rates from the SLO window when given one', () => {
    // The window: 4000 responses, 8 failed: 1 − 8/4000 = 0.998; against 0.99: 1 − 0.002/0.01 = 0.8.
    // The gateway's since-start counters (1000 / 5) are not used then.
    const reliability = serviceReliability({
      ...input(),
      window: {
        availability: 0.998,
        mttrMs: 60_000,
        mtbfMs: 3_600_000,
        errorBudgetRemaining: 0.8,
        burnRate: { '1h': 0.5, '6h': 0.25 },
        alerts: { fast: false, slow: false },
        slo: { target: 0.99, windowDays: 7 },
        requests: 4000,
        errors: 8,
        incidents: 2,
      },
    });
    assert.deepEqual(reliability.availabilityOver, { kind: 'slo-window', windowDays: 7 });
    assert.equal(reliability.requestsTotal, 4000);
    assert.equal(reliability.errorsTotal, 8);
    assert.equal(reliability.availability, 0.998);
    assert.ok(Math.abs(reliability.errorBudgetRemaining! - 0.8) < 1e-9);
    assert.equal(reliability.mttrMs, 60_000);
    assert.equal(reliability.mtbfMs, 3_600_000);
    assert.deepEqual(reliability.burnRate, { '1h': 0.5, '6h': 0.25 });
    assert.deepEqual(serviceReliability(input()).availabilityOver, { kind: 'since-start' });
  });

  it('availability is the share of responses below 500 since the gateway started; the budget follows the SLO', () => {
    const reliability = serviceReliability(input());
    assert.equal(reliability.requestsTotal, 1000);
    assert.equal(reliability.errorsTotal, 5);
    assert.equal(reliability.availability, 0.995);
    // 1 − (1 − 0.995) / (1 − 0.99) = 0.5
    assert.ok(Math.abs(reliability.errorBudgetRemaining! - 0.5) < 1e-9);
    assert.equal(reliability.errorRate, 0.05);
    assert.equal(reliability.windowRequests, 40);
  });

  it('measures nothing without a gateway, and no availability before the first request', () => {
    const none = serviceReliability(input({ hasGateway: false, metrics: { cpu_util: 0.3 } }));
    assert.equal(none.availability, null);
    assert.equal(none.requestsTotal, null);
    assert.equal(none.errorRate, null);
    assert.equal(none.errorBudgetRemaining, null);
    const idle = serviceReliability(
      input({ metrics: { requests_total: 0, errors_total: 0, requests: 0, error_rate: 0 } }),
    );
    assert.equal(idle.availability, null);
    assert.equal(idle.errorRate, null, 'an empty window has no error rate, not 0');
    assert.equal(idle.requestsTotal, 0);
  });

  it('has no error budget without an SLO', () => {
    const reliability = serviceReliability(input({ slo: null }));
    assert.equal(reliability.availability, 0.995);
    assert.equal(reliability.errorBudgetRemaining, null);
  });

  it('MTTR is the mean time to resolve of resolved incidents; MTBF the mean gap between openings', () => {
    const reliability = serviceReliability(
      input({
        incidents: [
          { service: 'api', status: 'open', openedAt: at(100), resolvedAt: null },
          { service: 'api', status: 'resolved', openedAt: at(40), resolvedAt: at(43) },
          { service: 'api', status: 'resolved', openedAt: at(0), resolvedAt: at(1) },
          { service: 'other', status: 'resolved', openedAt: at(5), resolvedAt: at(65) },
        ],
      }),
    );
    assert.equal(reliability.mttrMs, 2 * 60_000); // (3 min + 1 min) / 2
    assert.equal(reliability.mtbfMs, 50 * 60_000); // gaps 40 and 60 min
    assert.equal(reliability.incidents, 3);
    assert.equal(reliability.openIncidents, 1);
    assert.equal(reliability.resolvedIncidents, 2);
    const one = serviceReliability(
      input({ incidents: [{ service: 'api', status: 'escalated', openedAt: at(0), resolvedAt: null }] }),
    );
    assert.equal(one.mtbfMs, null);
    assert.equal(one.mttrMs, null);
  });

  it("counts the service's finished healing attempts; an escalated one failed, a running one is not finished", () => {
    const reliability = serviceReliability(
      input({
        attempts: [
          { service: 'api', status: 'succeeded' },
          { service: 'api', status: 'succeeded' },
          { service: 'api', status: 'succeeded' },
          { service: 'api', status: 'escalated' },
          { service: 'api', status: 'running' },
          { service: 'other', status: 'failed' },
        ],
      }),
    );
    assert.deepEqual(reliability.healing, { attempts: 5, succeeded: 3, failed: 1, successRate: 0.75 });
    assert.equal(serviceReliability(input()).healing.successRate, null);
  });

  it('takes the newest finished experiment against the service', () => {
    const reliability = serviceReliability(
      input({
        experiments: [
          journal({ id: 'r4', status: 'running', recoveryMs: null }),
          journal({ id: 'r3', status: 'completed', target: 'other' }),
          journal({
            id: 'r2',
            status: 'failed',
            recoveryMs: 2600,
            expectation: { recoveredWithinMs: 2000, met: false },
          }),
          journal({ id: 'r1', status: 'completed' }),
        ],
      }),
    );
    assert.equal(reliability.experimentsRun, 3);
    assert.deepEqual(reliability.lastExperiment, {
      id: 'r2',
      title: 'run r2',
      status: 'failed',
      startedAt: '2025-01-01T00:00:00.000Z',
      recoveryMs: 2600,
      recoveredWithinMs: 2000,
      met: false,
    });
  });
});

describe('targetChecks', () => {
  it('holds availability and error rate to the SLO, healing and MTTR to the report targets', () => {
    const checks = targetChecks(
      serviceReliability(
        input({
          attempts: [{ service: 'api', status: 'succeeded' }],
          incidents: [{ service: 'api', status: 'resolved', openedAt: at(0), resolvedAt: at(10) }],
          experiments: [journal({ id: 'r1', status: 'completed' })],
        }),
      ),
    );
    const byMetric = Object.fromEntries(checks.map((check) => [check.metric, check]));
    assert.deepEqual(
      checks.map((check) => check.metric),
      [
        'availability',
        'error-budget',
        'error-rate',
        'healing-success-rate',
        'mttr',
        'mtbf',
        'experiment-recovery',
      ],
    );
    assert.deepEqual(byMetric.availability, {
      metric: 'availability',
      value: 0.995,
      target: 0.99,
      direction: 'gte',
      met: true,
    });
    assert.equal(byMetric['error-rate']!.target!.toFixed(4), '0.0100');
    assert.equal(byMetric['error-rate']!.met, false, '5% of the window failed, the SLO allows 1%');
    assert.equal(byMetric['healing-success-rate']!.target, REPORT_TARGETS.healingSuccessRate);
    assert.equal(byMetric['healing-success-rate']!.met, true);
    assert.equal(byMetric.mttr!.target, REPORT_TARGETS.mttrMs);
    assert.equal(byMetric.mttr!.met, false, '10 min against 5 min');
    assert.equal(byMetric.mtbf!.met, null, 'no target');
    assert.deepEqual(
      [
        byMetric['experiment-recovery']!.value,
        byMetric['experiment-recovery']!.target,
        byMetric['experiment-recovery']!.met,
      ],
      [400, 2000, true],
    );
  });

  it('has no verdict without an SLO, or without a measurement', () => {
    const checks = targetChecks(serviceReliability(input({ slo: null, hasGateway: false })));
    for (const check of checks) assert.equal(check.met, null, check.metric);
    assert.equal(checks[0]!.target, null);
  });
});
