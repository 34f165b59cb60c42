// The report's "Runbook": per service, what it is, how it heals itself, what to do by hand (the
// exact commands), how to verify it, and who gets paged. Names only: never a URL, key or token.

import type { ReportData, ServiceReport } from './reportData.ts';
import { code, formatDuration, formatTime, inline, plural } from './reportFormat.ts';
import { watches } from './reportRisks.ts';

export function runbookSection(data: ReportData): string {
  if (data.services.length === 0) return '## Runbook\n\nNo service is configured.';
  return ['## Runbook', ...data.services.map((service) => serviceRunbook(data, service))].join('\n\n');
}

function serviceRunbook(data: ReportData, service: ServiceReport): string {
  return [
    `### ${service.name}`,
    `**What it is.** ${whatItIs(service)}`,
    `**How it heals itself.**\n\n${healing(data, service)}`,
    `**What to do by hand.**\n\n${byHand(data, service)}`,
    `**How to verify.** ${verify(data, service)}`,
    `**Who gets paged.** ${paged(data, service)}`,
  ].join('\n\n');
}

function whatItIs({ config, view }: ServiceReport): string {
  const { count, min, max } = config.replicas;
  const healthy = view.replicas.filter((replica) => replica.state === 'healthy').length;
  const gateway = config.gateway
    ? `clients reach it through its gateway at ${config.gateway.host.includes(':') ? `[${config.gateway.host}]` : config.gateway.host}:${config.gateway.port}`
    : 'it has no gateway: clients reach its replicas directly';
  const probe =
    config.health.probe === 'http'
      ? `an HTTP probe of ${code(config.health.path ?? '/')}`
      : `a ${config.health.probe} probe`;
  const depends =
    config.dependsOn.length === 0 ? '' : ` It depends on ${config.dependsOn.map(inline).join(', ')}.`;
  return (
    `${code(config.command)}, ${plural(count, 'replica')} (min ${min}, max ${max}); ${gateway}. ` +
    `Health: ${probe} every ${formatDuration(config.health.intervalMs)}, unhealthy after ${plural(config.health.failureThreshold, 'miss', 'misses')} in a row.${depends} ` +
    `Now: ${view.state}, ${healthy} of ${view.replicas.length} replicas healthy.`
  );
}

function healing(data: ReportData, { name, config, view, reliability }: ServiceReport): string {
  const { backoff, maxRestarts, windowMs } = config.restart;
  const restarts = view.replicas.reduce((sum, replica) => sum + replica.restarts, 0);
  const lines = [
    `- The supervisor restarts a replica that exits or misses ${config.health.failureThreshold} probes, after ${formatDuration(backoff.initialMs)} (×${backoff.factor} each time, up to ${formatDuration(backoff.maxMs)}); more than ${plural(maxRestarts, 'restart')} within ${formatDuration(windowMs)} make the service critical. Restarts of its current replicas so far: ${restarts}.`,
  ];
  const policies = data.policies
    .filter((policy) => watches(policy, name))
    .sort((a, b) => b.priority - a.priority);
  for (const policy of policies) {
    lines.push(
      `- Policy "${inline(policy.name)}" (priority ${policy.priority}): when ${policy.when.map(inline).join(' and ')} → ${policy.do.map(inline).join(', ')} (cooldown ${formatDuration(policy.cooldownMs)}).`,
    );
  }
  if (policies.length === 0) lines.push('- No healing policy watches it.');
  const { attempts, succeeded, failed } = reliability.healing;
  const last = data.healing.attempts.find((attempt) => attempt.service === name);
  lines.push(
    attempts === 0
      ? '- No healing attempt is recorded for it.'
      : `- Recorded: ${plural(attempts, 'healing attempt')} (${succeeded} succeeded, ${failed} failed); the last, ${formatTime(last!.startedAt)}: ${inline(last!.outcome)}.`,
  );
  return lines.join('\n');
}

function byHand(data: ReportData, { name, config }: ServiceReport): string {
  const url = data.apiUrl;
  const auth = data.tokenRequired ? ' -H "Authorization: Bearer $REBOUND_TOKEN"' : '';
  const replicas = Math.min(config.replicas.count + 1, config.replicas.max);
  const commented: [string, string][] = [
    [`rebound status --url ${url}`, 'state, replicas, latency and errors of every service'],
    [`rebound restart ${name} --url ${url}`, 'restart its replicas one at a time'],
    [`rebound chaos stop --url ${url}`, 'remove every chaos fault at once'],
  ];
  const width = Math.max(...commented.map(([command]) => command.length));
  const lines = [
    '```sh',
    ...commented.map(([command, comment]) => `${command.padEnd(width)}  # ${comment}`),
    `curl -X POST ${url}/api/services/${name}/scale${auth} -H 'content-type: application/json' -d '{"replicas": ${replicas}}'`,
    ...(config.gateway ? [`curl -X POST ${url}/api/circuit-breakers/gateway/${name}/reset${auth}`] : []),
    '```',
  ];
  const notes = [
    `The first \`curl\` scales it to ${replicas} replicas (from ${config.replicas.min} to ${config.replicas.max} are allowed)${config.gateway ? '; the second closes its gateway breaker' : ''}.`,
    ...(data.tokenRequired ? ['The API needs its token: set `REBOUND_TOKEN`.'] : []),
  ];
  return `${lines.join('\n')}\n\n${notes.join(' ')}`;
}

function verify(data: ReportData, { name }: ServiceReport): string {
  const runs = data.experiments.filter((run) => run.target === name && run.status !== 'running');
  if (runs.length === 0) {
    return `No experiment has run against it yet: write one with \`target: ${name}\` and run it with \`rebound chaos run FILE\` (see docs/chaos.md). Meanwhile \`rebound status\` shows whether it is healthy.`;
  }
  const latest = new Map<string, (typeof runs)[number]>();
  for (const run of runs) if (!latest.has(run.title)) latest.set(run.title, run);
  const lines = [...latest.values()].map((run) => {
    const recovery =
      run.recoveryMs === null
        ? 'no recovery measured'
        : `recovered in ${formatDuration(run.recoveryMs)}${run.expectation.recoveredWithinMs === null ? '' : ` (expected within ${formatDuration(run.expectation.recoveredWithinMs)})`}`;
    return `- "${inline(run.title)}": last run ${formatTime(run.startedAt)} ${run.status}, ${recovery}.`;
  });
  return `Run again the experiments that prove its healing (\`rebound chaos run FILE\`); each must end completed:\n\n${lines.join('\n')}`;
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function paged(data: ReportData, { name }: ServiceReport): string {
  if (data.escalation.length === 0) return 'Nobody: no escalation target is configured.';
  const targets = data.escalation.map((target, index) => {
    const severity =
      target.minSeverity === 'low'
        ? 'every incident'
        : `incidents of severity ${target.minSeverity} and above`;
    return `${target.name === null ? `escalation target ${index + 1}` : `"${inline(target.name)}"`} (${target.format}, ${severity})`;
  });
  const alerting = data.policies
    .filter((policy) => watches(policy, name) && policy.do.includes('alert-oncall'))
    .map((policy) => `"${inline(policy.name)}"`);
  return `${sentence(targets.join('; '))}: when its healing fails and the incident escalates${alerting.length === 0 ? '' : `, and when ${alerting.join(' or ')} runs \`alert-oncall\``}.`;
}
