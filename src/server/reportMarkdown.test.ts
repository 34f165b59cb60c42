// The reliability report rendered from hand-built data: every section, the experiments and their
// issues, the metrics against targets, the risks the rules find, and the runbook's exact commands.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Journal } from '../chaos/index.ts';
import type { ServiceReliabilityView, ServiceView } from '../healing/index.ts';
import { serviceReliability } from './reliabilityMetrics.ts';
import type { ReportData, ServiceReport, ServiceSummary } from './reportData.ts';
import { issuesOf, RECOVERY_CHART, renderReport } from './reportMarkdown.ts';

const link = { chartLink: (file: string) => `charts/${file}` };

function journal(patch: Partial<Journal> & Pick<Journal, 'id' | 'title' | 'status'>): Journal {
  return {
    target: 'api',
    reason: null,
    startedAt: '2025-03-01T10:00:00.000Z',
    endedAt: '2025-03-01T10:00:05.000Z',
    steadyStateBefore: {
      met: true,
      probes: [{ name: 'GET / expects 200', met: true, output: { status: 200 } }],
    },
    steadyStateAfter: {
      met: true,
      probes: [{ name: 'GET / expects 200', met: true, output: { status: 200 } }],
    },
    activities: [],
    rollbacks: [],
    recoveryMs: 412,
    expectation: { recoveredWithinMs: 2000, met: true },
    ...patch,
  };
}

function summary(patch: Partial<ServiceSummary> = {}): ServiceSummary {
  return {
    command: 'node api.js',
    replicas: { count: 2, min: 1, max: 4 },
    gateway: { host: '127.0.0.1', port: 9100, balance: 'least-loaded', timeoutMs: 30_000 },
    health: { probe: 'http', path: '/health', intervalMs: 1000, failureThreshold: 3 },
    restart: { backoff: { initialMs: 100, factor: 2, maxMs: 300_000 }, maxRestarts: 5, windowMs: 600_000 },
    dependsOn: [],
    fallback: { status: 200 },
    breaker: { trip: { kind: 'rate', windowMs: 10_000, minimumCalls: 20, failureRate: 0.5 }, openMs: 5000 },
    failover: null,
    slo: { target: 0.99, windowDays: 30 },
    ...patch,
  };
}

function view(name: string, patch: Partial<ServiceView> = {}): ServiceView {
  return {
    name,
    state: 'healthy',
    replicas: [
      { id: 'r1', pid: 101, port: 4001, state: 'healthy', restarts: 1, startedAt: null, revision: 1 },
      { id: 'r2', pid: 102, port: 4002, state: 'healthy', restarts: 0, startedAt: null, revision: 1 },
    ],
    metrics: { requests_total: 1000, errors_total: 5, requests: 40, errors: 0, error_rate: 0, inflight: 1 },
    gateway: { host: '127.0.0.1', port: 9100, breaker: false, fallback: false, failover: null },
    dependsOn: [],
    revision: 1,
    autoscale: null,
    ...patch,
  };
}

/**
 * A service's figures over its SLO window as `ControlPlane.reliability()` gives them: by default
 * 1000 responses, 5 failed (99.5%, half the budget of a 99% SLO), and one incident resolved in 90 s.
 */
function window(
  slo: ServiceSummary['slo'],
  patch: Partial<ServiceReliabilityView> = {},
): ServiceReliabilityView {
  return {
    availability: 0.995,
    mttrMs: 90_000,
    mtbfMs: null,
    errorBudgetRemaining: slo === null ? null : 0.5,
    burnRate: { '1h': null, '6h': null },
    alerts: { fast: false, slow: false },
    slo,
    requests: 1000,
    errors: 5,
    incidents: 1,
    resolvedIncidents: 1,
    ...patch,
  };
}

function service(
  name: string,
  data: Pick<ReportData, 'incidents' | 'experiments' | 'healing'>,
  config: ServiceSummary,
  live: ServiceView,
  figures: ServiceReliabilityView,
): ServiceReport {
  return {
    name,
    config,
    view: live,
    reliability: serviceReliability({
      name,
      metrics: live.metrics,
      hasGateway: live.gateway !== null,
      attempts: data.healing.attempts,
      experiments: data.experiments,
      window: figures,
    }),
  };
}

/** Two services: `api`, well set up, whose newest experiment failed; `worker`, one replica and no SLO. */
function sampleData(): ReportData {
  const base: Pick<ReportData, 'incidents' | 'experiments' | 'healing'> = {
    experiments: [
      journal({
        id: 'run-2',
        title: 'Latency | at the gateway\nfor 10 s',
        status: 'failed',
        startedAt: '2025-03-01T11:00:00.000Z',
        recoveryMs: 2600,
        reason: 'recovered in 2600 ms, expected within 2000 ms',
        expectation: { recoveredWithinMs: 2000, met: false },
      }),
      journal({ id: 'run-1', title: 'A killed replica is replaced within 2 s', status: 'completed' }),
    ],
    incidents: [
      {
        id: 'inc-1',
        service: 'api',
        status: 'resolved',
        severity: 'high',
        title: 'api is unhealthy',
        openedAt: '2025-03-01T09:00:00.000Z',
        acknowledgedAt: null,
        resolvedAt: '2025-03-01T09:01:30.000Z',
      },
    ],
    healing: {
      stats: { attempts: 2, succeeded: 2, failed: 0, successRate: 1, meanRecoveryMs: 96, escalations: 0 },
      attempts: [],
    },
  };
  const workerConfig = summary({
    command: 'node worker.js',
    replicas: { count: 1, min: 1, max: 2 },
    gateway: null,
    health: { probe: 'tcp', path: null, intervalMs: 1000, failureThreshold: 3 },
    fallback: null,
    slo: null,
  });
  return {
    generatedAt: '2025-03-01T12:00:00.000Z',
    version: '0.1.0',
    configSource: 'rebound.yaml',
    storeScheme: 'sqlite',
    apiUrl: 'http://127.0.0.1:8080',
    tokenRequired: true,
    ...base,
    services: [
      service('api', base, summary(), view('api'), window(summary().slo)),
      service(
        'worker',
        base,
        workerConfig,
        view('worker', { gateway: null, metrics: {}, replicas: [] }),
        window(null, {
          availability: null,
          mttrMs: null,
          requests: 0,
          errors: 0,
          incidents: 0,
          resolvedIncidents: 0,
        }),
      ),
    ],
    breakers: {
      aggregate: {
        totalCircuits: 0,
        openCircuits: 0,
        halfOpenCircuits: 0,
        closedCircuits: 0,
        isolatedCircuits: 0,
        averageHealth: 100,
        overallHealth: 100,
      },
      kinds: {},
    },
    policies: [
      {
        name: 'Critical Latency Spike',
        description: null,
        services: ['api'],
        when: ['latency_p99 > 500'],
        do: ['enable-circuit-breaker', 'alert-oncall'],
        priority: 10,
        cooldownMs: 60_000,
        enabled: true,
      },
    ],
    escalation: [{ name: 'pager', format: 'pagerduty', minSeverity: 'high' }],
  };
}

/** The lines of the Markdown table right after `heading` (its header first). */
function tableAfter(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(heading);
  assert.ok(start >= 0, `no ${heading}`);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
}

/** Cells of a table line, split at the `|` that are not escaped. */
function cells(line: string): string[] {
  return line
    .slice(2, -2)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

describe('renderReport', () => {
  it('has every section, in the order reliability teams write them', () => {
    const { markdown } = renderReport(sampleData(), link);
    const headings = markdown.split('\n').filter((line) => line.startsWith('#'));
    assert.deepEqual(headings, [
      '# Reliability report',
      '## Summary',
      '## Experiments run',
      '## Patterns in place',
      '### Circuit breakers',
      '### Retries',
      '### Fallbacks',
      '### Checkpointing',
      '### Bulkheads',
      '## Metrics against targets',
      '### api',
      '### worker',
      '## Remaining risks',
      '## Runbook',
      '### api',
      '### worker',
    ]);
    assert.match(markdown, /^Generated 2025-03-01 12:00:00Z by rebound 0\.1\.0 from `rebound\.yaml`\.$/m);
    assert.match(
      markdown,
      /rebound supervises 2 services; 2 are healthy now\. 2 chaos experiments ran: 1 completed, 1 failed, 0 aborted\./,
    );
    assert.deepEqual(cells(tableAfter(markdown, '## Summary')[3]!), [
      'Experiments run',
      '2: 1 completed, 1 failed, 0 aborted, 0 interrupted',
    ]);
  });

  it('lists each experiment: hypothesis, recovery against the expectation, issues found', () => {
    const { markdown } = renderReport(sampleData(), link);
    const rows = tableAfter(markdown, '## Experiments run');
    assert.deepEqual(cells(rows[0]!), [
      'Started',
      'Experiment',
      'Target',
      'Status',
      'Hypothesis confirmed',
      'Recovery (expected)',
      'Issues found',
    ]);
    assert.deepEqual(cells(rows[2]!), [
      '2025-03-01 11:00:00Z',
      'Latency \\| at the gateway for 10 s',
      'api',
      'failed',
      '✅ yes',
      '2.6 s (≤ 2 s) ❌',
      'recovered in 2600 ms, expected within 2000 ms',
    ]);
    assert.deepEqual(cells(rows[3]!), [
      '2025-03-01 10:00:00Z',
      'A killed replica is replaced within 2 s',
      'api',
      'completed',
      '✅ yes',
      '412 ms (≤ 2 s) ✅',
      'none',
    ]);
    assert.ok(markdown.includes(`![${RECOVERY_CHART.title}](charts/recovery-times.svg)`));
  });

  it('escapes | and line breaks in table cells, so every row keeps its columns', () => {
    const { markdown } = renderReport(sampleData(), link);
    for (const heading of ['## Experiments run', '### Fallbacks', '### api']) {
      const rows = tableAfter(markdown, heading);
      const widths = new Set(rows.map((row) => cells(row).length));
      assert.equal(widths.size, 1, `${heading}: ${rows.join('\n')}`);
    }
    assert.ok(!markdown.includes('Latency | at'), 'the raw | is escaped');
  });

  it('shows each metric against its target, with ✅, ❌ or — and "no SLO set"', () => {
    const { markdown } = renderReport(sampleData(), link);
    const api = tableAfter(markdown, '## Metrics against targets').map(cells);
    assert.deepEqual(api[2], ['Availability (30-day SLO window)', '99.5% of 1,000 responses', '≥ 99%', '✅']);
    assert.deepEqual(api[3], ['Error budget remaining', '50%', '≥ 0%', '✅']);
    assert.deepEqual(api[4], ['Error rate (gateway window)', '0% of 40 requests', '≤ 1%', '✅']);
    assert.deepEqual(api[6], [
      'MTTR (mean time to resolve)',
      '1 min 30 s (1 resolved incident)',
      '≤ 5 min',
      '✅',
    ]);
    assert.deepEqual(api[8], ['Recovery in its last experiment', '2.6 s', '≤ 2 s', '❌']);
    const workerRows = tableAfter(markdown, '### worker').map(cells);
    assert.deepEqual(workerRows[2], ['Availability (30-day SLO window)', 'no gateway', 'no SLO set', '—']);
    assert.match(markdown, /\*\*over the service's SLO window\*\*/);
  });

  it('labels availability with its SLO window when the control plane recorded one', () => {
    const data = sampleData();
    const api = data.services[0]!;
    // 2000 responses in the 7-day window, 2 failed: 1 − 2/2000 = 99.9%, against the 99% SLO.
    api.reliability = serviceReliability({
      name: api.name,
      metrics: api.view.metrics,
      hasGateway: true,
      attempts: data.healing.attempts,
      experiments: data.experiments,
      window: window(
        { target: 0.99, windowDays: 7 },
        {
          availability: 0.999,
          mttrMs: null,
          errorBudgetRemaining: 0.9,
          burnRate: { '1h': 0.1, '6h': 0.1 },
          requests: 2000,
          errors: 2,
          incidents: 0,
          resolvedIncidents: 0,
        },
      ),
    });
    const { markdown } = renderReport(data, link);
    const rows = tableAfter(markdown, '## Metrics against targets').map(cells);
    assert.deepEqual(rows[2], ['Availability (7-day SLO window)', '99.9% of 2,000 responses', '≥ 99%', '✅']);
  });

  it('finds the risks in the data: a failed experiment, a single replica, no SLO, no HTTP probe', () => {
    const { markdown } = renderReport(sampleData(), link);
    const risks = markdown
      .slice(markdown.indexOf('## Remaining risks'), markdown.indexOf('## Runbook'))
      .split('\n')
      .filter((line) => line.startsWith('- '));
    const titles = risks.map((line) => /^- \*\*([^*]+)\.\*\*/.exec(line)?.[1]);
    assert.deepEqual(titles, [
      'api: its last experiment failed',
      'worker: no experiment has run against it',
      'worker: single replica',
      'worker: no HTTP health probe',
      'worker: no gateway',
      'worker: no SLO set',
      'worker: no healing policy watches it',
    ]);
    assert.match(
      risks[0]!,
      /Latency \\\| at the gateway for 10 s.*recovered in 2600 ms, expected within 2000 ms/,
    );
    assert.ok(
      risks.every((line) => line.includes('*Suggestion:*')),
      'every risk says what to do',
    );
  });

  it('flags open incidents, open breakers, a missing escalation and a memory store', () => {
    const data = sampleData();
    data.incidents.unshift({
      id: 'inc-2',
      service: 'api',
      status: 'open',
      severity: 'critical',
      title: 'api has no healthy replica',
      openedAt: '2025-03-01T11:59:00.000Z',
      resolvedAt: null,
      acknowledgedAt: null,
    });
    data.breakers.kinds.gateway = {
      api: {
        state: 'open',
        healthPercent: 10,
        totalSuccesses: 1,
        totalFailures: 9,
        tripCount: 2,
        retryAfterMs: 1000,
      },
    };
    data.escalation = [];
    data.storeScheme = 'memory';
    data.services[0]!.view.state = 'critical';
    const { markdown } = renderReport(data, link);
    for (const risk of [
      '**api: critical: its restart budget is spent.**',
      '**api: an incident is unresolved (open).**',
      '**api: its gateway breaker is open.**',
      '**rebound: no escalation configured.**',
      '**rebound: nothing outlives rebound up.**',
    ]) {
      assert.ok(markdown.includes(risk), risk);
    }
    assert.match(markdown, /kept \*\*in memory only\*\*/);
  });

  it('writes a runbook per service with the exact commands, and never a token', () => {
    const { markdown } = renderReport(sampleData(), link);
    const api = markdown.slice(markdown.indexOf('## Runbook'));
    assert.match(
      api,
      /^rebound restart api --url http:\/\/127\.0\.0\.1:8080 +# restart its replicas one at a time$/m,
    );
    assert.ok(
      api.includes(
        `curl -X POST http://127.0.0.1:8080/api/services/api/scale -H "Authorization: Bearer $REBOUND_TOKEN" -H 'content-type: application/json' -d '{"replicas": 3}'`,
      ),
    );
    assert.match(
      api,
      /^rebound chaos stop --url http:\/\/127\.0\.0\.1:8080 +# remove every chaos fault at once$/m,
    );
    assert.ok(
      api.includes(
        'curl -X POST http://127.0.0.1:8080/api/circuit-breakers/gateway/api/reset -H "Authorization: Bearer $REBOUND_TOKEN"\n',
      ),
    );
    assert.ok(!api.includes('circuit-breakers/gateway/worker'), 'worker has no gateway, so no breaker');
    assert.match(
      api,
      /Policy "Critical Latency Spike" \(priority 10\): when latency_p99 > 500 → enable-circuit-breaker, alert-oncall/,
    );
    assert.match(
      api,
      /"A killed replica is replaced within 2 s": last run 2025-03-01 10:00:00Z completed, recovered in 412 ms \(expected within 2 s\)/,
    );
    assert.match(api, /\*\*Who gets paged\.\*\* "pager" \(pagerduty, incidents of severity high and above\)/);
    assert.match(
      api,
      /### worker\n\n\*\*What it is\.\*\* `node worker\.js`, 1 replica \(min 1, max 2\); it has no gateway/,
    );
  });

  it('describes the patterns with their settings, and says "none configured" where there is none', () => {
    const { markdown } = renderReport(sampleData(), link);
    const breakers = tableAfter(markdown, '### Circuit breakers').map(cells);
    assert.deepEqual(breakers[2], [
      'api',
      'failure rate ≥ 50% over 10 s (at least 20 calls)',
      '5 s',
      'off until "Critical Latency Spike" enables it',
      'not created yet',
    ]);
    const fallbacks = tableAfter(markdown, '### Fallbacks').map(cells);
    assert.deepEqual(fallbacks[3], ['worker', 'none configured', 'none configured', 'none', '—']);
    assert.match(markdown, /No bulkhead \(a limit on concurrent requests\) is configured/);
    assert.match(markdown, /written to the \*\*sqlite\*\* store/);
  });

  it('is the same Markdown and charts for the same data; the charts link as chartLink says', () => {
    const first = renderReport(sampleData(), link);
    assert.deepEqual(renderReport(sampleData(), link), first);
    assert.deepEqual(
      first.charts.map((chart) => chart.file),
      ['recovery-times.svg', 'incident-resolution.svg'],
    );
    const recovery = first.charts[0]!.svg;
    assert.equal((recovery.match(/<rect class="bar"/g) ?? []).length, 2, 'a bar per finished run');
    assert.equal((recovery.match(/<line class="limit"/g) ?? []).length, 2, 'a marker per expectation');
    const inline = renderReport(sampleData(), { chartLink: (_file, svg) => `data:${svg.length}` });
    assert.ok(inline.markdown.includes(`](data:${recovery.length})`));
  });
});

describe('issuesOf', () => {
  it('is the reason, else the probes that did not hold, else none', () => {
    assert.equal(
      issuesOf(journal({ id: 'a', title: 't', status: 'aborted', reason: 'guard tripped' })),
      'guard tripped',
    );
    const unmet = journal({
      id: 'b',
      title: 't',
      status: 'failed',
      steadyStateAfter: {
        met: false,
        probes: [{ name: 'latency_p99 < 200', met: false, output: { value: 900 } }],
      },
    });
    assert.equal(issuesOf(unmet), 'steady state not met: latency_p99 < 200');
    assert.equal(issuesOf(journal({ id: 'c', title: 't', status: 'completed' })), 'none');
  });
});
