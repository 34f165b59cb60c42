// An honest in-memory ControlPlane for the API's and the CLI's tests: two services, a breaker
// registry, a healing log and an incident, and a record of every call that changes something.

import {
  type AlertmanagerPayload,
  type AttemptView,
  type ControlPlane,
  type ControllerView,
  ConfigError,
  ConflictError,
  type HealingStats,
  incidentSummary,
  type IncidentView,
  InvalidRequestError,
  type MetricsEvent,
  NotFoundError,
  parseConfig,
  type ReboundConfig,
  readMinutes,
  reliabilityOf,
  type ServiceView,
  UnknownServiceError,
} from '../../src/healing/index.ts';
import { chaosRuns, experimentScheduler, parseExperiment } from '../../src/chaos/index.ts';
import { BreakerRegistry, manualClock } from '../../src/policies/index.ts';

export const FAKE_CONFIG_YAML = `
server: { host: 127.0.0.1, port: 8080 }
services:
  payment-api:
    command: node service.js
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: 9100 }
    dependsOn: [database]
  database:
    command: node db.js
policies:
  - name: Critical Latency Spike
    services: [payment-api]
    when: [{ metric: latency_p99, op: gt, value: 500 }]
    do: [restart-service, alert-oncall]
    priority: 10
`;

/** The moment the fake's reliability figures are computed at. */
export const FAKE_NOW = Date.parse('2025-01-02T00:00:00.000Z');
export const FAKE_NOW_ISO = new Date(FAKE_NOW).toISOString();

export interface FakeControlPlane extends ControlPlane {
  /** Every call that changes something, e.g. `restart payment-api`, `event {...}`. */
  readonly calls: string[];
  /** The filter of the last `healing` call. */
  lastHealingFilter: { service?: string; limit?: number } | undefined;
  /** What the next `reload` does: resolve with these changes, or throw this error. */
  reloadOutcome: { changed: string[] } | Error;
  /** How the next operator actions end (default succeeded). */
  operatorStatus: AttemptView['status'];
  /** When set, the next call of any kind throws it (then it is cleared). */
  failNext: Error | undefined;
  /** Sets a service's state and gateway metrics. */
  setService(name: string, patch: Partial<Pick<ServiceView, 'state' | 'metrics'>>): void;
}

export function fakeControlPlane(): FakeControlPlane {
  const config: ReboundConfig = parseConfig(FAKE_CONFIG_YAML, { source: 'fake.yaml', env: {} });
  const breakers = new BreakerRegistry();
  breakers.get('gateway', 'payment-api');
  breakers.get('webhook', 'pager').isolate();
  const services = new Map<string, ServiceView>([
    [
      'payment-api',
      {
        name: 'payment-api',
        state: 'healthy',
        replicas: [
          replica('payment-api-1', 41001, 'healthy', 1),
          replica('payment-api-2', 41002, 'starting', 0),
        ],
        metrics: {
          latency_p50: 12,
          latency_p95: 80,
          latency_p99: 123.4,
          error_rate: 0.021,
          throughput: 45.6,
          inflight: 2,
          requests: 456,
          errors: 10,
          requests_total: 98_765,
          errors_total: 123,
        },
        gateway: { host: '127.0.0.1', port: 9100, breaker: true, fallback: false, failover: null },
        dependsOn: ['database'],
        revision: 1,
        autoscale: {
          metric: 'inflight_per_replica',
          target: 4,
          min: 1,
          max: 8,
          intervalMs: 15_000,
          scaleDownStabilizationMs: 300_000,
        },
      },
    ],
    [
      'database',
      {
        name: 'database',
        state: 'critical',
        replicas: [replica('database-1', 41003, 'backoff', 6)],
        metrics: { cpu_util: 0.5 },
        gateway: null,
        dependsOn: [],
        revision: 1,
        autoscale: null,
      },
    ],
  ]);
  const attempts: AttemptView[] = [
    attempt(
      'a-2',
      'payment-api',
      'policy',
      'succeeded',
      'restart-service succeeded; latency_p99 back to 120',
    ),
    attempt('a-1', 'database', 'supervisor', 'failed', 'restart-service failed: the replica exited again'),
  ];
  const incidents: IncidentView[] = [
    {
      id: 'inc-1',
      service: 'database',
      status: 'escalated',
      severity: 'critical',
      title: 'database is critical',
      openedAt: '2025-01-01T00:00:00.000Z',
      resolvedAt: null,
      acknowledgedAt: null,
      timeline: [
        {
          at: '2025-01-01T00:00:00.000Z',
          kind: 'signal',
          summary: 'database became critical',
          data: { from: 'healthy', to: 'critical' },
        },
      ],
    },
  ];

  // Experiments need services with gateways; this fake has none to break, so runs refuse to start.
  const chaos = chaosRuns({
    target: {
      services: () => [...services.keys()],
      metrics: () => ({}),
      request: async () => ({ status: 0, ms: 0 }),
      hasOpenIncident: () => false,
      replicaPids: () => [],
      injectFault: async () => {
        throw new Error('the fake control plane injects no faults');
      },
      runAction: async () => 'nothing done',
    },
  });
  // One schedule on a clock that never moves: listed with its next run, never run.
  const chaosSchedules = experimentScheduler({
    runs: chaos,
    clock: manualClock(Date.parse('2025-01-01T00:00:00.000Z')),
    schedules: [
      {
        name: 'nightly-kill',
        experiment: parseExperiment(
          'title: kill a replica\ntarget: payment-api\nmethod: [{ fault: { kill: {} } }]\nblastRadius: { maxReplicas: 1 }\n',
        ),
        cron: '0 3 * * *',
        timezone: 'UTC',
      },
    ],
  });
  chaosSchedules.start();

  // The hierarchy of the fake's config (no groups): its database page after a failed healing.
  const controllers: ControllerView[] = [
    {
      name: 'global',
      level: 'global',
      parent: null,
      children: ['service:payment-api', 'service:database'],
      decisions: [
        {
          level: 'global',
          action: 'page',
          reason:
            'automatic healing of database failed (service:database tried restart-service): paging a human',
          at: '2025-01-01T00:00:02.000Z',
          details: { service: 'database' },
        },
      ],
    },
    { name: 'service:payment-api', level: 'service', parent: 'global', children: [], decisions: [] },
    {
      name: 'service:database',
      level: 'service',
      parent: 'global',
      children: [],
      decisions: [
        {
          level: 'service:database',
          action: 'restart-service',
          reason: 'every matching policy failed and none restarted database: restarting it before paging',
          at: '2025-01-01T00:00:01.000Z',
          details: { service: 'database', message: 'restarted 1 replica(s) one at a time' },
        },
      ],
    },
  ];

  const fake: FakeControlPlane = {
    config,
    version: '0.1.0-test',
    breakers,
    chaos,
    chaosSchedules,
    calls: [],
    lastHealingFilter: undefined,
    reloadOutcome: { changed: [] },
    operatorStatus: 'succeeded',
    failNext: undefined,
    setService(name, patch) {
      services.set(name, { ...view(name), ...patch });
    },
    services() {
      failIfAsked();
      return [...services.values()];
    },
    service(name) {
      failIfAsked();
      return view(name);
    },
    async restartService(name) {
      return operator('restart', name, 'restart-service');
    },
    async stopService(name) {
      const result = operator('stop', name, 'stop-service');
      services.set(name, { ...view(name), state: 'stopped' });
      return result;
    },
    async startService(name) {
      return operator('start', name, 'start-service');
    },
    async scaleService(name, replicas) {
      failIfAsked();
      const service = config.services[name];
      if (!service) throw new UnknownServiceError(name);
      if (replicas < service.replicas.min || replicas > service.replicas.max) {
        throw new InvalidRequestError(
          `replicas must be from ${service.replicas.min} to ${service.replicas.max}, got ${replicas}`,
          [{ path: 'replicas', message: `must be from ${service.replicas.min} to ${service.replicas.max}` }],
        );
      }
      return operator(`scale ${replicas}`, name, 'scale');
    },
    policies() {
      failIfAsked();
      return config.policies.map((policy) => ({
        name: policy.name,
        description: policy.description ?? null,
        services: [...policy.services],
        when: policy.when.map((condition) => `${condition.metric} ${condition.op} ${condition.value}`),
        do: policy.do.map((action) => action.type),
        priority: policy.priority,
        cooldownMs: policy.cooldownMs,
        enabled: policy.enabled,
      }));
    },
    async healing(filter) {
      failIfAsked();
      fake.lastHealingFilter = filter;
      const matching = attempts.filter(
        (entry) => filter?.service === undefined || entry.service === filter.service,
      );
      return matching.slice(0, filter?.limit ?? matching.length);
    },
    async healingStats(): Promise<HealingStats> {
      failIfAsked();
      return { attempts: 3, succeeded: 1, failed: 1, successRate: 0.5, meanRecoveryMs: 2300, escalations: 1 };
    },
    async ingestEvent(event: MetricsEvent) {
      failIfAsked();
      if (!config.services[event.service]) throw new UnknownServiceError(event.service);
      fake.calls.push(`event ${JSON.stringify(event)}`);
      return { accepted: true };
    },
    async ingestAlerts(payload: AlertmanagerPayload) {
      failIfAsked();
      fake.calls.push(`alerts ${payload.status} ${payload.alerts.length}`);
      return { accepted: payload.alerts.length };
    },
    async incidents(filter = {}) {
      failIfAsked();
      return incidents
        .filter((incident) => filter.status === undefined || incident.status === filter.status)
        .map(incidentSummary);
    },
    async acknowledgeIncident(id) {
      const incident = await fake.incident(id);
      fake.calls.push(`ack ${id}`);
      if (incident.acknowledgedAt === null) {
        incident.acknowledgedAt = FAKE_NOW_ISO;
        incident.timeline.push({
          at: FAKE_NOW_ISO,
          kind: 'note',
          summary: 'acknowledged by an operator',
          data: {},
        });
      }
      return incident;
    },
    async resolveIncident(id) {
      const incident = await fake.incident(id);
      if (incident.status === 'resolved') throw new ConflictError(`incident ${id} is resolved already`);
      fake.calls.push(`resolve ${id}`);
      const from = incident.status;
      incident.status = 'resolved';
      incident.resolvedAt = FAKE_NOW_ISO;
      incident.timeline.push({
        at: FAKE_NOW_ISO,
        kind: 'decision',
        summary: `status ${from} → resolved: resolved by an operator`,
        data: { from, to: 'resolved' },
      });
      return incident;
    },
    async addIncidentNote(id, text) {
      const incident = await fake.incident(id);
      fake.calls.push(`note ${id} ${text}`);
      incident.timeline.push({ at: FAKE_NOW_ISO, kind: 'note', summary: text, data: { by: 'operator' } });
      return incident;
    },
    forecasts() {
      failIfAsked();
      return [
        {
          service: 'payment-api',
          metric: 'cpu_util',
          horizonMs: 60_000,
          value: 0.72,
          predicted: 0.95,
          samples: 30,
          observedAt: FAKE_NOW_ISO,
          error: {
            samples: 20,
            settled: 20,
            pending: 10,
            mae: 0.04,
            relative: 0.05,
            oneStepMae: 0.01,
            oneStepSamples: 28,
          },
        },
      ];
    },
    controllers(filter = {}) {
      failIfAsked();
      return controllers.filter((entry) => filter.level === undefined || entry.level === filter.level);
    },
    async reliability() {
      failIfAsked();
      // payment-api held to 0.5 (1 − target is exact in binary, so every figure is too): 1000
      // responses, 250 failed, 10 minutes before `now`.
      return reliabilityOf(
        {
          'payment-api': {
            slo: { target: 0.5, windowDays: 30 },
            traffic: readMinutes([{ at: FAKE_NOW - 10 * 60_000, requests: 1000, errors: 250 }], FAKE_NOW),
            incidents: [],
          },
          database: {
            slo: null,
            traffic: readMinutes([], FAKE_NOW),
            incidents: incidents.map((incident) => ({
              openedAt: Date.parse(incident.openedAt),
              resolvedAt: null,
            })),
          },
        },
        FAKE_NOW,
      );
    },
    async incident(id) {
      failIfAsked();
      const found = incidents.find((incident) => incident.id === id);
      if (!found) throw new NotFoundError(`no incident ${JSON.stringify(id)}`);
      return found;
    },
    async reload() {
      failIfAsked();
      const outcome = fake.reloadOutcome;
      if (outcome instanceof Error) throw outcome;
      fake.calls.push('reload');
      return outcome;
    },
    async close() {
      fake.calls.push('close');
    },
  };

  function failIfAsked(): void {
    const error = fake.failNext;
    if (error) {
      fake.failNext = undefined;
      throw error;
    }
  }

  function view(name: string): ServiceView {
    const found = services.get(name);
    if (!found) throw new UnknownServiceError(name);
    return found;
  }

  function operator(verb: string, name: string, type: AttemptView['actions'][number]['type']): AttemptView {
    failIfAsked();
    view(name);
    fake.calls.push(`${verb} ${name}`);
    const result: AttemptView = {
      ...attempt(
        `op-${fake.calls.length}`,
        name,
        'operator',
        fake.operatorStatus,
        `${type} ${fake.operatorStatus}`,
      ),
      actions: [
        {
          type,
          status: fake.operatorStatus === 'succeeded' ? 'succeeded' : 'failed',
          message: 'done',
          startedAt: '2025-01-01T00:00:00.000Z',
          endedAt: '2025-01-01T00:00:01.000Z',
        },
      ],
    };
    attempts.unshift(result);
    return result;
  }

  return fake;
}

/** A ConfigError as `reload` throws it for a broken file. */
export function brokenConfigError(): ConfigError {
  return new ConfigError('rebound.yaml', [
    { path: 'services.payment-api.replicas.count', line: 4, column: 24, message: 'must be >= 0, got -1' },
  ]);
}

function replica(
  id: string,
  port: number,
  state: ServiceView['replicas'][number]['state'],
  restarts: number,
) {
  return {
    id,
    ...(state === 'healthy' || state === 'starting' ? { pid: port + 1000 } : {}),
    port,
    state,
    restarts,
    startedAt: '2025-01-01T00:00:00.000Z',
    revision: 1,
  };
}

function attempt(
  id: string,
  service: string,
  source: AttemptView['source'],
  status: AttemptView['status'],
  outcome: string,
): AttemptView {
  return {
    id,
    source,
    policy: source === 'policy' ? 'Critical Latency Spike' : null,
    service,
    trigger: { source: source === 'policy' ? 'gateway' : 'exit', metrics: {}, conditions: [] },
    actions: [],
    status,
    outcome,
    verified: status === 'succeeded' ? true : null,
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:00:02.300Z',
  };
}
