// `rebound up`'s engine room: starts the supervisor, a gateway per service, the scrapers and the
// policy engine, wires the modules that turn what they see into signals, states, attempts,
// incidents and pages, and answers the ControlPlane interface the HTTP API and the CLI use.

import { readFileSync } from 'node:fs';
import type { ChaosRuns, ExperimentScheduler } from '../chaos/index.ts';
import { type WorkflowEngine, workflows } from '../durable/index.ts';
import { BreakerRegistry, type Clock, systemClock } from '../policies/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { AlertGate } from './alertGate.ts';
import { type Autoscaling, controlPlaneAutoscaling } from './autoscaling.ts';
import type { ReboundConfig, ServiceConfig } from './configTypes.ts';
import { controlPlaneChaos } from './controlPlaneChaos.ts';
import { controlPlaneEngine } from './controlPlaneEngine.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import { ControlPlaneOperations } from './controlPlaneOperations.ts';
import { controlPlanePlaybook, PlaybookStarts } from './controlPlanePlaybook.ts';
import { ControlPlaneRecords } from './controlPlaneRecords.ts';
import { SignalIntake } from './controlPlaneSignals.ts';
import { dependsOnOf, ServiceStates } from './controlPlaneStates.ts';
import type {
  AlertmanagerPayload,
  AttemptView,
  ControlPlane,
  ControllerLevel,
  ControllerView,
  ForecastView,
  HealingStats,
  IncidentStatus,
  IncidentSummaryView,
  IncidentView,
  MetricsEvent,
  PolicyView,
  ReliabilityView,
  ServiceView,
} from './controlPlaneTypes.ts';
import { healingStatsOf, incidentWithPlaybook, policyView, serviceView } from './controlPlaneViews.ts';
import { UnknownServiceError } from './errors.ts';
import { Escalator } from './escalation.ts';
import { type Forecasts, forecasts } from './forecasts.ts';
import { type Gateway, startGateway } from './gateway.ts';
import type { ControlHierarchy } from './hierarchy.ts';
import { controlPlaneHierarchy, persistedDecisions } from './hierarchyPlane.ts';
import { registerIncidentPlaybook } from './incidentPlaybook.ts';
import { IncidentResponse } from './incidentResponse.ts';
import { IncidentTracker, incidentSummary } from './incidents.ts';
import type { PolicyEngine } from './policyEngine.ts';
import { ReliabilityMonitor } from './reliabilityMonitor.ts';
import { Supervisor } from './supervisor.ts';
import { SupervisorHealing } from './supervisorHealing.ts';

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

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

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
  readonly #supervisor: Supervisor;
  readonly #gateways = new Map<string, Gateway>();
  readonly #gatewayStartedAt = new Map<string, number>();
  readonly #gate: AlertGate;
  readonly #incidents: IncidentTracker;
  readonly #escalator: Escalator;
  readonly #reliability: ReliabilityMonitor;
  /** Durable workflows on the store: each incident's playbook (`incident-response`). */
  readonly #workflows: WorkflowEngine;
  readonly #playbooks: PlaybookStarts;
  readonly #engine: PolicyEngine;
  readonly #records: ControlPlaneRecords;
  readonly #states: ServiceStates;
  readonly #signals: SignalIntake;
  readonly #response: IncidentResponse;
  readonly #restarts: SupervisorHealing;
  readonly #operations: ControlPlaneOperations;
  readonly #autoscaling: Autoscaling;
  /** The controllers per service, group and the global one (docs/control.md). */
  readonly #hierarchy: ControlHierarchy;
  /** The forecasts predictive policy conditions watch, fed by #tick. */
  readonly #forecasts: Forecasts;
  readonly #rolledOutAt = new Map<string, number>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #unsubscribe: (() => void)[] = [];
  #closed = false;

  constructor(options: StartControlPlaneOptions, store: Store, ownsStore: boolean) {
    this.#options = options;
    this.config = options.config;
    this.#store = store;
    this.#ownsStore = ownsStore;
    const clock = (this.#clock = options.clock ?? systemClock);
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.breakers = new BreakerRegistry({ clock });
    this.#records = new ControlPlaneRecords({ store, clock, log });
    this.#supervisor = new Supervisor({
      store,
      clock,
      log,
      reservedPorts: () => reservedPorts(this.config),
      canRestart: (service) => {
        const down = this.#states.downDependencies(service);
        return down.length > 0 ? `waiting for its dependency ${down.join(', ')} to recover` : undefined;
      },
    });
    this.#gate = new AlertGate({
      dependsOn: dependsOnOf(this.config),
      isDown: (service) => this.#states.isDown(service),
      isRecovering: (service) => this.#states.state(service) === 'recovering',
    });
    const incidents = (this.#incidents = new IncidentTracker({
      store,
      clock,
      groupWindowMs: this.config.incidents.groupWindowMs,
    }));
    this.#escalator = new Escalator({
      targets: this.config.escalation,
      store,
      clock,
      breakers: this.breakers,
    });
    const context: ControlPlaneContext = {
      config: () => this.config,
      clock,
      log,
      store,
      supervisor: this.#supervisor,
      gateways: this.#gateways,
      incidents,
      gate: this.#gate,
      engine: () => this.#engine,
      state: (service) => this.#states.state(service),
      updateState: (service) => this.#states.updateState(service),
      severityFor: (service, signal) => this.#states.severityFor(service, signal),
      metricsOf: (service) => this.#signals.metricsOf(service),
      known: (service) => this.#known(service),
      attempts: (filter) => this.healing(filter),
      page: (...args) => this.#response.page(...args),
      recordAttempt: (attempt) => this.#records.recordAttempt(attempt),
      recordEvent: (...args) => this.#records.recordEvent(...args),
    };
    this.#states = new ServiceStates({
      ...context,
      breakers: this.breakers,
      restarting: (service) => this.#restarts.running(service) !== undefined,
      recordHistory: (...args) => this.#records.recordHistory(...args),
    });
    this.#response = new IncidentResponse({
      ...context,
      escalator: this.#escalator,
      healthySince: (service) => this.#states.healthySince.get(service),
    });
    this.#signals = new SignalIntake({
      ...context,
      gatewayStartedAt: this.#gatewayStartedAt,
      pager: this.#response,
    });
    this.#restarts = new SupervisorHealing(context);
    this.#reliability = new ReliabilityMonitor({
      store,
      clock,
      config: context.config,
      counters: () =>
        [...this.#gateways].map(([service, gateway]) => {
          const { requests_total, errors_total } = gateway.metrics();
          return { service, requestsTotal: requests_total, errorsTotal: errors_total };
        }),
      incidents: (since) => incidents.unchangedList(since),
      onAlert: (alert) => this.#signals.ingestBurnRate(alert),
      onError: (error) => log(`rebound: could not record traffic: ${error.message}`),
    });
    this.#forecasts = forecasts({ clock, config: () => this.config });
    const healing = controlPlaneEngine({
      ...context,
      predict: (service, metric, horizonMs) => this.#forecasts.predict(service, metric, horizonMs),
      verifyWithinMs: options.verifyWithinMs,
      downDependencies: (service) => this.#states.downDependencies(service),
      rolledOutAt: this.#rolledOutAt,
      desired: this.#states.desired,
      holdPage: (...args) => this.#response.holdPage(...args),
      // A failed healing goes to the service's controller first; the global one pages as before.
      escalate: async (...args) => {
        await this.#hierarchy.healingFailed(...args);
      },
    });
    this.#engine = healing.engine;
    this.#unsubscribe.push(this.#engine.onAttempt((attempt) => this.#response.onPolicyAttempt(attempt)));
    this.#workflows = workflows(store);
    this.#unsubscribe.push(
      this.#workflows.onError(({ during, error }) =>
        log(`rebound: workflows (${during}) failed: ${(error as Error).message}`),
      ),
    );
    this.#playbooks = new PlaybookStarts({
      ...context,
      workflows: this.#workflows,
      closed: () => this.#closed,
    });
    const plane = controlPlanePlaybook({
      ...context,
      actuator: healing.actuator,
      reliability: () => this.#reliability.view(),
      desiredReplicas: (service) => this.#states.desired.get(service) ?? 0,
      downDependencies: (service) => this.#states.downDependencies(service),
      alerting: (service) => this.#signals.alerting(service),
      restarting: (service) => this.#restarts.running(service),
    });
    registerIncidentPlaybook(this.#workflows, plane, { store, ...options.playbook });
    this.#operations = new ControlPlaneOperations({
      ...context,
      setConfig: (next) => {
        this.config = next;
      },
      configPath: options.configPath,
      stopped: this.#states.stopped,
      desired: this.#states.desired,
      rolledOutAt: this.#rolledOutAt,
    });
    this.#hierarchy = controlPlaneHierarchy({
      ...context,
      actuator: healing.actuator,
      takeAction: healing.takeAction,
      escalate: (...args) => this.#response.escalate(...args),
      stopped: this.#states.stopped,
    });
    this.#autoscaling = controlPlaneAutoscaling({
      ...context,
      stopped: this.#states.stopped,
      desired: this.#states.desired,
      restarting: (service) => this.#restarts.running(service) !== undefined,
      // Wants more than its max: the service's controller escalates (group sheds, global adds or pages).
      saturated: (service, decision) => void this.#hierarchy.saturated(service, decision),
    });
    // Built from the config at start: a reload leaves the schedules as they were.
    const chaos = controlPlaneChaos({ ...context, plane: this, schedules: this.config.chaos.schedules });
    this.chaos = chaos.runs;
    this.chaosSchedules = chaos.schedules;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    await this.#incidents.resume();
    this.#hierarchy.remember(await persistedDecisions(this.#store));
    // After the incidents: a resumed playbook finds its incident.
    await this.#workflows.recover();
    await this.chaos.recover();
    await this.#escalator.resume();
    this.#unsubscribe.push(this.#supervisor.onEvent((event) => this.#restarts.onEvent(event)));
    this.#unsubscribe.push(
      this.#supervisor.onUpstreamsChange(({ service }) =>
        this.#gateways.get(service)?.setUpstreams(this.#supervisor.upstreams(service)),
      ),
    );
    for (const service of Object.values(this.config.services)) {
      this.#states.desired.set(service.name, service.replicas.count);
      if (service.gateway) await this.#startGateway(service);
    }
    await this.#reliability.start();
    const order = AlertGate.order(dependsOnOf(this.config)).map((name) => this.config.services[name]!);
    await this.#supervisor.start(order);
    for (const service of order) {
      this.#gateways.get(service.name)?.setUpstreams(this.#supervisor.upstreams(service.name));
      if (service.metrics) this.#timers.push(this.#signals.scrapeEvery(service));
    }
    const every = this.#options.evaluateEveryMs ?? 1000;
    this.#timers.push(setInterval(() => this.#tick(), every));
    this.#tick();
    // Once the services run: a scheduled experiment has something to break.
    this.chaosSchedules.start();
    this.#autoscaling.start();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // First: no autoscaling decision may scale a service while everything stops (a scale under way
    // settles once the supervisor stops, and is awaited then).
    const autoscalingStopped = this.#autoscaling.stop();
    // Then: no scheduled run may start while everything else stops.
    this.chaosSchedules.stop();
    for (const timer of this.#timers) clearInterval(timer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#engine.close();
    const hierarchyClosed = this.#hierarchy.close();
    // Before the supervisor stops: a playbook step cut short here runs again when it resumes.
    await this.#workflows.close();
    await this.chaos.stopAll('rebound up is stopping');
    await this.#supervisor.stop();
    await autoscalingStopped;
    await hierarchyClosed;
    await Promise.all([...this.#gateways.values()].map((gateway) => gateway.close()));
    // After the gateways: the last requests they answered are counted too.
    await this.#reliability.close();
    await this.#escalator.close();
    await this.#records.settled();
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

  #tick(): void {
    if (this.#closed) return;
    void this.#hierarchy.tick();
    for (const name of Object.keys(this.config.services)) {
      this.#states.updateState(name);
      this.#states.trackHealthy(name);
      // A service its group shed stays in fallback mode until the hierarchy restores it.
      if (!this.#hierarchy.isShed(name)) this.#states.liftTemporaryModes(name);
      this.#response.resolveIfQuiet(name);
      this.#playbooks.start(name);
      if (this.#states.stopped.has(name) || this.#supervisor.isCritical(name)) continue;
      const metrics = this.#signals.metricsOf(name);
      this.#forecasts.observe(name, metrics);
      this.#signals.evaluate({ service: name, metrics, source: 'gateway' });
    }
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
    return serviceView(name, {
      config: this.#known(name),
      state: this.#states.state(name),
      gateway: this.#gateways.get(name),
      supervisor: this.#supervisor,
      metrics: this.#signals.metricsOf(name),
    });
  }

  ingestEvent(event: MetricsEvent): Promise<{ accepted: true }> {
    return this.#signals.ingestEvent(event);
  }

  ingestAlerts(payload: AlertmanagerPayload): Promise<{ accepted: number }> {
    return this.#signals.ingestAlerts(payload);
  }

  restartService(name: string): Promise<AttemptView> {
    return this.#operations.restartService(name);
  }

  stopService(name: string): Promise<AttemptView> {
    return this.#operations.stopService(name);
  }

  startService(name: string): Promise<AttemptView> {
    return this.#operations.startService(name);
  }

  scaleService(name: string, replicas: number): Promise<AttemptView> {
    return this.#operations.scaleService(name, replicas);
  }

  forecasts(): ForecastView[] {
    return this.#forecasts.views();
  }

  controllers(filter: { level?: ControllerLevel } = {}): ControllerView[] {
    return this.#hierarchy.views(filter);
  }

  reload(): Promise<{ changed: string[] }> {
    return this.#operations.reload();
  }

  policies(): PolicyView[] {
    return this.config.policies.map(policyView);
  }

  healing(filter: { service?: string; limit?: number } = {}): Promise<AttemptView[]> {
    return this.#records.attempts(filter);
  }

  async healingStats(): Promise<HealingStats> {
    const attempts = await this.healing({ limit: 100_000 });
    return healingStatsOf(attempts, (await this.#escalator.deliveries()).length);
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
    return incidentWithPlaybook(incident, await this.#workflows.get(id).catch(() => undefined));
  }

  acknowledgeIncident(id: string): Promise<IncidentView> {
    return this.#incidents.acknowledge(id);
  }

  async resolveIncident(id: string): Promise<IncidentView> {
    const incident = await this.#incidents.resolve(id);
    this.#response.notifyResolved(incident, 'resolved by an operator');
    return incident;
  }

  addIncidentNote(id: string, text: string): Promise<IncidentView> {
    return this.#incidents.addNote(id, text);
  }
}

/** The ports the config gives to rebound's own listeners, which replicas must not be given. */
function reservedPorts(config: ReboundConfig): Set<number> {
  const ports = new Set<number>([config.server.port]);
  for (const service of Object.values(config.services)) {
    if (service.gateway) ports.add(service.gateway.port);
  }
  if (config.chaos.proxyApi) ports.add(config.chaos.proxyApi.port);
  for (const proxy of config.chaos.proxies) {
    const port = Number(proxy.listen.slice(proxy.listen.lastIndexOf(':') + 1));
    if (Number.isInteger(port)) ports.add(port);
  }
  ports.delete(0);
  return ports;
}
