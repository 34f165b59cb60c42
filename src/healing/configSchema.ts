// The schema of rebound.yaml (zod, strict: an unknown field is an error) with the defaults of SPEC 4.1.

import { z } from 'zod';
import { SCHEDULE_MIN_EVERY_MS } from '../chaos/index.ts';
import { CIRCUIT_BREAKER_DEFAULTS } from '../policies/index.ts';
import { CommandLineError, splitCommand } from './commandLine.ts';
import {
  ACTIONS,
  AUTOSCALE_METRICS,
  BALANCE_STRATEGIES,
  CONDITION_OPS,
  PREDICTED_WITHIN_MAX_MS,
  SEVERITIES,
  WEBHOOK_FORMATS,
  type ActionConfig,
  type ActionName,
} from './configTypes.ts';

/** Every default of rebound.yaml in one place (the docs in docs/config.md list the same values). */
export const CONFIG_DEFAULTS = Object.freeze({
  /** The same as rebound/store's DEFAULT_STORE_URL (not imported: that would load the SQLite adapter). */
  store: 'sqlite:.rebound/state.db',
  server: Object.freeze({ host: '127.0.0.1', port: 8080 }),
  replicas: Object.freeze({ count: 1, min: 1, max: 10 }),
  gateway: Object.freeze({ host: '127.0.0.1', balance: 'least-loaded', timeoutMs: 30_000 }),
  /** Kubernetes probe defaults: periodSeconds 10, timeoutSeconds 1, failureThreshold 3, successThreshold 1. */
  health: Object.freeze({
    intervalMs: 10_000,
    timeoutMs: 1_000,
    initialDelayMs: 0,
    failureThreshold: 3,
    successThreshold: 1,
    httpPath: '/health',
    expectStatus: Object.freeze([200, 399]) as readonly [number, number],
  }),
  restart: Object.freeze({
    backoff: Object.freeze({ initialMs: 100, factor: 2, maxMs: 300_000 }),
    maxRestarts: 5,
    windowMs: 600_000,
  }),
  stopGraceMs: 10_000,
  fallback: Object.freeze({ status: 200, body: Object.freeze({ degraded: true }) }),
  breaker: CIRCUIT_BREAKER_DEFAULTS,
  metrics: Object.freeze({ path: '/metrics', intervalMs: 15_000 }),
  slo: Object.freeze({ windowDays: 30 }),
  autoscale: Object.freeze({
    intervalMs: 1_000,
    tolerance: 0.1,
    maxStep: Object.freeze({ percent: 20, min: 1 }),
    scaleDownStabilizationMs: 300_000,
  }),
  policy: Object.freeze({ priority: 0, cooldownMs: 300_000 }),
  scaleStep: 1,
  execTimeoutMs: 30_000,
  limits: Object.freeze({ actionsPerMinute: 60, actionsPerHour: 500 }),
  webhook: Object.freeze({ format: 'generic', timeoutMs: 5_000 }),
  incidents: Object.freeze({ groupWindowMs: 300_000, resolveAfterMs: 60_000 }),
  chaos: Object.freeze({ proxyApi: Object.freeze({ host: '127.0.0.1', port: 8474 }) }),
  group: Object.freeze({ restoreAfterMs: 60_000 }),
  global: Object.freeze({ capacityCooldownMs: 60_000 }),
});

const D = CONFIG_DEFAULTS;
const integer = () => z.number().int();
const duration = () => integer().min(0);
const positiveDuration = () => integer().min(1);
const port = () => integer().min(0).max(65535);
const fraction = () => z.number().min(0).max(1);
const text = () => z.string().min(1);
/** `tcp:` with nothing after it is YAML null: read it as `{}`. */
const emptyAsObject = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

export const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;

const condition = z.strictObject({
  metric: z.string().regex(METRIC_NAME, { message: 'must be a metric name such as latency_p99' }),
  op: z.enum(CONDITION_OPS),
  value: z.number(),
});

/** A policy's condition may also hold on a forecast (the op is checked in configChecks.ts). */
const policyCondition = condition.extend({
  predictedWithinMs: positiveDuration().max(PREDICTED_WITHIN_MAX_MS).optional(),
});

const trip = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('consecutive'), failures: integer().min(1) }),
  z.strictObject({ kind: z.literal('window'), windowMs: positiveDuration(), failures: integer().min(1) }),
  z.strictObject({
    kind: z.literal('rate'),
    windowMs: positiveDuration(),
    minimumCalls: integer().min(1),
    failureRate: z.number().gt(0).max(1),
  }),
  z.strictObject({
    kind: z.literal('count'),
    size: integer().min(1),
    minimumCalls: integer().min(1),
    failureRate: z.number().gt(0).max(1),
  }),
]);

const breaker = z.strictObject({
  trip: trip.default(D.breaker.trip),
  openMs: duration().default(D.breaker.openMs),
  openBackoff: z.strictObject({ factor: z.number().min(1), maxMs: duration() }).optional(),
  halfOpen: z
    .strictObject({
      maxCalls: integer().min(1).default(D.breaker.halfOpen.maxCalls),
      successes: integer().min(1).default(D.breaker.halfOpen.successes),
    })
    .prefault({}),
  slowCall: z.strictObject({ ms: positiveDuration(), rate: z.number().gt(0).max(1) }).optional(),
});

const statusCode = integer().min(100).max(599);

const health = z.strictObject({
  http: emptyAsObject(
    z.strictObject({
      path: z.string().startsWith('/', { message: "must start with '/'" }).default(D.health.httpPath),
      timeoutMs: positiveDuration().optional(),
      expectStatus: z
        .union([statusCode, z.tuple([statusCode, statusCode])], {
          error: 'must be a status code or [low, high]',
        })
        .optional(),
      expectJson: z.record(z.string(), z.unknown()).optional(),
    }),
  ).optional(),
  tcp: emptyAsObject(z.strictObject({ timeoutMs: positiveDuration().optional() })).optional(),
  exec: z.strictObject({ command: text(), timeoutMs: positiveDuration().optional() }).optional(),
  intervalMs: positiveDuration().default(D.health.intervalMs),
  timeoutMs: positiveDuration().default(D.health.timeoutMs),
  initialDelayMs: duration().default(D.health.initialDelayMs),
  failureThreshold: integer().min(1).default(D.health.failureThreshold),
  successThreshold: integer().min(1).default(D.health.successThreshold),
});

const restart = z.strictObject({
  backoff: z
    .strictObject({
      initialMs: duration().default(D.restart.backoff.initialMs),
      factor: z.number().min(1).default(D.restart.backoff.factor),
      maxMs: duration().default(D.restart.backoff.maxMs),
    })
    .prefault({}),
  maxRestarts: integer().min(0).default(D.restart.maxRestarts),
  windowMs: positiveDuration().default(D.restart.windowMs),
});

const toxic = z.strictObject({
  name: text().optional(),
  type: text(),
  stream: z.enum(['upstream', 'downstream']).default('downstream'),
  toxicity: fraction().default(1),
  attributes: z.record(z.string(), z.unknown()).default({}),
});

const gateway = z.strictObject({
  port: port(),
  host: text().default(D.gateway.host),
  balance: z.enum(BALANCE_STRATEGIES).default('least-loaded'),
  timeoutMs: positiveDuration().default(D.gateway.timeoutMs),
  toxics: z.array(toxic).default([]),
});

const autoscale = z.strictObject({
  metric: z.enum(AUTOSCALE_METRICS),
  target: z.number().gt(0),
  min: integer().min(0).optional(),
  max: integer().min(1).optional(),
  intervalMs: positiveDuration().default(D.autoscale.intervalMs),
  tolerance: z.number().min(0).default(D.autoscale.tolerance),
  maxStep: z
    .strictObject({
      percent: z.number().gt(0).default(D.autoscale.maxStep.percent),
      min: integer().min(1).default(D.autoscale.maxStep.min),
    })
    .prefault({}),
  scaleDownStabilizationMs: duration().default(D.autoscale.scaleDownStabilizationMs),
  pid: z.strictObject({ kp: z.number(), ki: z.number(), kd: z.number() }).optional(),
});

const service = z.strictObject({
  command: text(),
  cwd: text().optional(),
  env: z
    .record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string, number or boolean' }),
    )
    .default({}),
  replicas: z
    .preprocess(
      (v) => (typeof v === 'number' ? { count: v } : v),
      z.strictObject({
        count: integer().min(0).default(D.replicas.count),
        min: integer().min(0).optional(),
        max: integer().min(1).optional(),
      }),
    )
    .prefault({}),
  gateway: gateway.optional(),
  health: health.prefault({}),
  restart: restart.prefault({}),
  stopGraceMs: duration().default(D.stopGraceMs),
  dependsOn: z.array(text()).default([]),
  fallback: emptyAsObject(
    z.strictObject({
      status: statusCode.default(D.fallback.status),
      headers: z.record(z.string(), z.string()).default({}),
      body: z.unknown().optional(),
    }),
  ).optional(),
  breaker: breaker.prefault({}),
  failover: z.strictObject({ target: text() }).optional(),
  resources: z.strictObject({ memoryMb: z.number().gt(0).optional() }).prefault({}),
  metrics: emptyAsObject(
    z.strictObject({
      path: z.string().startsWith('/', { message: "must start with '/'" }).default(D.metrics.path),
      intervalMs: positiveDuration().default(D.metrics.intervalMs),
    }),
  ).optional(),
  slo: z
    .strictObject({ target: z.number().gt(0).lt(1), windowDays: z.number().gt(0).default(D.slo.windowDays) })
    .optional(),
  autoscale: autoscale.optional(),
  group: text().optional(),
});

/** An action is a name (`restart-service`) or a one-key mapping with its parameters (`scale-up: { by: 2 }`). */
const action = z.unknown().transform((value, context): ActionConfig => {
  const fail = (message: string, path: (string | number)[] = []): ActionConfig => {
    context.addIssue({ code: 'custom', message, path, input: value });
    return { type: 'restart-service' };
  };
  const known = `expected one of ${ACTIONS.join(', ')}`;
  let name: string;
  let params: unknown;
  if (typeof value === 'string') {
    [name, params] = [value, {}];
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length !== 1)
      return fail(`must be an action name or a mapping with one action, got ${keys.length} keys`);
    name = keys[0]!;
    params = (value as Record<string, unknown>)[name] ?? {};
  } else return fail(`must be an action name, ${known}`);
  if (!(ACTIONS as readonly string[]).includes(name)) {
    return fail(`unknown action ${JSON.stringify(name)}, ${known}`, typeof value === 'string' ? [] : [name]);
  }
  const at = typeof value === 'string' ? [] : [name];
  if (name === 'exec' && typeof params === 'string') params = { command: params };
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return fail('parameters must be a mapping', at);
  }
  const record = params as Record<string, unknown>;
  const allowed: Record<ActionName, string[]> = {
    'scale-up': ['by'],
    'scale-down': ['by'],
    failover: ['target'],
    exec: ['command', 'timeoutMs'],
    'restart-service': [],
    'enable-circuit-breaker': [],
    'fallback-mode': [],
    'rollback-deployment': [],
    'alert-oncall': [],
  };
  let ok = true;
  for (const key of Object.keys(record)) {
    if (!allowed[name as ActionName].includes(key)) {
      fail('is not a known field', [...at, key]);
      ok = false;
    }
  }
  const check = (key: string, valid: boolean, message: string) => {
    if (record[key] !== undefined && !valid) {
      fail(message, [...at, key]);
      ok = false;
    }
  };
  if (name === 'scale-up' || name === 'scale-down') {
    check('by', Number.isInteger(record.by) && (record.by as number) >= 1, 'must be an integer >= 1');
    return ok
      ? { type: name, by: (record.by as number | undefined) ?? D.scaleStep }
      : { type: 'restart-service' };
  }
  if (name === 'failover') {
    check('target', typeof record.target === 'string' && record.target !== '', 'must be a service name');
    return { type: 'failover', target: record.target as string | undefined };
  }
  if (name === 'exec') {
    if (typeof record.command !== 'string' || record.command.trim() === '') {
      return fail('exec needs a command: write { exec: { command: "..." } }', at);
    }
    check(
      'timeoutMs',
      Number.isInteger(record.timeoutMs) && (record.timeoutMs as number) >= 1,
      'must be an integer >= 1',
    );
    let argv: string[];
    try {
      argv = splitCommand(record.command);
    } catch (error) {
      if (!(error instanceof CommandLineError)) throw error;
      return fail(`command ${error.message}`, [...at, 'command']);
    }
    const timeoutMs = (record.timeoutMs as number | undefined) ?? D.execTimeoutMs;
    return { type: 'exec', command: record.command, argv, timeoutMs };
  }
  return { type: name as Exclude<ActionName, 'exec' | 'scale-up' | 'scale-down' | 'failover'> };
});

const policy = z.strictObject({
  name: text(),
  description: z.string().optional(),
  services: z.array(text()).min(1).optional(),
  when: z.array(policyCondition).min(1),
  do: z.array(action).min(1),
  priority: integer().default(D.policy.priority),
  cooldownMs: duration().default(D.policy.cooldownMs),
  enabled: z.boolean().default(true),
});

const webhook = z.strictObject({
  url: text(),
  format: z.enum(WEBHOOK_FORMATS).default('generic'),
  routingKey: text().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  timeoutMs: positiveDuration().default(D.webhook.timeoutMs),
});

/** The command of the global controller's add-capacity decision, run as the `exec` action runs one. */
const addCapacity = z.preprocess(
  (v) => (typeof v === 'string' ? { command: v } : v),
  z.strictObject({ command: text(), timeoutMs: positiveDuration().default(D.execTimeoutMs) }),
);

const group = emptyAsObject(
  z.strictObject({
    shed: z.array(text()).default([]),
    restoreAfterMs: duration().default(D.group.restoreAfterMs),
  }),
);

export const configSchema = z.strictObject({
  store: text().default(D.store),
  server: z
    .strictObject({
      host: text().default(D.server.host),
      port: port().default(D.server.port),
      token: text().optional(),
    })
    .prefault({}),
  services: z.record(z.string(), service),
  policies: z.array(policy).default([]),
  limits: z
    .strictObject({
      actionsPerMinute: integer().min(1).default(D.limits.actionsPerMinute),
      actionsPerHour: integer().min(1).default(D.limits.actionsPerHour),
    })
    .prefault({}),
  permissions: z.record(z.string(), z.array(z.enum(ACTIONS))).default({}),
  escalation: z
    .array(
      z.strictObject({
        name: text().optional(),
        webhook,
        minSeverity: z.enum(SEVERITIES).default('low'),
      }),
    )
    .default([]),
  incidents: z
    .strictObject({
      groupWindowMs: positiveDuration().default(D.incidents.groupWindowMs),
      resolveAfterMs: duration().default(D.incidents.resolveAfterMs),
      severity: z
        .array(z.strictObject({ when: z.array(condition).min(1), level: z.enum(SEVERITIES) }))
        .default([]),
    })
    .prefault({}),
  chaos: z
    .strictObject({
      proxyApi: emptyAsObject(
        z.strictObject({
          host: text().default(D.chaos.proxyApi.host),
          port: port().default(D.chaos.proxyApi.port),
        }),
      ).optional(),
      proxies: z
        .array(
          z.strictObject({
            name: text(),
            listen: text(),
            upstream: text(),
            enabled: z.boolean().default(true),
          }),
        )
        .default([]),
      schedules: z
        .array(
          z.strictObject({
            experiment: text(),
            every: integer().min(SCHEDULE_MIN_EVERY_MS).optional(),
            cron: text().optional(),
            timezone: text().optional(),
            blastRadius: z
              .strictObject({
                maxReplicas: integer().min(0).optional(),
                maxPercent: z.number().min(0).max(100).optional(),
              })
              .optional(),
            name: text().optional(),
            enabled: z.boolean().default(true),
          }),
        )
        .default([]),
    })
    .prefault({}),
  groups: z.record(z.string(), group).default({}),
  global: z
    .strictObject({
      addCapacity: addCapacity.optional(),
      capacityCooldownMs: duration().default(D.global.capacityCooldownMs),
    })
    .prefault({}),
});

export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedService = ParsedConfig['services'][string];
