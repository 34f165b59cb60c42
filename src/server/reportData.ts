// What the reliability report is made of, read from a control plane at one moment: the config
// (without a secret), each service's live view and reliability figures, the chaos journals, the
// incidents, the healing log and statistics, the breakers and the policies. Plain JSON.

import type { Journal } from '../chaos/index.ts';
import {
  type AttemptView,
  type ControlPlane,
  type HealingStats,
  type IncidentView,
  type PolicyView,
  type ReboundConfig,
  redactConfig,
  redactUrl,
  type ServiceView,
  type Severity,
  type SloConfig,
  WEBHOOK_BREAKER_KIND,
  type WebhookFormat,
} from '../healing/index.ts';
import type { BreakerRegistryHealth, CircuitTripOptions } from '../policies/index.ts';
import { type ServiceReliability, serviceReliability } from './reliabilityMetrics.ts';

/** Journals read for the report: the newest ones. */
export const REPORT_EXPERIMENTS_LIMIT = 100;
/** Healing attempts read for the per-service success rates: the newest ones. */
export const REPORT_ATTEMPTS_LIMIT = 1000;

/** A service's config as the report describes it: settings only, no environment, no exec command. */
export interface ServiceSummary {
  /** The command as written, with any value taken from the environment redacted. */
  command: string;
  replicas: { count: number; min: number; max: number };
  gateway: { host: string; port: number; balance: string; timeoutMs: number } | null;
  health: {
    probe: 'http' | 'tcp' | 'exec';
    /** The HTTP probe's path. */
    path: string | null;
    intervalMs: number;
    failureThreshold: number;
  };
  restart: {
    backoff: { initialMs: number; factor: number; maxMs: number };
    maxRestarts: number;
    windowMs: number;
  };
  dependsOn: string[];
  /** The fallback answer's status; null when the service has none. */
  fallback: { status: number } | null;
  breaker: { trip: CircuitTripOptions; openMs: number };
  /** The service traffic fails over to; null when none is configured. */
  failover: string | null;
  slo: SloConfig | null;
}

export interface ServiceReport {
  name: string;
  config: ServiceSummary;
  view: ServiceView;
  reliability: ServiceReliability;
}

/** An incident without its timeline. */
export type IncidentSummary = Omit<IncidentView, 'timeline'>;

/** Who gets paged: never the URL, the routing key or a header. */
export interface EscalationSummary {
  /** The configured name; null when the target has none. */
  name: string | null;
  format: WebhookFormat;
  minSeverity: Severity;
}

export interface ReportData {
  /** ISO 8601. */
  generatedAt: string;
  version: string;
  /** The config file the control plane runs, as it names it. */
  configSource: string;
  /** The store's scheme only (`sqlite`, `postgres`, `memory`): its URL may hold a password. */
  storeScheme: string;
  /** Where the API listens, for the runbook's commands, e.g. `http://127.0.0.1:8080`. */
  apiUrl: string;
  /** Whether the API needs a token (its value is never in the report). */
  tokenRequired: boolean;
  services: ServiceReport[];
  /** Newest first, at most REPORT_EXPERIMENTS_LIMIT. */
  experiments: Journal[];
  /** Newest first. */
  incidents: IncidentSummary[];
  healing: { stats: HealingStats; attempts: AttemptView[] };
  breakers: BreakerRegistryHealth;
  policies: PolicyView[];
  escalation: EscalationSummary[];
}

/** Reads everything the report needs from the control plane, once. */
export async function collectReportData(controlPlane: ControlPlane, now = new Date()): Promise<ReportData> {
  const config = redactConfig(controlPlane.config);
  const [experiments, incidents, attempts, stats, windows] = await Promise.all([
    controlPlane.chaos.list({ limit: REPORT_EXPERIMENTS_LIMIT }),
    controlPlane.incidents(),
    controlPlane.healing({ limit: REPORT_ATTEMPTS_LIMIT }),
    controlPlane.healingStats(),
    controlPlane.reliability(),
  ]);
  const views = new Map(controlPlane.services().map((view) => [view.name, view]));
  const incidentSummaries: IncidentSummary[] = incidents;

  const services: ServiceReport[] = [];
  for (const [name, service] of Object.entries(config.services)) {
    const view = views.get(name);
    const window = windows.services[name];
    // Both are read from the config the control plane runs: missing only across a config reload.
    if (!view || !window) continue;
    const probe = service.health.probe;
    services.push({
      name,
      config: {
        command: service.command,
        replicas: { ...service.replicas },
        gateway: service.gateway
          ? {
              host: service.gateway.host,
              port: service.gateway.port,
              balance: service.gateway.balance,
              timeoutMs: service.gateway.timeoutMs,
            }
          : null,
        health: {
          probe: probe.kind,
          path: probe.kind === 'http' ? probe.path : null,
          intervalMs: service.health.intervalMs,
          failureThreshold: service.health.failureThreshold,
        },
        restart: {
          backoff: { ...service.restart.backoff },
          maxRestarts: service.restart.maxRestarts,
          windowMs: service.restart.windowMs,
        },
        dependsOn: [...service.dependsOn],
        fallback: service.fallback ? { status: service.fallback.status } : null,
        breaker: { trip: { ...service.breaker.trip }, openMs: service.breaker.openMs },
        failover: service.failover?.target ?? null,
        slo: service.slo ? { ...service.slo } : null,
      },
      view,
      reliability: serviceReliability({
        name,
        metrics: view.metrics,
        hasGateway: view.gateway !== null,
        attempts,
        experiments,
        window,
      }),
    });
  }

  return {
    generatedAt: now.toISOString(),
    version: controlPlane.version,
    configSource: config.source,
    storeScheme: storeScheme(controlPlane.config.store),
    apiUrl: `http://${connectableHost(config.server.host)}:${config.server.port}`,
    tokenRequired: controlPlane.config.server.token !== undefined,
    services,
    experiments,
    incidents: incidentSummaries,
    healing: { stats, attempts },
    breakers: withoutWebhookUrls(controlPlane.breakers.health(), controlPlane.config),
    policies: controlPlane.policies(),
    escalation: config.escalation.map((target) => ({
      name: target.name ?? null,
      format: target.webhook.format,
      minSeverity: target.minSeverity,
    })),
  };
}

/** `postgres://user:secret@host/db` → `postgres`: the part of a store URL that is safe to show. */
export function storeScheme(url: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgresql') return 'postgres';
  return scheme ?? 'unknown';
}

/**
 * The breakers' report with each escalation target's breaker named as the report names the target:
 * its configured name, or `escalation target N` where the escalator used its URL (secrets hidden,
 * but a URL all the same).
 */
function withoutWebhookUrls(health: BreakerRegistryHealth, config: ReboundConfig): BreakerRegistryHealth {
  const webhooks = health.kinds[WEBHOOK_BREAKER_KIND];
  if (!webhooks) return health;
  const labels = new Map<string, string>();
  config.escalation.forEach((target, index) => {
    if (target.name !== undefined) return;
    const url = redactUrl(target.webhook.url, target.webhook.format === 'slack');
    const label = `escalation target ${index + 1}`;
    if (!labels.has(url)) labels.set(url, label);
    labels.set(`${url}#${index + 1}`, label);
  });
  const renamed = Object.fromEntries(
    Object.entries(webhooks).map(([name, circuit]) => [
      labels.get(name) ?? (name.includes('://') ? 'escalation target' : name),
      circuit,
    ]),
  );
  return { ...health, kinds: { ...health.kinds, [WEBHOOK_BREAKER_KIND]: renamed } };
}

/** A server bound to every address is reached on loopback; IPv6 addresses go in brackets. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
