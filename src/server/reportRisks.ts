// The report's "Remaining risks": rules over the report's data, each risk with why it matters and
// what to do about it. Nothing is guessed: a rule fires only on what the data shows.

import type { PolicyView } from '../healing/index.ts';
import type { ReportData, ServiceReport } from './reportData.ts';
import { formatDuration, formatPercent, formatTime, inline } from './reportFormat.ts';
import { targetChecks, type TargetCheck } from './reliabilityMetrics.ts';

export interface Risk {
  /** The service it concerns; null for the whole control plane. */
  service: string | null;
  /** Short, e.g. "single replica". */
  title: string;
  why: string;
  suggestion: string;
}

/** Every risk the rules find, service by service in config order, then those of the whole. */
export function findRisks(data: ReportData): Risk[] {
  const risks: Risk[] = [];
  for (const service of data.services) risks.push(...serviceRisks(data, service));

  for (const [kind, circuits] of Object.entries(data.breakers.kinds)) {
    for (const [name, circuit] of Object.entries(circuits)) {
      const ownGateway = kind === 'gateway' && data.services.some((service) => service.name === name);
      if (ownGateway || (circuit.state !== 'open' && circuit.state !== 'isolated')) continue;
      risks.push({
        service: null,
        title: `breaker ${kind}/${name} is ${circuit.state}`,
        why: `calls through it fail fast (health ${Math.round(circuit.healthPercent)}%, tripped ${circuit.tripCount} times).`,
        suggestion: `find out why its calls fail; \`rebound breakers\` shows it, \`POST /api/circuit-breakers/${kind}/${name}/reset\` closes it once they work.`,
      });
    }
  }
  if (data.escalation.length === 0) {
    risks.push({
      service: null,
      title: 'no escalation configured',
      why: 'when healing fails, nobody is paged: the incident only waits in `rebound incidents`.',
      suggestion:
        'add an `escalation:` target (a generic, PagerDuty or Slack webhook) and `alert-oncall` to the policies that matter.',
    });
  }
  if (data.storeScheme === 'memory') {
    risks.push({
      service: null,
      title: 'nothing outlives rebound up',
      why: 'the store is `memory:`: chaos journals, healing attempts, incidents and pending pages are lost when it stops.',
      suggestion: 'use `store: sqlite:.rebound/state.db` (the default) or a PostgreSQL URL.',
    });
  }
  return risks;
}

function serviceRisks(data: ReportData, service: ServiceReport): Risk[] {
  const { name, config, view, reliability } = service;
  const risks: Risk[] = [];
  const add = (title: string, why: string, suggestion: string) =>
    risks.push({ service: name, title, why, suggestion });

  if (view.state === 'critical') {
    add(
      'critical: its restart budget is spent',
      `it restarted more than ${config.restart.maxRestarts} times within ${formatDuration(config.restart.windowMs)}, so the supervisor stopped restarting it.`,
      `find the cause in \`rebound incidents\` and the healing log, fix it, then \`rebound restart ${name}\`.`,
    );
  } else if (view.state === 'unhealthy' || view.state === 'stopped') {
    add(
      `${view.state} now`,
      `${view.replicas.filter((replica) => replica.state === 'healthy').length} of ${view.replicas.length} replicas pass their probe.`,
      `check \`rebound status\`; \`rebound restart ${name}\` (or \`POST /api/services/${name}/start\` when stopped).`,
    );
  }
  const open = data.incidents.filter(
    (incident) => incident.service === name && incident.status !== 'resolved',
  );
  if (open.length > 0) {
    add(
      open.length === 1
        ? `an incident is unresolved (${open[0]!.status})`
        : `${open.length} incidents are unresolved`,
      `${open.map((incident) => `"${inline(incident.title)}" (${incident.severity}, since ${formatTime(incident.openedAt)})`).join('; ')}.`,
      'follow its timeline (`GET /api/incidents/:id`); an incident resolves once the service is healthy and quiet.',
    );
  }
  const breaker = data.breakers.kinds.gateway?.[name];
  if (breaker && (breaker.state === 'open' || breaker.state === 'isolated')) {
    add(
      `its gateway breaker is ${breaker.state}`,
      `requests get ${config.fallback ? 'the fallback answer' : '503 CIRCUIT_OPEN'} instead of a replica's.`,
      `once the replicas answer again, \`POST /api/circuit-breakers/gateway/${name}/reset\` closes it (its half-open trials also do).`,
    );
  }

  const last = reliability.lastExperiment;
  if (!last) {
    add(
      'no experiment has run against it',
      'its healing is untested: nobody knows how long a crash, a hang or a slow dependency takes to recover.',
      `run one, e.g. a killed replica with \`expect: { recoveredWithinMs: 2000 }\`: \`rebound chaos run FILE\` (target: ${name}).`,
    );
  } else if (last.status === 'failed' || last.status === 'aborted' || last.status === 'interrupted') {
    const journal = data.experiments.find((run) => run.id === last.id);
    add(
      `its last experiment ${last.status === 'interrupted' ? 'was interrupted' : last.status}`,
      `"${inline(last.title)}" (${formatTime(last.startedAt)}): ${inline(journal?.reason ?? 'no reason recorded')}.`,
      last.status === 'aborted' && journal?.reason?.startsWith('refused')
        ? 'run it again once the service is steady and no incident is open on it.'
        : 'find what kept it from recovering in time, fix it, and run the experiment again.',
    );
  }

  if (config.replicas.count <= 1) {
    add(
      'single replica',
      'a crash or a hang is an outage until the replica is replaced; a restart cannot be rolling.',
      'run two or more: `replicas: { count: 2 }` (the runbook below shows how to scale up now).',
    );
  }
  if (config.health.probe !== 'http') {
    add(
      'no HTTP health probe',
      `its ${config.health.probe} probe ${config.health.probe === 'tcp' ? 'passes while the process accepts connections, even if it answers nothing useful' : 'says only what its command checks'}.`,
      'probe an endpoint that exercises the service: `health: { http: { path: /health } }`.',
    );
  }
  if (!config.gateway) {
    add(
      'no gateway',
      'its traffic is not measured (no availability, no error rate) and it has no breaker, fallback or failover.',
      'give it a `gateway: { port: … }` and send its clients there.',
    );
  } else if (!config.fallback && !config.failover) {
    add(
      'no fallback or failover',
      'when its breaker opens or every replica is down, clients get a 503 and nothing else.',
      'configure `fallback: { status, body }` (a degraded answer) or `failover: { target: … }`.',
    );
  }
  if (!config.slo) {
    add(
      'no SLO set',
      'its availability and error rate have no target to be held to, so this report cannot say whether they are good enough.',
      'set `slo: { target: 0.999 }` (or whatever the service promises).',
    );
  }
  if (!data.policies.some((policy) => watches(policy, name))) {
    add(
      'no healing policy watches it',
      'only crashes and hangs are healed (by the supervisor); slow or failing answers are not.',
      'add a policy, e.g. `when: [{ metric: error_rate, op: gt, value: 0.2 }]`, `do: [restart-service, alert-oncall]`.',
    );
  }
  for (const check of targetChecks(reliability)) {
    if (check.met === false && check.metric !== 'experiment-recovery') add(...missedTarget(check));
  }
  return risks;
}

/** Whether a policy watches a service: one that names no service watches every one. */
export function watches(policy: PolicyView, service: string): boolean {
  return policy.enabled && (policy.services.length === 0 || policy.services.includes(service));
}

function missedTarget(check: TargetCheck): [string, string, string] {
  const value = check.value!;
  const target = check.target!;
  switch (check.metric) {
    case 'availability':
      return [
        'availability below its SLO',
        `${formatPercent(value)} of responses were below 500 over the SLO window; the SLO is ${formatPercent(target)}.`,
        'look at the incidents and the healing log for what failed; add replicas or a fallback.',
      ];
    case 'error-budget':
      return [
        'error budget spent',
        `the budget is overspent: ${formatPercent(value, 1)} of it remains.`,
        'freeze risky changes until the availability is back within the SLO.',
      ];
    case 'error-rate':
      return [
        'error rate above its SLO',
        `${formatPercent(value)} of the requests in the last window failed; the SLO allows ${formatPercent(target)}.`,
        'check `rebound status` and the replicas; a policy on `error_rate` heals this automatically.',
      ];
    case 'healing-success-rate':
      return [
        'healing often fails',
        `${formatPercent(value)} of finished healing attempts succeeded; the target is ${formatPercent(target)}.`,
        'read the failed attempts (`GET /api/healing?service=…`) and fix the policies or actions that fail.',
      ];
    case 'mttr':
      return [
        'incidents take long to resolve',
        `mean time to resolve ${formatDuration(value)}; the target is ${formatDuration(target)}.`,
        'let policies act sooner, or page someone earlier with `alert-oncall`.',
      ];
    default:
      return [`${check.metric} missed its target`, `${value} against ${target}.`, 'look into it.'];
  }
}
