// The reliability report (SPEC 6) as Markdown, in the shape reliability teams write by hand:
// summary, experiments run, patterns in place, metrics against targets, remaining risks, and a
// runbook per service, with SVG charts of recovery times. Deterministic for given data.

import type { Journal } from '../chaos/index.ts';
import { REPORT_EXPERIMENTS_LIMIT, type ReportData, type ServiceReport } from './reportData.ts';
import {
  code,
  formatCount,
  formatDuration,
  formatPercent,
  formatTime,
  inline,
  plural,
  table,
  verdict,
} from './reportFormat.ts';
import { patternsSection } from './reportPatterns.ts';
import { findRisks, type Risk } from './reportRisks.ts';
import { runbookSection } from './reportRunbook.ts';
import { REPORT_TARGETS, type TargetCheck, targetChecks } from './reliabilityMetrics.ts';
import { barChart, type BarChartItem } from './svgCharts.ts';

export interface ReportChart {
  /** A file name, e.g. `recovery-times.svg`. */
  file: string;
  title: string;
  svg: string;
}

export interface RenderReportOptions {
  /** Where the Markdown finds a chart: a relative path, or a `data:` URL of the SVG itself. */
  chartLink(file: string, svg: string): string;
}

export interface RenderedReport {
  markdown: string;
  charts: ReportChart[];
}

/** Runs shown in the recovery chart: the newest ones. */
export const RECOVERY_CHART_RUNS = 20;

/** Axis steps that read well as durations: 1 2 5 ms … 500 ms, 1 2 5 10 15 30 s, 1 2 5 10 15 30 min, 1 h …. */
const DURATION_STEPS: readonly number[] = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
  600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

export const RECOVERY_CHART = Object.freeze({
  file: 'recovery-times.svg',
  title: 'Recovery time per experiment run',
});
export const RESOLUTION_CHART = Object.freeze({
  file: 'incident-resolution.svg',
  title: 'Time to resolve incidents per service',
});

export function renderReport(data: ReportData, options: RenderReportOptions): RenderedReport {
  const charts: ReportChart[] = [
    { ...RECOVERY_CHART, svg: recoveryChart(data.experiments) },
    { ...RESOLUTION_CHART, svg: resolutionChart(data.services) },
  ];
  const image = (chart: ReportChart) => `![${chart.title}](${options.chartLink(chart.file, chart.svg)})`;
  const risks = findRisks(data);
  const markdown = [
    '# Reliability report',
    `Generated ${formatTime(data.generatedAt)} by rebound ${inline(data.version)} from ${code(data.configSource)}.`,
    summarySection(data, risks),
    experimentsSection(data, image(charts[0]!)),
    patternsSection(data),
    metricsSection(data, image(charts[1]!)),
    risksSection(risks),
    runbookSection(data),
  ].join('\n\n');
  return { markdown: `${markdown}\n`, charts };
}

function summarySection(data: ReportData, risks: readonly Risk[]): string {
  const healthy = data.services.filter((service) => service.view.state === 'healthy');
  const unwell = data.services
    .filter((service) => service.view.state !== 'healthy')
    .map((service) => `${service.name} is ${service.view.state}`);
  const runs = countBy(data.experiments, (run) => run.status);
  const open = data.incidents.filter((incident) => incident.status !== 'resolved').length;
  const resolved = data.incidents.length - open;
  const { succeeded, failed } = data.healing.stats;
  const finished = succeeded + failed;
  const runText =
    data.experiments.length === 0
      ? 'No chaos experiment has run yet'
      : `${plural(data.experiments.length, 'chaos experiment')} ran: ${runs.completed ?? 0} completed, ${runs.failed ?? 0} failed, ${runs.aborted ?? 0} aborted`;
  const paragraph =
    `rebound supervises ${plural(data.services.length, 'service')}; ${healthy.length} ${healthy.length === 1 ? 'is' : 'are'} healthy now` +
    `${unwell.length === 0 ? '' : ` (${unwell.join(', ')})`}. ${runText}. ` +
    `${plural(open, 'incident')} ${open === 1 ? 'is' : 'are'} unresolved and ${resolved} resolved; ` +
    `${finished === 0 ? 'no healing attempt has finished yet' : `${succeeded} of ${plural(finished, 'finished healing attempt')} succeeded`}. ` +
    `The rules below find ${plural(risks.length, 'remaining risk')}.`;
  const figures = table(
    ['Figure', 'Value'],
    [
      ['Services', `${data.services.length} (${healthy.length} healthy)`],
      [
        'Experiments run',
        `${data.experiments.length}: ${runs.completed ?? 0} completed, ${runs.failed ?? 0} failed, ${runs.aborted ?? 0} aborted, ${runs.interrupted ?? 0} interrupted${runs.running ? `, ${runs.running} running` : ''}`,
      ],
      ['Incidents', `${open} unresolved, ${resolved} resolved`],
      [
        'Healing success rate',
        finished === 0
          ? 'no finished attempt'
          : `${formatPercent(data.healing.stats.successRate)} (${succeeded} of ${finished} finished attempts)`,
      ],
      ['Mean healing time', succeeded === 0 ? '—' : formatDuration(data.healing.stats.meanRecoveryMs)],
      ['Remaining risks', String(risks.length)],
    ],
  );
  return `## Summary\n\n${paragraph}\n\n${figures}`;
}

function experimentsSection(data: ReportData, image: string): string {
  if (data.experiments.length === 0) {
    return `## Experiments run\n\nNo chaos experiment has run yet: see docs/chaos.md and \`rebound chaos run FILE\`.\n\n${image}`;
  }
  const rows = data.experiments.map((run) => [
    formatTime(run.startedAt),
    inline(run.title),
    inline(run.target),
    run.status,
    hypothesis(run),
    recovery(run),
    inline(issuesOf(run)),
  ]);
  return [
    '## Experiments run',
    `Newest first${data.experiments.length >= REPORT_EXPERIMENTS_LIMIT ? ` (the newest ${REPORT_EXPERIMENTS_LIMIT})` : ''}. The hypothesis is confirmed when the steady state held again after the faults; recovery is timed from the end of the last fault until then.`,
    table(
      [
        'Started',
        'Experiment',
        'Target',
        'Status',
        'Hypothesis confirmed',
        'Recovery (expected)',
        'Issues found',
      ],
      rows,
    ),
    image,
  ].join('\n\n');
}

function hypothesis(run: Journal): string {
  const after = run.steadyStateAfter;
  if (after) return after.met ? '✅ yes' : '❌ no';
  return run.status === 'running' ? 'running' : '— not evaluated';
}

function recovery(run: Journal): string {
  const expected = run.expectation.recoveredWithinMs;
  const within = expected === null ? '' : ` (≤ ${formatDuration(expected)})`;
  if (run.recoveryMs === null) {
    if (run.status === 'running') return '—';
    return run.steadyStateAfter && !run.steadyStateAfter.met ? `not recovered${within} ❌` : `—${within}`;
  }
  return `${formatDuration(run.recoveryMs)}${within}${expected === null ? '' : ` ${verdict(run.expectation.met)}`}`;
}

/** What a run found wrong: its reason, the probes that did not hold, a missed expectation. */
export function issuesOf(run: Journal): string {
  if (run.reason) return run.reason;
  const unmet = [...(run.steadyStateBefore?.probes ?? []), ...(run.steadyStateAfter?.probes ?? [])]
    .filter((probe) => !probe.met)
    .map((probe) => probe.name);
  if (unmet.length > 0) return `steady state not met: ${[...new Set(unmet)].join(', ')}`;
  if (run.expectation.met === false) return 'recovery slower than expected';
  return run.status === 'running' ? '—' : 'none';
}

function metricsSection(data: ReportData, image: string): string {
  const intro =
    "Availability is the share of gateway responses below 500 **over the service's SLO window** (`slo.windowDays`, " +
    '30 days without an SLO; recorded per minute, so restarts of rebound up keep it; the faults experiments inject ' +
    'count too), MTTR and MTBF count the incidents opened in that window; ' +
    "the error rate is over the gateway's sliding window (10 s). Availability and error rate are held to the service's " +
    `\`slo.target\`; the healing success rate (≥ ${formatPercent(REPORT_TARGETS.healingSuccessRate)}) and MTTR ` +
    `(≤ ${formatDuration(REPORT_TARGETS.mttrMs)}) to rebound's defaults; an experiment's recovery to its \`expect.recoveredWithinMs\`.`;
  const services = data.services.map(
    (service) =>
      `### ${service.name}\n\n${table(
        ['Metric', 'Measured', 'Target', 'Met'],
        targetChecks(service.reliability).map((check) => metricRow(service, check)),
      )}`,
  );
  return ['## Metrics against targets', intro, ...services, image].join('\n\n');
}

function metricRow(service: ServiceReport, check: TargetCheck): string[] {
  const reliability = service.reliability;
  const noSlo = 'no SLO set';
  const hasGateway = service.config.gateway !== null;
  switch (check.metric) {
    case 'availability':
      return [
        `Availability (${reliability.windowDays}-day SLO window)`,
        !hasGateway
          ? 'no gateway'
          : check.value === null
            ? 'no traffic yet'
            : `${formatPercent(check.value)} of ${formatCount(reliability.requestsTotal!)} responses`,
        check.target === null ? noSlo : `≥ ${formatPercent(check.target)}`,
        verdict(check.met),
      ];
    case 'error-budget':
      return [
        'Error budget remaining',
        check.value === null
          ? '—'
          : check.value < 0
            ? `overspent (${formatPercent(check.value, 1)})`
            : formatPercent(check.value),
        check.target === null ? noSlo : '≥ 0%',
        verdict(check.met),
      ];
    case 'error-rate':
      return [
        'Error rate (gateway window)',
        !hasGateway
          ? 'no gateway'
          : check.value === null
            ? 'no request in the window'
            : `${formatPercent(check.value)} of ${formatCount(reliability.windowRequests ?? 0)} requests`,
        check.target === null ? noSlo : `≤ ${formatPercent(check.target)}`,
        verdict(check.met),
      ];
    case 'healing-success-rate':
      return [
        'Healing success rate',
        check.value === null
          ? 'no finished attempt'
          : `${formatPercent(check.value)} (${reliability.healing.succeeded} of ${reliability.healing.succeeded + reliability.healing.failed})`,
        `≥ ${formatPercent(check.target!)}`,
        verdict(check.met),
      ];
    case 'mttr':
      return [
        'MTTR (mean time to resolve)',
        check.value === null
          ? 'no resolved incident'
          : `${formatDuration(check.value)} (${plural(reliability.resolvedIncidents, 'resolved incident')})`,
        `≤ ${formatDuration(check.target!)}`,
        verdict(check.met),
      ];
    case 'mtbf':
      return [
        'MTBF (mean time between incidents)',
        check.value === null
          ? reliability.incidents === 0
            ? 'no incident'
            : '1 incident: too few'
          : `${formatDuration(check.value)} (${plural(reliability.incidents, 'incident')})`,
        '—',
        '—',
      ];
    case 'experiment-recovery': {
      const last = reliability.lastExperiment;
      return [
        'Recovery in its last experiment',
        !last
          ? 'no experiment run'
          : last.recoveryMs === null
            ? `not measured (${last.status})`
            : formatDuration(last.recoveryMs),
        last?.recoveredWithinMs == null ? 'no expectation' : `≤ ${formatDuration(last.recoveredWithinMs)}`,
        verdict(check.met),
      ];
    }
  }
}

function risksSection(risks: readonly Risk[]): string {
  if (risks.length === 0) return '## Remaining risks\n\nNone found by the rules rebound checks.';
  const lines = risks.map(
    (risk) =>
      `- **${risk.service === null ? 'rebound' : risk.service}: ${risk.title}.** ${sentence(risk.why)} *Suggestion:* ${risk.suggestion}`,
  );
  return `## Remaining risks\n\n${lines.join('\n')}`;
}

function recoveryChart(experiments: readonly Journal[]): string {
  const runs = experiments
    .filter((run) => run.status !== 'running')
    .slice(0, RECOVERY_CHART_RUNS)
    .reverse();
  const items: BarChartItem[] = runs.map((run) => ({
    label: `${formatTime(run.startedAt).slice(11, 19)} ${run.title}`,
    value: run.recoveryMs,
    limit: run.expectation.recoveredWithinMs,
    met: run.expectation.met ?? (run.status === 'completed' ? true : run.status === 'failed' ? false : null),
    note: run.steadyStateAfter && !run.steadyStateAfter.met ? 'not recovered' : `${run.status}: not measured`,
  }));
  return barChart({
    title: RECOVERY_CHART.title,
    items,
    formatValue: formatDuration,
    steps: DURATION_STEPS,
    limitLabel: 'expected',
    emptyText: 'no data: no experiment has run yet',
  });
}

function resolutionChart(services: readonly ServiceReport[]): string {
  const items: BarChartItem[] = services
    .filter((service) => service.reliability.incidents > 0)
    .map((service) => {
      const mttr = targetChecks(service.reliability).find((check) => check.metric === 'mttr')!;
      return {
        label: service.name,
        value: mttr.value,
        limit: mttr.target,
        met: mttr.met,
        note: 'no incident resolved yet',
      };
    });
  return barChart({
    title: RESOLUTION_CHART.title,
    items,
    formatValue: formatDuration,
    steps: DURATION_STEPS,
    limitLabel: 'target',
    emptyText: 'no data: no incident yet',
  });
}

/** The first letter in upper case. */
function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Partial<Record<string, number>> {
  const counts: Partial<Record<string, number>> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
