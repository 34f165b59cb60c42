// `rebound up`'s engine room: starts the supervisor, a gateway per service, the scrapers and the
// policy engine, turns what they see into signals, states, attempts, incidents and pages, and
// answers the ControlPlane interface the HTTP API and the CLI use.

import { readFileSync } from 'node:fs';
import { type ChaosRuns, chaosRuns, type ExperimentScheduler, experimentScheduler } from '../chaos/index.ts';
import { type WorkflowEngine, workflows } from '../durable/index.ts';
import { BreakerRegistry, type Clock, systemClock } from '../policies/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { builtInActions } from './actions.ts';
import { burnRateSignal } from './burnRateSignal.ts';
import { controlPlaneChaosTarget } from './chaosTarget.ts';
import { AlertGate } from './alertGate.ts';
import { loadConfig } from './config.ts';
import type { ReboundConfig, ServiceConfig, Severity } from './configTypes.ts';
import type {
  AlertmanagerPayload,
  AttemptView,
  ControlPlane,
  HealingStats,
  IncidentStatus,
  IncidentSummaryView,
  IncidentView,
  MetricsEvent,
  PolicyView,
  ReliabilityView,
  ServiceState,
  ServiceView,
} from './controlPlaneTypes.ts';
import { ConflictError, InvalidRequestError, UnknownServiceError } from './errors.ts';
import { Escalator, type Notification } from './escalation.ts';
import { type Gateway, startGateway } from './gateway.ts';
import {
  attemptsTried,
  escalationSummary,
  needsResolvedNotification,
  resolvedNotification,
  triedLine,
} from './incidentNotifications.ts';
import {
  type AlertFact,
  type HealingRef,
  INCIDENT_RESPONSE,
  PLAYBOOK_POLICY,
  type PlaybookPlane,
  registerIncidentPlaybook,
} from './incidentPlaybook.ts';
import { IncidentTracker, incidentSeverity, incidentSummary, iso } from './incidents.ts';
import { type Actuator, describeCondition, PolicyEngine, type Signal } from './policyEngine.ts';
import { parsePrometheusText, serviceMetricsFromSamples } from './prometheusText.ts';
import { ReliabilityMonitor } from './reliabilityMonitor.ts';
import { alertMetrics, alertService } from './signalSchemas.ts';
import { Supervisor, type SupervisorEvent } from './supervisor.ts';

export interface StartControlPlaneOptions {
  config: ReboundConfig;
  /** The file `reload()` re-reads; without it reload is refused. */
  configPath?: string;
  /** Default: `openStore(config.store)`, closed by `close()`. A given store is left open. */
  store?: Store;
  clock?: Clock;
  log?: (line: string) => void;
  /** How often every service's metrics are checked against the policies; default 1000 ms. */
  evaluateEveryMs?: number;
  /** How long after the actions a policy's trigger must have cleared; default 20 000 ms. */
  verifyWithinMs?: number;
  /** The incident playbook's waits (docs/incidents.md): defaults PLAYBOOK_DEFAULTS. */
  playbook?: { holdOffMs?: number; verifyAfterMs?: number };
}

/** Gateway metrics are not judged before a gateway has seen this long (no "throughput 0" at start). */
const GATEWAY_WARMUP_MS = 10_000;
/**
 * A policy's trigger must clear within this long of its actions: longer than the gateway's 10 s
 * window, which still holds the slow answers of before the healing for up to that long.
 */
const VERIFY_WITHIN_MS = 20_000;
/** Posted and scraped metrics older than this are forgotten. */
const METRICS_TTL_MS = 60_000;
/** Fallback mode is lifted after this long once every desired replica is healthy again. */
const FALLBACK_HOLD_MS = 30_000;
/** A failed-over service fails back after being fully healthy this long. */
const FAILBACK_AFTER_MS = 5_000;

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

interface TimedMetrics {
  metrics: Record<string, number>;
  at: number;
}

export async function startControlPlane(options: StartControlPlaneOptions): Promise<ControlPlane> {
  const store = options.store ?? (await openStore(options.config.store));
  const plane = new ReboundControlPlane(options, store, options.store === undefined);
  try {
    await plane.start();
  } catch (error) {
    await plane.close();
    throw error;
  }
  return plane;
}

class ReboundControlPlane implements ControlPlane {
  config: ReboundConfig;
  readonly version = VERSION;
  readonly breakers: BreakerRegistry;
  readonly chaos: ChaosRuns;
  readonly chaosSchedules: ExperimentScheduler;
  readonly #options: StartControlPlaneOptions;
  readonly #store: Store;
  readonly #ownsStore: boolean;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  readonly #supervisor: Supervisor;
  readonly #gateways = new Map<string, Gateway>();
  readonly #gatewayStartedAt = new Map<string, number>();
  readonly #gate: AlertGate;
  readonly #incidents: IncidentTracker;
  readonly #escalator: Escalator;
  readonly #reliability: ReliabilityMonitor;
  readonly #actuator: Actuator;
  /** Durable workflows on the store: each incident's playbook (`incident-response`). */
  readonly #workflows: WorkflowEngine;
  /** Incidents whose playbook this process started (or found started): started once each. */
  readonly #playbooks = new Set<string>();
  #engine: PolicyEngine;
  readonly #posted = new Map<string, TimedMetrics>();
  readonly #scraped = new Map<string, TimedMetrics>();
  /** Firing Alertmanager alerts per service: fingerprint → metrics it contributes. */
  readonly #alerts = new Map<string, Map<string, Record<string, number>>>();
  readonly #states = new Map<string, ServiceState>();
  readonly #stopped = new Set<string>();
  readonly #desired = new Map<string, number>();
  readonly #rolledOutAt = new Map<string, number>();
  /** Supervisor restarts in progress: `service/replica` → their attempt. */
  readonly #restarts = new Map<string, AttemptView>();
  readonly #fallbackSince = new Map<string, number>();
  readonly #healthySince = new Map<string, number>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  #writes: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: StartControlPlaneOptions, store: Store, ownsStore: boolean) {
    this.#options = options;
    this.config = options.config;
    this.#store = store;
    this.#ownsStore = ownsStore;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.breakers = new BreakerRegistry({ clock: this.#clock });
    this.#supervisor = new Supervisor({
      store,
      clock: this.#clock,
      log: this.#log,
      canRestart: (service) => {
        const down = this.#downDependencies(service);
        return down.length > 0 ? `waiting for its dependency ${down.join(', ')} to recover` : undefined;
      },
    });
    this.#gate = new AlertGate({
      dependsOn: this.#dependsOn(),
      isDown: (service) => this.#isDown(service),
      isRecovering: (service) => this.#state(service) === 'recovering',
    });
    this.#incidents = new IncidentTracker({
      store,
      clock: this.#clock,
      groupWindowMs: this.config.incidents.groupWindowMs,
    });
    this.#escalator = new Escalator({
      targets: this.config.escalation,
      store,
      clock: this.#clock,
      breakers: this.breakers,
    });
    this.#reliability = new ReliabilityMonitor({
      store,
      clock: this.#clock,
      config: () => this.config,
      counters: () =>
        [...this.#gateways].map(([service, gateway]) => {
          const { requests_total, errors_total } = gateway.metrics();
          return { service, requestsTotal: requests_total, errorsTotal: errors_total };
        }),
      incidents: () => this.#incidents.list(10_000),
      onAlert: (alert) => {
        const signal = burnRateSignal(alert);
        this.#log(`rebound: ${signal.summary}`);
        void this.#recordEvent(alert.service, 'burn-rate', { ...alert, summary: signal.summary });
        this.#incidents.note(alert.service, 'signal', signal.summary, {
          opens: true,
          severity: this.#severityFor(alert.service, signal.level),
          title: signal.title,
          data: signal.data,
        });
      },
      onError: (error) => this.#log(`rebound: could not record traffic: ${error.message}`),
    });
    this.#actuator = this.#createActuator();
    this.#engine = this.#createEngine();
    this.#workflows = workflows(store);
    this.#unsubscribe.push(
      this.#workflows.onError(({ during, error }) =>
        this.#log(`rebound: workflows (${during}) failed: ${(error as Error).message}`),
      ),
    );
    registerIncidentPlaybook(this.#workflows, this.#playbookPlane(), { store, ...options.playbook });
    this.chaos = chaosRuns({
      target: controlPlaneChaosTarget({
        plane: this,
        gateways: this.#gateways,
        metrics: (service) => this.#metricsOf(service),
        hasOpenIncident: (service) => this.#incidents.openFor(service) !== undefined,
      }),
      store,
      clock: this.#clock,
      onProgress: ({ journal, message }) =>
        this.#log(`rebound: chaos ${journal.id} (${journal.title}): ${message}`),
    });
    // Built from the config at start: a reload leaves the schedules as they were.
    this.chaosSchedules = experimentScheduler({
      runs: this.chaos,
      schedules: this.config.chaos.schedules,
      clock: this.#clock,
      onEvent: (event) =>
        this.#log(
          event.kind === 'started'
            ? `rebound: chaos schedule ${event.schedule} started run ${event.runId}`
            : `rebound: chaos schedule ${event.schedule} skipped: ${event.reason}`,
        ),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    await this.#incidents.resume();
    // After the incidents: a resumed playbook finds its incident.
    await this.#workflows.recover();
    await this.chaos.recover();
    await this.#escalator.resume();
    this.#unsubscribe.push(this.#supervisor.onEvent((event) => this.#onSupervisorEvent(event)));
    this.#unsubscribe.push(
      this.#supervisor.onUpstreamsChange(({ service }) =>
        this.#gateways.get(service)?.setUpstreams(this.#supervisor.upstreams(service)),
      ),
    );
    for (const service of Object.values(this.config.services)) {
      this.#desired.set(service.name, service.replicas.count);
      if (service.gateway) await this.#startGateway(service);
    }
    await this.#reliability.start();
    const order = AlertGate.order(this.#dependsOn()).map((name) => this.config.services[name]!);
    await this.#supervisor.start(order);
    for (const service of order) {
      this.#gateways.get(service.name)?.setUpstreams(this.#supervisor.upstreams(service.name));
      if (service.metrics) this.#scrapeEvery(service);
    }
    const every = this.#options.evaluateEveryMs ?? 1000;
    this.#timers.push(setInterval(() => this.#tick(), every));
    this.#tick();
    // Once the services run: a scheduled experiment has something to break.
    this.chaosSchedules.start();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // First: no scheduled run may start while everything else stops.
    this.chaosSchedules.stop();
    for (const timer of this.#timers) clearInterval(timer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#engine.close();
    // Before the supervisor stops: a playbook step cut short here runs again when it resumes.
    await this.#workflows.close();
    await this.chaos.stopAll('rebound up is stopping');
    await this.#supervisor.stop();
    await Promise.all([...this.#gateways.values()].map((gateway) => gateway.close()));
    // After the gateways: the last requests they answered are counted too.
    await this.#reliability.close();
    await this.#escalator.close();
    await this.#writes;
    await this.#incidents.flush();
    if (this.#ownsStore) await this.#store.close();
  }

  async #startGateway(service: ServiceConfig): Promise<void> {
    const gateway = await startGateway({
      service: service.name,
      host: service.gateway!.host,
      port: service.gateway!.port,
      balance: service.gateway!.balance,
      timeoutMs: service.gateway!.timeoutMs,
      toxics: service.gateway!.toxics,
      breaker: service.breaker,
      fallback: service.fallback,
      registry: this.breakers,
      clock: this.#clock,
    });
    this.#gateways.set(service.name, gateway);
    this.#gatewayStartedAt.set(service.name, this.#clock.now());
  }

  #createActuator(): Actuator {
    return builtInActions({
      config: () => this.config,
      supervisor: this.#supervisor,
      gateways: this.#gateways,
      downDependencies: (service) => this.#downDependencies(service),
      rolledOutAt: (service) => this.#rolledOutAt.get(service),
      rolledBack: (service) => this.#rolledOutAt.delete(service),
      page: (service, policy, attemptId) => this.#holdPage(service, policy, attemptId),
      replicaCount: (service) => this.#desired.get(service) ?? 0,
      setReplicaCount: (service, count) => this.#desired.set(service, count),
      now: () => this.#clock.now(),
      log: this.#log,
    });
  }

  #createEngine(): PolicyEngine {
    const engine = new PolicyEngine({
      policies: this.config.policies,
      limits: this.config.limits,
      permissions: this.config.permissions,
      services: Object.keys(this.config.services),
      clock: this.#clock,
      verifyWithinMs: this.#options.verifyWithinMs ?? VERIFY_WITHIN_MS,
      failoverTargetOf: (service) => this.config.services[service]?.failover?.target,
      metricsOf: (service) => this.#metricsOf(service),
      record: (attempt) => this.#recordAttempt(attempt),
      escalate: (service, tried, signal) => this.#escalate(service, tried, signal),
      actuator: this.#actuator,
    });
    this.#unsubscribe.push(engine.onAttempt((attempt) => this.#onPolicyAttempt(attempt)));
    return engine;
  }

  // -------------------------------------------------------------------------------------------
  // Signals

  /** The severity a signal gives the service's incident (SPEC 6): the rules, else no healthy replica. */
  #severityFor(service: string, signal: Severity): Severity {
    return incidentSeverity({
      rules: this.config.incidents.severity,
      metrics: this.#metricsOf(service),
      noHealthyReplica: !this.#stopped.has(service) && this.#isDown(service),
      signal,
    });
  }

  /** Everything known about a service now, by metric name: what policies are evaluated against. */
  #metricsOf(service: string): Record<string, number> {
    const now = this.#clock.now();
    const metrics: Record<string, number> = {};
    const gateway = this.#gateways.get(service);
    if (gateway && now - this.#gatewayStartedAt.get(service)! >= GATEWAY_WARMUP_MS) {
      const traffic = gateway.metrics();
      metrics.throughput = traffic.throughput;
      metrics.inflight = traffic.inflight;
      if (traffic.requests > 0) {
        metrics.latency_p50 = traffic.latency_p50;
        metrics.latency_p95 = traffic.latency_p95;
        metrics.latency_p99 = traffic.latency_p99;
        metrics.error_rate = traffic.error_rate;
      }
    }
    const replicas = this.#supervisor.replicas(service);
    metrics.replicas = replicas.length;
    metrics.healthy_replicas = replicas.filter((replica) => replica.state === 'healthy').length;
    for (const source of [this.#scraped.get(service), this.#posted.get(service)]) {
      if (source && now - source.at <= METRICS_TTL_MS) Object.assign(metrics, source.metrics);
    }
    for (const alert of this.#alerts.get(service)?.values() ?? []) Object.assign(metrics, alert);
    return metrics;
  }

  #tick(): void {
    if (this.#closed) return;
    for (const name of Object.keys(this.config.services)) {
      this.#updateState(name);
      this.#trackHealthy(name);
      this.#liftTemporaryModes(name);
      this.#resolveIfQuiet(name);
      this.#startPlaybook(name);
      if (this.#stopped.has(name) || this.#supervisor.isCritical(name)) continue;
      this.#evaluate({ service: name, metrics: this.#metricsOf(name), source: 'gateway' });
    }
  }

  #evaluate(signal: Signal): void {
    if (this.#engine.isHealing(signal.service)) return;
    if (this.#engine.matching(signal.service, signal.metrics).length === 0) return;
    this.#engine.evaluate(signal).catch((error: unknown) => {
      this.#log(`rebound: evaluating policies for ${signal.service} failed: ${(error as Error).message}`);
    });
  }

  #scrapeEvery(service: ServiceConfig): void {
    const { path, intervalMs } = service.metrics!;
    const scrape = async (): Promise<void> => {
      const [upstream] = this.#supervisor.upstreams(service.name);
      if (!upstream) return;
      try {
        const response = await fetch(`http://${upstream.host}:${upstream.port}${path}`, {
          signal: AbortSignal.timeout(Math.min(intervalMs, 2000)),
        });
        if (!response.ok) return;
        const { samples } = parsePrometheusText(await response.text());
        this.#scraped.set(service.name, {
          metrics: serviceMetricsFromSamples(samples),
          at: this.#clock.now(),
        });
      } catch {
        // A replica that does not answer its metrics is the probes' business, not the scraper's.
      }
    };
    this.#timers.push(setInterval(() => void scrape(), intervalMs));
  }

  async ingestEvent(event: MetricsEvent): Promise<{ accepted: true }> {
    this.#known(event.service);
    const previous = this.#posted.get(event.service);
    const now = this.#clock.now();
    const metrics = previous && now - previous.at <= METRICS_TTL_MS ? { ...previous.metrics } : {};
    this.#posted.set(event.service, { metrics: Object.assign(metrics, event.metrics), at: now });
    await this.#recordEvent(event.service, 'event', { metrics: event.metrics });
    this.#evaluate({ service: event.service, metrics: this.#metricsOf(event.service), source: 'event' });
    return { accepted: true };
  }

  async ingestAlerts(payload: AlertmanagerPayload): Promise<{ accepted: number }> {
    let accepted = 0;
    for (const alert of payload.alerts) {
      const service = alertService(alert);
      const name = alert.labels.alertname ?? 'alert';
      await this.#recordEvent(service ?? null, 'alert', {
        status: alert.status,
        alertname: name,
        fingerprint: alert.fingerprint,
        labels: alert.labels,
        annotations: alert.annotations,
      });
      accepted++;
      if (!service || !this.config.services[service]) continue;
      const firing = this.#alerts.get(service) ?? new Map<string, Record<string, number>>();
      this.#alerts.set(service, firing);
      if (alert.status === 'resolved') {
        firing.delete(alert.fingerprint);
        this.#incidents.note(service, 'signal', `alert ${name} resolved`, {
          data: { alertname: name, fingerprint: alert.fingerprint, status: 'resolved' },
        });
        continue;
      }
      firing.set(alert.fingerprint, alertMetrics(alert));
      const summary = alert.annotations.summary ?? alert.annotations.description ?? name;
      this.#incidents.note(service, 'signal', `alert ${name} firing: ${summary}`, {
        opens: true,
        severity: this.#severityFor(service, severityOf(alert.labels.severity)),
        data: { alertname: name, fingerprint: alert.fingerprint, status: 'firing', labels: alert.labels },
      });
      const metrics = this.#metricsOf(service);
      const notification = this.#notification(
        service,
        severityOf(alert.labels.severity),
        `${name}: ${summary}`,
        [],
      );
      const decision = this.#gate.decide(service);
      if (!decision.send && decision.reason === 'dependency-down') {
        this.#suppress(service, notification, decision.reason, decision.dependency);
      } else if (!decision.send || this.#engine.matching(service, metrics).length > 0) {
        // Recovering, or a policy may heal it: the alert waits for the verdict (sent if healing fails).
        this.#gate.hold(service, notification);
        this.#incidents.note(service, 'suppressed', `alert ${name} held back while ${service} heals`, {
          data: {
            alertname: name,
            fingerprint: alert.fingerprint,
            reason: decision.send ? 'healing' : 'recovering',
          },
        });
        if (decision.send) this.#healAlert(service, metrics, name);
      } else {
        await this.#send(notification);
      }
    }
    return { accepted };
  }

  /** Runs the policies for an alert; when none could run (all in cooldown), the held alert goes out. */
  #healAlert(service: string, metrics: Record<string, number>, name: string): void {
    if (this.#engine.isHealing(service)) return; // the running attempt's verdict releases it
    const release = (): void => {
      for (const held of this.#gate.release(service)) void this.#send(held);
    };
    this.#engine.evaluate({ service, metrics, source: 'alertmanager', detail: name }).then(
      (attempts) => {
        if (!attempts || attempts.length === 0) release();
      },
      (error: unknown) => {
        this.#log(`rebound: evaluating policies for ${service} failed: ${(error as Error).message}`);
        release();
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // States, dependencies, temporary modes

  #state(service: string): ServiceState {
    return this.#states.get(service) ?? 'recovering';
  }

  #deriveState(service: string): ServiceState {
    if (this.#stopped.has(service)) return 'stopped';
    if (this.#supervisor.isCritical(service)) return 'critical';
    const desired = this.#desired.get(service) ?? 0;
    const healthy = this.#supervisor.upstreams(service).length;
    const restarting = [...this.#restarts.values()].some((attempt) => attempt.service === service);
    if (this.#engine.isHealing(service) || restarting) return 'recovering';
    if (desired > 0 && healthy === 0) {
      // Replicas on their way up (first start, restart back-off) make it recovering, not unhealthy.
      const coming = this.#supervisor
        .replicas(service)
        .some((replica) => replica.state === 'starting' || replica.state === 'backoff');
      return coming ? 'recovering' : 'unhealthy';
    }
    const gateway = this.#gateways.get(service);
    const breakerOpen =
      gateway?.breakerEnabled && this.breakers.health().kinds.gateway?.[service]?.state === 'open';
    if (healthy < desired || gateway?.fallbackMode || gateway?.failover || breakerOpen) return 'degraded';
    return 'healthy';
  }

  #updateState(service: string): void {
    const state = this.#deriveState(service);
    const previous = this.#states.get(service);
    if (state === previous) return;
    this.#states.set(service, state);
    if (previous === undefined && state !== 'unhealthy' && state !== 'critical') return;
    const from = previous ?? 'starting';
    void this.#recordHistory(service, from, state);
    const bad = state === 'unhealthy' || state === 'critical';
    this.#incidents.note(service, 'signal', `${service} ${from} → ${state}`, {
      opens: bad,
      severity: bad ? this.#severityFor(service, 'critical') : undefined,
      title: bad ? `${service} is ${state}` : undefined,
      data: { from, to: state, metrics: this.#metricsOf(service) },
    });
    if (state === 'healthy') {
      // Alerts held while it recovered are not sent: it recovered (they stay on the timeline).
      for (const held of this.#gate.drop(service)) {
        this.#incidents.note(service, 'suppressed', `page not sent (recovered): ${held.summary}`, {
          data: { reason: 'recovered', page: held.id },
        });
      }
    }
  }

  /** An incident resolves once its service has stayed healthy for `incidents.resolveAfterMs`. */
  #resolveIfQuiet(service: string): void {
    const incident = this.#incidents.openFor(service);
    const healthySince = this.#healthySince.get(service);
    if (!incident || this.#state(service) !== 'healthy' || healthySince === undefined) return;
    const { resolveAfterMs } = this.config.incidents;
    if (this.#clock.now() - healthySince < resolveAfterMs) return;
    const why = `healthy for ${resolveAfterMs} ms`;
    this.#incidents.setStatus(service, 'resolved', `${service} ${why}`, { healthyForMs: resolveAfterMs });
    this.#notifyResolved(incident, why);
  }

  /**
   * A 'resolved' notification for an incident that paged someone, or whose pages were held back
   * while it healed (whoever would have been paged learns that something happened and ended).
   */
  #notifyResolved(incident: IncidentView, why: string): void {
    if (!needsResolvedNotification(incident)) return;
    void this.#send(resolvedNotification(incident, why, this.#clock.now(), this.#state(incident.service)));
  }

  /** Since when every desired replica of the service has been healthy (for failback and resolution). */
  #trackHealthy(service: string): void {
    const fullyHealthy = this.#supervisor.upstreams(service).length >= (this.#desired.get(service) ?? 0);
    if (!fullyHealthy || this.#stopped.has(service)) this.#healthySince.delete(service);
    else if (!this.#healthySince.has(service)) this.#healthySince.set(service, this.#clock.now());
  }

  #liftTemporaryModes(service: string): void {
    const gateway = this.#gateways.get(service);
    if (!gateway) return;
    const now = this.#clock.now();
    const healthySince = this.#healthySince.get(service);
    const fullyHealthy = healthySince !== undefined;
    const healthyFor = now - (healthySince ?? now);

    if (gateway.fallbackMode) {
      if (!this.#fallbackSince.has(service)) this.#fallbackSince.set(service, now);
      if (fullyHealthy && now - this.#fallbackSince.get(service)! >= FALLBACK_HOLD_MS) {
        gateway.setFallbackMode(false);
        this.#fallbackSince.delete(service);
        this.#incidents.note(service, 'action', 'fallback mode lifted: every replica healthy', {
          data: { action: 'fallback-mode', enabled: false },
        });
      }
    } else this.#fallbackSince.delete(service);

    if (gateway.failover && fullyHealthy && healthyFor >= FAILBACK_AFTER_MS) {
      const target = gateway.failover;
      gateway.setFailover(undefined);
      this.#incidents.note(service, 'action', `failed back from ${target}: ${service} healthy again`, {
        data: { action: 'failover', target, enabled: false },
      });
    }
  }

  #dependsOn(): Record<string, string[]> {
    return Object.fromEntries(
      Object.values(this.config.services).map((service) => [service.name, [...service.dependsOn]]),
    );
  }

  #isDown(service: string): boolean {
    if (this.#stopped.has(service) || this.#supervisor.isCritical(service)) return true;
    return (this.#desired.get(service) ?? 0) > 0 && this.#supervisor.upstreams(service).length === 0;
  }

  #downDependencies(service: string): string[] {
    return this.#gate.downDependencies(service);
  }

  // -------------------------------------------------------------------------------------------
  // The supervisor's own healing

  #onSupervisorEvent(event: SupervisorEvent): void {
    const { service } = event;
    switch (event.type) {
      case 'replica-exited':
        if (event.expected) break;
        void this.#recordEvent(service, 'exit', {
          replica: event.replica.id,
          code: event.code,
          signal: event.signal,
        });
        this.#incidents.note(
          service,
          'signal',
          `replica ${event.replica.id} exited (${event.signal ?? `code ${event.code}`})`,
          {
            opens: true,
            severity: this.#severityFor(service, 'high'),
            title: `${service}: replica ${event.replica.id} crashed`,
            data: { replica: event.replica.id, code: event.code, signal: event.signal },
          },
        );
        break;
      case 'replica-unhealthy':
        void this.#recordEvent(service, 'probe', { replica: event.replica.id, detail: event.detail });
        this.#incidents.note(
          service,
          'signal',
          `replica ${event.replica.id} failed its health probe: ${event.detail}`,
          {
            opens: true,
            severity: this.#severityFor(service, 'high'),
            title: `${service}: replica ${event.replica.id} unhealthy`,
            data: { replica: event.replica.id, detail: event.detail },
          },
        );
        break;
      case 'replica-restarting': {
        const key = `${service}/${event.replica.id}`;
        if (this.#restarts.has(key)) break;
        const now = this.#clock.now();
        const attempt: AttemptView = {
          id: `sup-${crypto.randomUUID()}`,
          source: 'supervisor',
          policy: null,
          service,
          trigger: {
            source: event.reason === 'crash' ? 'exit' : 'probe',
            metrics: {},
            conditions: [event.reason === 'crash' ? 'replica exited' : 'health probe failed'],
            detail: event.note,
          },
          actions: [
            {
              type: 'restart-service',
              status: 'succeeded',
              message: `restart of ${event.replica.id} in ${event.delayMs} ms`,
              startedAt: iso(now),
              endedAt: iso(now),
            },
          ],
          status: 'running',
          outcome: `restarting replica ${event.replica.id} after a ${event.reason}`,
          verified: null,
          startedAt: iso(now),
          endedAt: null,
        };
        this.#restarts.set(key, attempt);
        this.#incidents.note(service, 'action', attempt.outcome, {
          data: {
            attempt: attempt.id,
            replica: event.replica.id,
            reason: event.reason,
            delayMs: event.delayMs,
          },
        });
        this.#incidents.setStatus(
          service,
          'mitigating',
          `supervisor restarting ${event.replica.id} (${event.reason})`,
          { attempt: attempt.id },
        );
        void this.#recordAttempt(attempt);
        break;
      }
      case 'replica-healthy': {
        const key = `${service}/${event.replica.id}`;
        const attempt = this.#restarts.get(key);
        if (!attempt) break;
        this.#restarts.delete(key);
        const now = this.#clock.now();
        attempt.status = 'succeeded';
        attempt.verified = true;
        attempt.endedAt = iso(now);
        attempt.outcome = `replica ${event.replica.id} restarted after a ${attempt.trigger.source === 'exit' ? 'crash' : 'hang'}, healthy again after ${now - Date.parse(attempt.startedAt)} ms`;
        void this.#recordAttempt(attempt);
        this.#incidents.note(service, 'action', attempt.outcome, {
          data: { attempt: attempt.id, replica: event.replica.id, status: attempt.status },
        });
        break;
      }
      case 'restart-held':
        void this.#recordEvent(service, 'restart-held', { replica: event.replica.id, reason: event.reason });
        this.#incidents.note(
          service,
          'decision',
          `restart of ${event.replica.id} held back: ${event.reason}`,
          { data: { replica: event.replica.id, reason: event.reason } },
        );
        break;
      case 'service-critical': {
        const tried: AttemptView[] = [];
        for (const [key, attempt] of this.#restarts) {
          if (attempt.service !== service) continue;
          this.#restarts.delete(key);
          attempt.status = 'escalated';
          attempt.endedAt = iso(this.#clock.now());
          attempt.outcome = `${event.restarts} restarts within ${event.windowMs} ms: the service is critical`;
          tried.push(attempt);
          void this.#recordAttempt(attempt);
        }
        this.#incidents.note(
          service,
          'signal',
          `${service} critical: ${event.restarts} restarts within ${event.windowMs} ms`,
          {
            opens: true,
            severity: this.#severityFor(service, 'critical'),
            data: { restarts: event.restarts, windowMs: event.windowMs },
          },
        );
        void this.#page(
          service,
          'critical',
          `${service} is critical: it crashed ${event.restarts} times within ${Math.round(event.windowMs / 1000)} s and is no longer restarted`,
          tried,
        );
        break;
      }
      case 'orphan-stopped':
        this.#log(`rebound: stopped replica pid ${event.pid} of ${service} left behind by a previous run`);
        void this.#recordEvent(service, 'orphan-stopped', { pid: event.pid });
        return; // before the services start: there is no state to update yet
      default:
        break;
    }
    this.#updateState(service);
  }

  // -------------------------------------------------------------------------------------------
  // Policy attempts, pages, escalation

  #onPolicyAttempt(attempt: AttemptView): void {
    const { service } = attempt;
    if (attempt.status === 'running' && attempt.actions.length === 0) {
      this.#incidents.note(
        service,
        'decision',
        `policy "${attempt.policy}" fired: ${attempt.trigger.conditions.join(' and ')}`,
        {
          opens: true,
          severity: this.#severityFor(service, 'high'),
          title: `${service}: ${attempt.trigger.conditions.join(' and ')}`,
          data: {
            policy: attempt.policy,
            attempt: attempt.id,
            conditions: attempt.trigger.conditions,
            metrics: attempt.trigger.metrics,
          },
        },
      );
      this.#incidents.setStatus(service, 'mitigating', `healing with policy "${attempt.policy}"`, {
        policy: attempt.policy,
        attempt: attempt.id,
      });
    } else if (attempt.status !== 'running') {
      this.#incidents.note(
        service,
        'action',
        `policy "${attempt.policy}" ${attempt.status}: ${attempt.outcome}`,
        {
          data: {
            policy: attempt.policy,
            attempt: attempt.id,
            status: attempt.status,
            actions: attempt.actions.map((action) => ({ type: action.type, status: action.status })),
            verified: attempt.verified,
          },
        },
      );
      if (attempt.status === 'succeeded') {
        for (const held of this.#gate.drop(service)) {
          this.#incidents.note(service, 'suppressed', `page not sent (healing worked): ${held.summary}`, {
            data: { reason: 'healed', page: held.id, attempt: attempt.id },
          });
        }
      } else {
        for (const held of this.#gate.release(service)) void this.#send(held);
      }
    }
    this.#updateState(service);
  }

  /** The `alert-oncall` action: the page waits for the attempt's verdict (sent only if it fails). */
  #holdPage(service: string, policy: string, attemptId: string): void {
    const metrics = this.#metricsOf(service);
    const notification = this.#notification(
      service,
      'high',
      `${service}: policy "${policy}" fired (attempt ${attemptId})`,
      [],
      { metrics },
    );
    this.#gate.hold(service, notification);
    this.#incidents.note(service, 'suppressed', `page held back while "${policy}" heals ${service}`, {
      data: { reason: 'healing', policy, attempt: attemptId },
    });
  }

  async #escalate(service: string, tried: readonly AttemptView[], signal: Signal): Promise<void> {
    const conditions = tried[0]?.trigger.conditions.join(' and ') ?? signal.detail ?? 'healing failed';
    await this.#page(service, 'high', `${service}: automatic healing failed (${conditions})`, tried);
  }

  async #page(
    service: string,
    severity: Severity,
    summary: string,
    tried: readonly AttemptView[],
  ): Promise<void> {
    // Whoever is paged should not repeat what was tried: every attempt on the incident so far.
    const incident = this.#incidents.openFor(service);
    const stored = incident ? await this.healing({ service, limit: 200 }).catch(() => []) : [];
    const attempts = attemptsTried(incident, stored, tried);
    const notification = this.#notification(
      service,
      severity,
      escalationSummary(summary, attempts),
      attempts.map(triedLine),
      { attempts },
    );
    const decision = this.#gate.decide(service);
    if (!decision.send && decision.reason === 'dependency-down') {
      this.#suppress(service, notification, decision.reason, decision.dependency);
      return;
    }
    this.#incidents.setStatus(service, 'escalated', 'escalated to a human', {
      attempts: attempts.map((attempt) => attempt.id),
    });
    await this.#send(notification);
  }

  #notification(
    service: string,
    severity: Severity,
    summary: string,
    tried: string[],
    details: Record<string, unknown> = {},
  ): Notification {
    const incident = this.#incidents.openFor(service);
    return {
      id: `rebound-${service}-${incident?.id ?? 'none'}`,
      action: 'trigger',
      service,
      severity,
      summary,
      tried,
      details: { incident: incident?.id ?? null, state: this.#state(service), ...details },
      at: this.#clock.now(),
    };
  }

  async #send(notification: Notification): Promise<void> {
    const resolve = notification.action === 'resolve';
    const summary = `${resolve ? 'resolved notification' : 'page'} sent: ${notification.summary}`;
    const data = { action: notification.action, severity: notification.severity, dedupKey: notification.id };
    const incident = notification.details.incident;
    if (resolve && typeof incident === 'string') {
      // Its incident is resolved already: the entry goes to it by id, reopening nothing.
      await this.#incidents.append(incident, 'notification', summary, data).catch(() => {});
    } else {
      this.#incidents.note(notification.service, 'notification', summary, { data });
    }
    await this.#escalator.send(notification);
  }

  #suppress(service: string, notification: Notification, reason: string, dependency?: string): void {
    const why = reason === 'dependency-down' ? `its dependency ${dependency} is down` : 'it is recovering';
    this.#incidents.note(service, 'suppressed', `page inhibited (${why}): ${notification.summary}`, {
      data: { reason, dependency: dependency ?? null, page: notification.id },
    });
    void this.#recordEvent(service, 'suppressed', { reason, dependency, summary: notification.summary });
  }

  // -------------------------------------------------------------------------------------------
  // The incident playbook (docs/incidents.md)

  /** Starts the open incident's playbook once; a start of an id that exists resumes or answers it. */
  #startPlaybook(service: string): void {
    const incident = this.#incidents.openFor(service);
    if (!incident || this.#playbooks.has(incident.id)) return;
    this.#playbooks.add(incident.id);
    this.#workflows
      .start(INCIDENT_RESPONSE, { incident: incident.id, service }, { id: incident.id })
      .catch((error: unknown) => {
        this.#playbooks.delete(incident.id);
        if (!this.#closed)
          this.#log(`rebound: could not start the playbook of ${incident.id}: ${(error as Error).message}`);
      });
  }

  #playbookPlane(): PlaybookPlane {
    return {
      now: () => this.#clock.now(),
      incident: (id) => this.#incidents.get(id),
      facts: async (service) => {
        const reliability = (await this.#reliability.view()).services[service];
        this.#updateState(service);
        const replicas = this.#supervisor.replicas(service);
        return {
          state: this.#state(service),
          healthyReplicas: replicas.filter((replica) => replica.state === 'healthy').length,
          desiredReplicas: this.#desired.get(service) ?? 0,
          metrics: this.#metricsOf(service),
          dependenciesDown: this.#downDependencies(service),
          reliability: reliability
            ? { availability: reliability.availability, burnRate1h: reliability.burnRate['1h'] }
            : null,
        };
      },
      // The supervisor keeps no output of the replicas: the service's recent events stand in for logs.
      logs: async (service) =>
        (await this.#store.records.list('event', { service, limit: 20 })).map((record) => {
          const { type, at, service: _service, ...rest } = JSON.parse(record.data) as Record<string, unknown>;
          return `${String(at)} ${String(type)} ${JSON.stringify(rest)}`.slice(0, 300);
        }),
      alerts: async (service) => {
        const latest = new Map<string, AlertFact>();
        for (const record of await this.#store.records.list('event', { service, limit: 200 })) {
          const data = JSON.parse(record.data) as Record<string, unknown>;
          if (data.type !== 'alert' && data.type !== 'burn-rate') continue;
          const name = data.type === 'alert' ? String(data.alertname) : `burn-rate ${String(data.alert)}`;
          const status = data.type === 'alert' ? String(data.status) : 'firing';
          if (!latest.has(name)) latest.set(name, { name, status, at: iso(record.at) });
        }
        return [...latest.values()];
      },
      healingUnderWay: async (service, since) => {
        const running = [...this.#restarts.values()].find((attempt) => attempt.service === service);
        if (running) return running;
        const named = new Set(since?.timeline.map((entry) => entry.data.attempt) ?? []);
        const attempts = (await this.healing({ service, limit: 50 })).filter(
          (attempt) => attempt.source !== 'operator' && attempt.policy !== PLAYBOOK_POLICY,
        );
        if (this.#engine.isHealing(service)) {
          const ref: HealingRef = { id: 'unknown', source: 'policy', policy: null };
          return attempts.find((attempt) => attempt.status === 'running') ?? ref;
        }
        if (since === undefined) return undefined;
        return attempts.find((attempt) => named.has(attempt.id) || Date.parse(attempt.startedAt) >= since.at);
      },
      act: async (service, action, attemptId) => {
        this.#incidents.setStatus(service, 'mitigating', `incident playbook: ${action.type}`, {
          policy: PLAYBOOK_POLICY,
          attempt: attemptId,
        });
        try {
          return await this.#actuator.run(action, { service, policy: PLAYBOOK_POLICY, attemptId });
        } finally {
          this.#updateState(service);
        }
      },
      recordAttempt: (attempt) => this.#recordAttempt(attempt),
      note: async (id, kind, summary, data) => {
        await this.#incidents.append(id, kind, summary, data);
      },
      check: (service) => {
        this.#updateState(service);
        const state = this.#state(service);
        const alerting = (this.#alerts.get(service)?.size ?? 0) > 0;
        const matching = this.#engine.matching(service, this.#metricsOf(service)).length > 0;
        return { state, healthy: state === 'healthy', signalClear: !alerting && !matching };
      },
      escalate: async (service, id, summary) => {
        if (this.#incidents.openFor(service)?.id !== id) return false;
        await this.#page(service, 'high', summary, []);
        return true;
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Persistence

  #write(kind: string, id: string, service: string | null, at: number, data: unknown): Promise<void> {
    const record = { kind, id, service, at, data: JSON.stringify(data) };
    this.#writes = this.#writes
      .then(() => this.#store.records.put(record))
      .catch((error: unknown) => this.#log(`rebound: could not record ${kind}: ${(error as Error).message}`));
    return this.#writes;
  }

  #recordAttempt(attempt: AttemptView): Promise<void> {
    if (attempt.status !== 'running') {
      const who = attempt.policy ? `policy "${attempt.policy}"` : attempt.source;
      this.#log(`rebound: ${attempt.service}: ${who} ${attempt.status}: ${attempt.outcome}`);
    }
    return this.#write('attempt', attempt.id, attempt.service, Date.parse(attempt.startedAt), attempt);
  }

  #recordEvent(service: string | null, type: string, data: Record<string, unknown>): Promise<void> {
    const at = this.#clock.now();
    return this.#write('event', `${at}-${crypto.randomUUID().slice(0, 8)}`, service, at, {
      type,
      service,
      at: iso(at),
      ...data,
    });
  }

  #recordHistory(service: string, from: string, to: ServiceState): Promise<void> {
    const at = this.#clock.now();
    return this.#write('history', `${service}-${at}-${crypto.randomUUID().slice(0, 8)}`, service, at, {
      service,
      from,
      to,
      at: iso(at),
    });
  }

  // -------------------------------------------------------------------------------------------
  // The ControlPlane interface

  #known(name: string): ServiceConfig {
    const service = this.config.services[name];
    if (!service) throw new UnknownServiceError(name);
    return service;
  }

  services(): ServiceView[] {
    return Object.keys(this.config.services).map((name) => this.service(name));
  }

  service(name: string): ServiceView {
    const config = this.#known(name);
    const gateway = this.#gateways.get(name);
    const perReplica = gateway?.replicaMetrics() ?? {};
    return {
      name,
      state: this.#state(name),
      replicas: this.#supervisor.replicas(name).map((replica) => ({
        ...replica,
        ...(perReplica[replica.id] ? { metrics: perReplica[replica.id] } : {}),
      })),
      // Traffic is shown from the first request on; policies see it only after the warm-up.
      metrics: Object.assign({}, gateway?.metrics(), this.#metricsOf(name)),
      gateway: gateway
        ? {
            ...gateway.address,
            breaker: gateway.breakerEnabled,
            fallback: gateway.fallbackMode,
            failover: gateway.failover,
          }
        : null,
      dependsOn: [...config.dependsOn],
      revision: this.#supervisor.revision(name),
    };
  }

  async #operator(
    name: string,
    type: AttemptView['actions'][number]['type'],
    run: () => Promise<string>,
  ): Promise<AttemptView> {
    this.#known(name);
    const startedAt = this.#clock.now();
    const attempt: AttemptView = {
      id: `op-${crypto.randomUUID()}`,
      source: 'operator',
      policy: null,
      service: name,
      trigger: { source: 'operator', metrics: {}, conditions: [] },
      actions: [],
      status: 'running',
      outcome: '',
      verified: null,
      startedAt: iso(startedAt),
      endedAt: null,
    };
    let status: 'succeeded' | 'failed';
    let message: string;
    try {
      message = await run();
      status = 'succeeded';
    } catch (error) {
      message = (error as Error).message;
      status = 'failed';
    }
    const endedAt = this.#clock.now();
    attempt.actions.push({ type, status, message, startedAt: iso(startedAt), endedAt: iso(endedAt) });
    attempt.status = status;
    attempt.outcome = `${type} by an operator ${status}: ${message}`;
    attempt.endedAt = iso(endedAt);
    this.#incidents.note(name, 'action', attempt.outcome, {
      data: { attempt: attempt.id, source: 'operator', type, status },
    });
    await this.#recordAttempt(attempt);
    this.#updateState(name);
    return attempt;
  }

  restartService(name: string): Promise<AttemptView> {
    return this.#operator(name, 'restart-service', async () => {
      this.#stopped.delete(name);
      if (this.#supervisor.replicas(name).length === 0) await this.#supervisor.startService(name);
      else await this.#supervisor.restart(name);
      return `restarted ${this.#desired.get(name)} replica(s)`;
    });
  }

  stopService(name: string): Promise<AttemptView> {
    return this.#operator(name, 'stop-service', async () => {
      this.#stopped.add(name);
      await this.#supervisor.stopService(name);
      return 'every replica stopped';
    });
  }

  startService(name: string): Promise<AttemptView> {
    return this.#operator(name, 'start-service', async () => {
      this.#stopped.delete(name);
      await this.#supervisor.startService(name);
      return `started ${this.#desired.get(name)} replica(s)`;
    });
  }

  scaleService(name: string, replicas: number): Promise<AttemptView> {
    const { min, max } = this.#known(name).replicas;
    if (!Number.isInteger(replicas) || replicas < min || replicas > max) {
      throw new InvalidRequestError(
        `replicas must be an integer from ${min} to ${max} for ${name}, got ${replicas}`,
        {
          min,
          max,
        },
      );
    }
    return this.#operator(name, 'scale', async () => {
      const from = this.#desired.get(name) ?? 0;
      this.#desired.set(name, replicas);
      await this.#supervisor.scale(name, replicas);
      return `scaled from ${from} to ${replicas} replicas`;
    });
  }

  policies(): PolicyView[] {
    return this.config.policies.map((policy) => ({
      name: policy.name,
      description: policy.description ?? null,
      services: [...policy.services],
      when: policy.when.map(describeCondition),
      do: policy.do.map((action) => action.type),
      priority: policy.priority,
      cooldownMs: policy.cooldownMs,
      enabled: policy.enabled,
    }));
  }

  async healing(filter: { service?: string; limit?: number } = {}): Promise<AttemptView[]> {
    await this.#writes;
    const records = await this.#store.records.list('attempt', {
      service: filter.service,
      limit: filter.limit ?? 100,
    });
    return records.map((record) => JSON.parse(record.data) as AttemptView);
  }

  async healingStats(): Promise<HealingStats> {
    const attempts = await this.healing({ limit: 100_000 });
    const succeeded = attempts.filter((attempt) => attempt.status === 'succeeded');
    const failed = attempts.filter(
      (attempt) => attempt.status === 'failed' || attempt.status === 'escalated',
    );
    const durations = succeeded
      .filter((attempt) => attempt.endedAt !== null)
      .map((attempt) => Date.parse(attempt.endedAt!) - Date.parse(attempt.startedAt));
    const finished = succeeded.length + failed.length;
    return {
      attempts: attempts.length,
      succeeded: succeeded.length,
      failed: failed.length,
      successRate: finished === 0 ? 1 : succeeded.length / finished,
      meanRecoveryMs:
        durations.length === 0 ? 0 : durations.reduce((sum, ms) => sum + ms, 0) / durations.length,
      escalations: (await this.#escalator.deliveries()).length,
    };
  }

  reliability(): Promise<ReliabilityView> {
    return this.#reliability.view();
  }

  async incidents(filter: { status?: IncidentStatus } = {}): Promise<IncidentSummaryView[]> {
    const incidents = await this.#incidents.list(filter.status === undefined ? 100 : 10_000);
    return incidents
      .filter((incident) => filter.status === undefined || incident.status === filter.status)
      .slice(0, 100)
      .map(incidentSummary);
  }

  async incident(id: string): Promise<IncidentView> {
    const incident = await this.#incidents.get(id);
    const workflow = await this.#workflows.get(id).catch(() => undefined);
    if (workflow?.name !== INCIDENT_RESPONSE) return incident;
    // A copy: the tracker's live incident is what it stores, and the playbook is not part of it.
    return {
      ...incident,
      playbook: {
        workflowId: workflow.id,
        status: workflow.status,
        steps: workflow.steps.map(({ name, status, attempts, startedAt, endedAt }) => ({
          name,
          status,
          attempts,
          startedAt: iso(startedAt),
          endedAt: iso(endedAt),
        })),
      },
    };
  }

  acknowledgeIncident(id: string): Promise<IncidentView> {
    return this.#incidents.acknowledge(id);
  }

  async resolveIncident(id: string): Promise<IncidentView> {
    const incident = await this.#incidents.resolve(id);
    this.#notifyResolved(incident, 'resolved by an operator');
    return incident;
  }

  addIncidentNote(id: string, text: string): Promise<IncidentView> {
    return this.#incidents.addNote(id, text);
  }

  async reload(): Promise<{ changed: string[] }> {
    const path = this.#options.configPath;
    if (!path) throw new InvalidRequestError('rebound up was started without a config file to reload');
    const next = await loadConfig(path);
    const before = Object.keys(this.config.services).sort().join(',');
    const after = Object.keys(next.services).sort().join(',');
    if (before !== after) {
      throw new InvalidRequestError(
        'adding or removing services needs a restart of rebound up; nothing was changed',
        {
          before: before.split(','),
          after: after.split(','),
        },
      );
    }
    const changed: string[] = [];
    const previous = this.config;
    // Services one at a time, dependencies first; the config switches only once every rollout
    // worked, so a failed one leaves the rest of the previous config (and its policies) in force.
    for (const service of AlertGate.order(this.#dependsOn()).map((name) => next.services[name]!)) {
      const old = previous.services[service.name]!;
      if (
        old.command !== service.command ||
        JSON.stringify(old.env) !== JSON.stringify(service.env) ||
        old.cwd !== service.cwd
      ) {
        try {
          await this.#supervisor.rollout(service);
        } catch (error) {
          const done = changed.length > 0 ? `; already rolled out: ${changed.join(', ')}` : '';
          throw new ConflictError(
            `rollout of ${service.name} failed and its previous revision keeps running: ${(error as Error).message}${done}`,
          );
        }
        this.config = { ...this.config, services: { ...this.config.services, [service.name]: service } };
        this.#rolledOutAt.set(service.name, this.#clock.now());
        changed.push(`services.${service.name}`);
        this.#incidents.note(
          service.name,
          'action',
          `rolled out revision ${this.#supervisor.revision(service.name)}`,
          { data: { revision: this.#supervisor.revision(service.name) } },
        );
      }
      if (old.replicas.count !== service.replicas.count) {
        await this.#supervisor.scale(service.name, service.replicas.count);
        this.#desired.set(service.name, service.replicas.count);
        changed.push(`services.${service.name}.replicas`);
      }
    }
    this.config = next;
    if (
      JSON.stringify([previous.policies, previous.limits, previous.permissions]) !==
      JSON.stringify([next.policies, next.limits, next.permissions])
    ) {
      this.#engine.updatePolicies(next.policies, next.limits, next.permissions);
      changed.push('policies');
    }
    return { changed };
  }
}

function severityOf(label: string | undefined): Severity {
  switch (label) {
    case 'critical':
    case 'page':
      return 'critical';
    case 'high':
    case 'error':
      return 'high';
    case 'low':
    case 'info':
      return 'low';
    default:
      return 'medium';
  }
}
