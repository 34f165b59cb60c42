import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Journal } from '../chaos/index.ts';
import { DEFAULT_RELIABILITY_WINDOW_DAYS, type ServiceReliabilityView } from '../healing/index.ts';
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

/** The SLO window's figures as `ControlPlane.reliability()` gives them; 1000 responses, 5 failed. */
function window(patch: Partial<ServiceReliabilityView> = {}): ServiceReliabilityView {
  return {
    availability: 0.995,
    mttrMs: null,
    mtbfMs: null,
    errorBudgetRemaining: 0.5,
    burnRate: { '1h': null, '6h': null },
    alerts: { fast: false, slow: false },
    slo: { target: 0.99, windowDays: 30 },
    requests: 1000,
    errors: 5,
    incidents: 0,
    resolvedIncidents: 0,
    ...patch,
  };
}

function input(patch: Partial<ReliabilityInput> = {}): ReliabilityInput {
  return {
    name: 'api',
    metrics: { requests_total: 1000, errors_total: 5, requests: 40, errors: 2, error_rate: 0.05 },
    hasGateway: true,
    attempts: [],
    experiments: [],
    window: window(),
    ...patch,
  };
}

describe('serviceReliability', () => {
  it('takes availability, budget, MTTR, MTBF and the incidents they count from the SLO window', () => {
    // The window: 4000 responses, 8 failed: 1 − 8/4000 = 0.998; against 0.99: 1 − 0.002/0.01 = 0.8.
    // The gateway's counters since it started (1000 / 5) are not read.
    const reliability = serviceReliability(
      input({
        window: window({
          availability: 0.998,
          mttrMs: 60_000,
          mtbfMs: 3_600_000,
          errorBudgetRemaining: 0.8,
          burnRate: { '1h': 0.5, '6h': 0.25 },
          slo: { target: 0.99, windowDays: 7 },
          requests: 4000,
          errors: 8,
          incidents: 3,
          resolvedIncidents: 2,
        }),
      }),
    );
    assert.equal(reliability.windowDays, 7);
    assert.equal(reliability.requestsTotal, 4000);
    assert.equal(reliability.availability, 0.998);
    assert.ok(Math.abs(reliability.errorBudgetRemaining! - 0.8) < 1e-9);
    assert.deepEqual(reliability.slo, { target: 0.99, windowDays: 7 });
    assert.equal(reliability.mttrMs, 60_000);
    assert.equal(reliability.mtbfMs, 3_600_000);
    assert.equal(reliability.incidents, 3);
    assert.equal(reliability.resolvedIncidents, 2, 'what the MTTR is the mean of');
  });

  it("availability and the budget are the window's; the error rate is the gateway's window", () => {
    const reliability = serviceReliability(input());
    assert.equal(reliability.requestsTotal, 1000);
    assert.equal(reliability.availability, 0.995);
    assert.ok(Math.abs(reliability.errorBudgetRemaining! - 0.5) < 1e-9);
    assert.equal(reliability.errorRate, 0.05);
    assert.equal(reliability.windowRequests, 40);
  });

  it('a service without an SLO is measured over the default 30-day window', () => {
    const reliability = serviceReliability(
      input({ window: window({ slo: null, errorBudgetRemaining: null }) }),
    );
    assert.equal(reliability.windowDays, DEFAULT_RELIABILITY_WINDOW_DAYS);
    assert.equal(reliability.windowDays, 30);
  });

  it('measures nothing without a gateway, and no availability before the first request', () => {
    const none = serviceReliability(input({ hasGateway: false, metrics: { cpu_util: 0.3 } }));
    assert.equal(none.availability, null);
    assert.equal(none.requestsTotal, null);
    assert.equal(none.errorRate, null);
    assert.equal(none.errorBudgetRemaining, null);
    const idle = serviceReliability(
      input({
        metrics: { requests_total: 0, errors_total: 0, requests: 0, error_rate: 0 },
        window: window({ availability: null, errorBudgetRemaining: null, requests: 0, errors: 0 }),
      }),
    );
    assert.equal(idle.availability, null);
    assert.equal(idle.errorRate, null, 'an empty window has no error rate, not 0');
    assert.equal(idle.requestsTotal, 0);
  });

  it('has no error budget without an SLO', () => {
    const reliability = serviceReliability(
      input({ window: window({ slo: null, errorBudgetRemaining: null }) }),
    );
    assert.equal(reliability.availability, 0.995);
    assert.equal(reliability.errorBudgetRemaining, null);
    assert.equal(reliability.slo, null);
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
          window: window({ mttrMs: 10 * 60_000, incidents: 1, resolvedIncidents: 1 }),
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
    const checks = targetChecks(
      serviceReliability(
        input({ hasGateway: false, window: window({ slo: null, errorBudgetRemaining: null }) }),
      ),
    );
    for (const check of checks) assert.equal(check.met, null, check.metric);
    assert.equal(checks[0]!.target, null);
  });
});
