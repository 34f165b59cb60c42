// The report's "Patterns in place": circuit breakers, retries, fallbacks, checkpointing and
// bulkheads, each with the settings that are really in effect, and "none configured" when not.

import { ESCALATION_DEFAULTS } from '../healing/index.ts';
import type { CircuitTripOptions } from '../policies/index.ts';
import type { ReportData, ServiceReport } from './reportData.ts';
import { formatCount, formatDuration, formatPercent, inline, plural, table } from './reportFormat.ts';
import { watches } from './reportRisks.ts';

export function patternsSection(data: ReportData): string {
  return [
    '## Patterns in place',
    breakers(data),
    retries(data),
    fallbacks(data),
    checkpointing(data),
    bulkheads(data),
  ].join('\n\n');
}

function breakers(data: ReportData): string {
  const rows = data.services.map((service) => {
    const { name, config, view } = service;
    if (!config.gateway) return [name, 'no gateway', '—', '—', '—'];
    const state = data.breakers.kinds.gateway?.[name]?.state;
    return [
      name,
      describeTrip(config.breaker.trip),
      formatDuration(config.breaker.openMs),
      view.gateway?.breaker ? 'enabled' : armedBy(data, service, 'enable-circuit-breaker'),
      state ?? 'not created yet',
    ];
  });
  const gatewayNames = new Set(data.services.map((service) => service.name));
  const others = Object.entries(data.breakers.kinds).flatMap(([kind, circuits]) =>
    Object.entries(circuits)
      .filter(([name]) => kind !== 'gateway' || !gatewayNames.has(name))
      .map(([name, circuit]) => [
        inline(kind),
        inline(name),
        circuit.state,
        `${Math.round(circuit.healthPercent)}%`,
        formatCount(circuit.tripCount),
      ]),
  );
  return [
    '### Circuit breakers',
    "Each gateway has a breaker with the service's `breaker` settings; the `enable-circuit-breaker` action puts it in front of the replicas.",
    table(['Service', 'Trips on', 'Open for', 'In use', 'State'], rows),
    others.length === 0
      ? 'No other breaker is registered.'
      : `Other breakers in the registry (e.g. one per escalation target):\n\n${table(['Kind', 'Name', 'State', 'Health', 'Trips'], others)}`,
  ].join('\n\n');
}

function retries(data: ReportData): string {
  const rows = data.services.map(({ name, config }) => {
    const { backoff, maxRestarts, windowMs } = config.restart;
    return [
      name,
      `from ${formatDuration(backoff.initialMs)}, ×${backoff.factor} each time, up to ${formatDuration(backoff.maxMs)}`,
      `${plural(maxRestarts, 'restart')} within ${formatDuration(windowMs)}, then critical`,
      config.gateway
        ? 'once, on another replica, when the connection failed before any byte of the answer'
        : 'no gateway',
    ];
  });
  const { retry, breaker } = ESCALATION_DEFAULTS;
  const pages =
    data.escalation.length === 0
      ? 'No escalation target is configured, so no page is sent or retried.'
      : `Pages to the ${plural(data.escalation.length, 'escalation target')} are stored before they are sent and retried with exponential backoff and jitter from ${formatDuration(retry.initialMs)} to ${formatDuration(retry.maxMs)} until delivered, behind a breaker per target (${breaker.failures} failures in a row open it for ${formatDuration(breaker.openMs)}).`;
  return [
    '### Retries',
    'The supervisor restarts a replica that crashed or hung with exponential backoff; the gateway retries a request once when it can do so safely (idempotent, or never sent).',
    table(['Service', 'Restart backoff', 'Restart budget', 'Gateway retry'], rows),
    pages,
  ].join('\n\n');
}

function fallbacks(data: ReportData): string {
  const rows = data.services.map((service) => {
    const { name, config, view } = service;
    const now = view.gateway?.failover
      ? `failed over to ${inline(view.gateway.failover)}`
      : view.gateway?.fallback
        ? 'answering with the fallback'
        : config.gateway
          ? 'served by its replicas'
          : '—';
    const users = data.policies
      .filter(
        (policy) =>
          watches(policy, name) &&
          policy.do.some((action) => action === 'fallback-mode' || action === 'failover'),
      )
      .map((policy) => inline(policy.name));
    return [
      name,
      config.fallback ? `status ${config.fallback.status}` : 'none configured',
      config.failover ? inline(config.failover) : 'none configured',
      users.length === 0 ? 'none' : users.join(', '),
      now,
    ];
  });
  return [
    '### Fallbacks',
    'A fallback is the answer the gateway gives in fallback mode or while its breaker is open; failover sends the traffic to another service.',
    table(['Service', 'Fallback answer', 'Failover target', 'Policies using them', 'Now'], rows),
  ].join('\n\n');
}

function checkpointing(data: ReportData): string {
  const counts = `this report read ${plural(data.experiments.length, 'chaos journal')}, ${plural(data.healing.attempts.length, 'healing attempt')} and ${plural(data.incidents.length, 'incident')}`;
  const where =
    data.storeScheme === 'memory'
      ? `Chaos journals, healing attempts, incidents and pages are kept **in memory only** (\`memory:\` store): they are lost when rebound up stops (${counts}).`
      : `Chaos journals, healing attempts, incidents and pages are written to the **${inline(data.storeScheme)}** store as they happen and survive a restart of rebound up (${counts}). At the next start, open incidents and pending pages are taken up again, and a chaos run a crash left running is marked interrupted.`;
  return ['### Checkpointing', where].join('\n\n');
}

function bulkheads(data: ReportData): string {
  const rows = data.services
    .filter((service) => service.config.gateway)
    .map(({ name, config, view }) => [
      name,
      config.gateway!.balance,
      `${view.replicas.filter((replica) => replica.state === 'healthy').length} healthy of ${view.replicas.length}`,
      formatCount(view.metrics.inflight ?? 0),
      formatDuration(config.gateway!.timeoutMs),
      'none configured',
    ]);
  const text =
    'No bulkhead (a limit on concurrent requests) is configured at the gateways. Each request goes to one healthy replica as the service balances (`least-loaded`: the one with the fewest in flight; `round-robin`: in turn), and `gateway.timeoutMs` bounds how long it may wait for an answer.';
  return [
    '### Bulkheads',
    rows.length === 0
      ? 'None configured: no service has a gateway.'
      : `${text}\n\n${table(['Service', 'Balancing', 'Replicas', 'In flight now', 'Request timeout', 'Concurrency limit'], rows)}`,
  ].join('\n\n');
}

/** `failure rate ≥ 50% over 10 s (at least 20 calls)`. */
export function describeTrip(trip: CircuitTripOptions): string {
  switch (trip.kind) {
    case 'consecutive':
      return `${plural(trip.failures, 'failure')} in a row`;
    case 'window':
      return `${plural(trip.failures, 'failure')} within ${formatDuration(trip.windowMs)}`;
    case 'rate':
      return `failure rate ≥ ${formatPercent(trip.failureRate)} over ${formatDuration(trip.windowMs)} (at least ${plural(trip.minimumCalls, 'call')})`;
    case 'count':
      return `failure rate ≥ ${formatPercent(trip.failureRate)} of the last ${plural(trip.size, 'call')} (at least ${formatCount(trip.minimumCalls)})`;
  }
}

function armedBy(data: ReportData, service: ServiceReport, action: string): string {
  const names = data.policies
    .filter((policy) => watches(policy, service.name) && policy.do.includes(action))
    .map((policy) => `"${inline(policy.name)}"`);
  return names.length === 0 ? 'not used: no policy enables it' : `off until ${names.join(' or ')} enables it`;
}
