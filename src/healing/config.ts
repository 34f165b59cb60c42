// Loads rebound.yaml: YAML with positions, `${ENV}` substitution, schema and cross-field checks, defaults.

import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { type Experiment, withBlastRadius } from '../chaos/index.ts';
import { splitCommand } from './commandLine.ts';
import { checkSchedules, crossCheck, scheduleName } from './configChecks.ts';
import { substituteEnv } from './configEnv.ts';
import {
  ConfigError,
  type ConfigProblem,
  issueMessages,
  joinPath,
  locate,
  type MayShow,
  type PathSegment,
} from './configErrors.ts';
import { rememberSecrets } from './configRedact.ts';
import { CONFIG_DEFAULTS, configSchema, type ParsedConfig, type ParsedService } from './configSchema.ts';
import type {
  ChaosScheduleConfig,
  HealthProbe,
  PolicyConfig,
  ReboundConfig,
  ServiceConfig,
} from './configTypes.ts';

export interface ParseConfigOptions {
  /**
   * Named in messages (`rebound.yaml:12:7 …`); default `'rebound.yaml'`. The experiment files of
   * `chaos.schedules` are read relative to its directory.
   */
  source?: string;
  /** Where `${NAME}` is looked up; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Reads and parses a config file; throws ConfigError listing every problem (an unreadable file is one). */
export async function loadConfig(
  path: string,
  options: Omit<ParseConfigOptions, 'source'> = {},
): Promise<ReboundConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(path, [
      { path: '', line: 1, column: 1, message: `cannot read the file (${reason})` },
    ]);
  }
  return parseConfig(text, { ...options, source: path });
}

/** Field names whose string values are never quoted back in a message. */
const SECRET_FIELDS = new Set(['token', 'routingKey', 'url', 'store', 'upstream', 'listen']);

export function parseConfig(text: string, options: ParseConfigOptions = {}): ReboundConfig {
  const source = options.source ?? 'rebound.yaml';
  const env = options.env ?? process.env;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const at = (offset: number) => {
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  };

  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((error) => ({
        path: '',
        ...at(error.pos[0]),
        message: `YAML syntax error: ${error.message.split('\n')[0]}`,
      })),
    );
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new ConfigError(source, [
      { path: '', line: 1, column: 1, message: `YAML error: ${(error as Error).message}` },
    ]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const message = raw == null ? 'the file is empty: expected a mapping with services' : 'must be a mapping';
    throw new ConfigError(source, [{ path: '', ...at(0), message }]);
  }

  const substitution = substituteEnv(raw, env);
  const mayShow: MayShow = (path, value) =>
    typeof value !== 'string' ||
    !(
      substitution.substitutedPaths.has(path.join('.')) ||
      SECRET_FIELDS.has(String(path.at(-1))) ||
      path.includes('env') ||
      path.includes('headers')
    );

  const found: { path: readonly PathSegment[]; message: string; atKey: boolean }[] = [];
  for (const problem of substitution.problems) found.push({ ...problem, atKey: false });
  const result = configSchema.safeParse(substitution.value, { reportInput: true });
  const followOn: typeof found = [];
  if (!result.success)
    for (const issue of result.error.issues) followOn.push(...issueMessages(issue, mayShow));
  for (const problem of crossCheck(substitution.value)) followOn.push({ atKey: false, ...problem });
  const scheduled = checkSchedules(substitution.value, dirname(source));
  for (const problem of scheduled.problems) followOn.push({ atKey: false, ...problem });
  // A missing variable left an empty string behind: what the schema says about it is noise.
  const unset = new Set(substitution.problems.map((problem) => joinPath(problem.path)));
  found.push(...followOn.filter((problem) => !unset.has(joinPath(problem.path))));

  if (found.length > 0 || !result.success) {
    const secrets = [...substitution.secrets, ...literalSecrets(substitution.value)].filter(
      (s) => s.length >= 4,
    );
    const seen = new Set<string>();
    const problems: ConfigProblem[] = [];
    for (const problem of found) {
      const path = joinPath(problem.path);
      const message = secrets.reduce((text, secret) => text.replaceAll(secret, '***'), problem.message);
      const key = `${path}\0${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({ path, ...locate(document, lineCounter, problem.path, problem.atKey), message });
    }
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(source, problems);
  }

  const config = resolve(result.data, source, scheduled.experiments);
  rememberSecrets(config, substitution.secrets);
  return config;
}

/** Secrets written directly in the file (a token, a routing key, header values). */
function literalSecrets(value: unknown): string[] {
  const secrets: string[] = [];
  const root = value as { server?: { token?: unknown }; escalation?: unknown };
  if (typeof root.server?.token === 'string') secrets.push(root.server.token);
  if (Array.isArray(root.escalation)) {
    for (const entry of root.escalation) {
      const webhook = (entry as { webhook?: { routingKey?: unknown; headers?: unknown } } | null)?.webhook;
      if (typeof webhook?.routingKey === 'string') secrets.push(webhook.routingKey);
      if (typeof webhook?.headers === 'object' && webhook.headers !== null) {
        secrets.push(...Object.values(webhook.headers).filter((v): v is string => typeof v === 'string'));
      }
    }
  }
  return secrets;
}

function resolve(
  parsed: ParsedConfig,
  source: string,
  experiments: ReadonlyMap<number, Experiment>,
): ReboundConfig {
  const names = Object.keys(parsed.services);
  const services: Record<string, ServiceConfig> = {};
  for (const name of names) services[name] = resolveService(name, parsed.services[name]!);
  const policies: PolicyConfig[] = parsed.policies.map((policy) => ({
    name: policy.name,
    description: policy.description,
    services: policy.services ?? names,
    when: policy.when,
    do: policy.do,
    priority: policy.priority,
    cooldownMs: policy.cooldownMs,
    enabled: policy.enabled,
  }));
  return {
    source,
    store: parsed.store,
    server: { host: parsed.server.host, port: parsed.server.port, token: parsed.server.token },
    services,
    policies,
    limits: parsed.limits,
    permissions: parsed.permissions,
    escalation: parsed.escalation.map((entry) => ({
      name: entry.name,
      minSeverity: entry.minSeverity,
      webhook: { ...entry.webhook, routingKey: entry.webhook.routingKey },
    })),
    incidents: parsed.incidents,
    chaos: {
      proxyApi: parsed.chaos.proxyApi,
      proxies: parsed.chaos.proxies,
      schedules: parsed.chaos.schedules.map((schedule, index): ChaosScheduleConfig => ({
        name: scheduleName(schedule.name, schedule.experiment),
        file: schedule.experiment,
        experiment: withBlastRadius(experiments.get(index)!, schedule.blastRadius),
        every: schedule.every,
        cron: schedule.cron,
        timezone: schedule.timezone,
        enabled: schedule.enabled,
      })),
    },
    groups: Object.fromEntries(
      Object.entries(parsed.groups).map(([name, group]) => [name, { name, ...group }]),
    ),
    global: {
      addCapacity: parsed.global.addCapacity && {
        ...parsed.global.addCapacity,
        argv: splitCommand(parsed.global.addCapacity.command),
      },
      capacityCooldownMs: parsed.global.capacityCooldownMs,
    },
  };
}

function resolveService(name: string, service: ParsedService): ServiceConfig {
  const count = service.replicas.count;
  const min = service.replicas.min ?? Math.min(CONFIG_DEFAULTS.replicas.min, count);
  const max = service.replicas.max ?? Math.max(CONFIG_DEFAULTS.replicas.max, count);
  const health = service.health;
  let probe: HealthProbe;
  if (health.http) {
    const expect = health.http.expectStatus ?? CONFIG_DEFAULTS.health.expectStatus;
    probe = {
      kind: 'http',
      path: health.http.path,
      timeoutMs: health.http.timeoutMs ?? health.timeoutMs,
      expectStatus: typeof expect === 'number' ? [expect, expect] : [expect[0], expect[1]],
      expectJson: health.http.expectJson,
    };
  } else if (health.exec) {
    probe = {
      kind: 'exec',
      command: health.exec.command,
      argv: splitCommand(health.exec.command),
      timeoutMs: health.exec.timeoutMs ?? health.timeoutMs,
    };
  } else {
    // Every replica is given a PORT, so "it accepts connections" is the check that fits any service.
    probe = { kind: 'tcp', timeoutMs: health.tcp?.timeoutMs ?? health.timeoutMs };
  }
  const autoscale = service.autoscale;
  return {
    name,
    command: service.command,
    argv: splitCommand(service.command),
    cwd: service.cwd,
    env: Object.fromEntries(Object.entries(service.env).map(([key, value]) => [key, String(value)])),
    replicas: { count, min, max },
    gateway: service.gateway,
    health: {
      probe,
      intervalMs: health.intervalMs,
      timeoutMs: health.timeoutMs,
      initialDelayMs: health.initialDelayMs,
      failureThreshold: health.failureThreshold,
      successThreshold: health.successThreshold,
    },
    restart: service.restart,
    stopGraceMs: service.stopGraceMs,
    dependsOn: service.dependsOn,
    fallback: service.fallback && {
      status: service.fallback.status,
      headers: service.fallback.headers,
      body: service.fallback.body === undefined ? CONFIG_DEFAULTS.fallback.body : service.fallback.body,
    },
    breaker: {
      trip: service.breaker.trip,
      openMs: service.breaker.openMs,
      openBackoff: service.breaker.openBackoff,
      halfOpen: service.breaker.halfOpen,
      slowCall: service.breaker.slowCall,
    },
    failover: service.failover,
    resources: { memoryMb: service.resources.memoryMb },
    metrics: service.metrics,
    slo: service.slo,
    autoscale: autoscale && {
      metric: autoscale.metric,
      target: autoscale.target,
      min: autoscale.min ?? min,
      max: autoscale.max ?? max,
      intervalMs: autoscale.intervalMs,
      tolerance: autoscale.tolerance,
      maxStep: autoscale.maxStep,
      scaleDownStabilizationMs: autoscale.scaleDownStabilizationMs,
      pid: autoscale.pid,
    },
    group: service.group,
  };
}
