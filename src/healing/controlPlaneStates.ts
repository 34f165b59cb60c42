// Each service's state as `rebound up` sees it (healthy, degraded, recovering, …), its dependencies,
// the severity a signal gives its incident, and the gateway's temporary modes lifted once it is healthy.

import type { BreakerRegistry } from '../policies/index.ts';
import type { ReboundConfig, Severity } from './configTypes.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { ServiceState } from './controlPlaneTypes.ts';
import { incidentSeverity } from './incidents.ts';

/** Fallback mode is lifted after this long once every desired replica is healthy again. */
const FALLBACK_HOLD_MS = 30_000;
/** A failed-over service fails back after being fully healthy this long. */
const FAILBACK_AFTER_MS = 5_000;

export interface ServiceStatesOptions extends Pick<
  ControlPlaneContext,
  'config' | 'clock' | 'supervisor' | 'gateways' | 'incidents' | 'gate' | 'engine' | 'metricsOf'
> {
  breakers: BreakerRegistry;
  /** Whether the supervisor is restarting one of the service's replicas. */
  restarting: (service: string) => boolean;
  recordHistory: (service: string, from: string, to: ServiceState) => Promise<void>;
}

/** Every service's dependencies by name, from the config. */
export function dependsOnOf(config: ReboundConfig): Record<string, string[]> {
  return Object.fromEntries(
    Object.values(config.services).map((service) => [service.name, [...service.dependsOn]]),
  );
}

export class ServiceStates {
  /** Services an operator stopped. */
  readonly stopped = new Set<string>();
  /** How many replicas each service should run. */
  readonly desired = new Map<string, number>();
  /** Since when every desired replica of the service has been healthy. */
  readonly healthySince = new Map<string, number>();
  readonly #states = new Map<string, ServiceState>();
  readonly #fallbackSince = new Map<string, number>();
  readonly #options: ServiceStatesOptions;

  constructor(options: ServiceStatesOptions) {
    this.#options = options;
  }

  state(service: string): ServiceState {
    return this.#states.get(service) ?? 'recovering';
  }

  #deriveState(service: string): ServiceState {
    const { supervisor } = this.#options;
    if (this.stopped.has(service)) return 'stopped';
    if (supervisor.isCritical(service)) return 'critical';
    const desired = this.desired.get(service) ?? 0;
    const healthy = supervisor.upstreams(service).length;
    const restarting = this.#options.restarting(service);
    if (this.#options.engine().isHealing(service) || restarting) return 'recovering';
    if (desired > 0 && healthy === 0) {
      // Replicas on their way up (first start, restart back-off) make it recovering, not unhealthy.
      const coming = supervisor
        .replicas(service)
        .some((replica) => replica.state === 'starting' || replica.state === 'backoff');
      return coming ? 'recovering' : 'unhealthy';
    }
    const gateway = this.#options.gateways.get(service);
    const breakerOpen =
      gateway?.breakerEnabled && this.#options.breakers.health().kinds.gateway?.[service]?.state === 'open';
    if (healthy < desired || gateway?.fallbackMode || gateway?.failover || breakerOpen) return 'degraded';
    return 'healthy';
  }

  updateState(service: string): void {
    const { incidents } = this.#options;
    const state = this.#deriveState(service);
    const previous = this.#states.get(service);
    if (state === previous) return;
    this.#states.set(service, state);
    if (previous === undefined && state !== 'unhealthy' && state !== 'critical') return;
    const from = previous ?? 'starting';
    void this.#options.recordHistory(service, from, state);
    const bad = state === 'unhealthy' || state === 'critical';
    incidents.note(service, 'signal', `${service} ${from} → ${state}`, {
      opens: bad,
      severity: bad ? this.severityFor(service, 'critical') : undefined,
      title: bad ? `${service} is ${state}` : undefined,
      data: { from, to: state, metrics: this.#options.metricsOf(service) },
    });
    if (state === 'healthy') {
      // Alerts held while it recovered are not sent: it recovered (they stay on the timeline).
      for (const held of this.#options.gate.drop(service)) {
        incidents.note(service, 'suppressed', `page not sent (recovered): ${held.summary}`, {
          data: { reason: 'recovered', page: held.id },
        });
      }
    }
  }

  /** The severity a signal gives the service's incident (SPEC 6): the rules, else no healthy replica. */
  severityFor(service: string, signal: Severity): Severity {
    return incidentSeverity({
      rules: this.#options.config().incidents.severity,
      metrics: this.#options.metricsOf(service),
      noHealthyReplica: !this.stopped.has(service) && this.isDown(service),
      signal,
    });
  }

  /** Since when every desired replica of the service has been healthy (for failback and resolution). */
  trackHealthy(service: string): void {
    const fullyHealthy =
      this.#options.supervisor.upstreams(service).length >= (this.desired.get(service) ?? 0);
    if (!fullyHealthy || this.stopped.has(service)) this.healthySince.delete(service);
    else if (!this.healthySince.has(service)) this.healthySince.set(service, this.#options.clock.now());
  }

  liftTemporaryModes(service: string): void {
    const { incidents } = this.#options;
    const gateway = this.#options.gateways.get(service);
    if (!gateway) return;
    const now = this.#options.clock.now();
    const healthySince = this.healthySince.get(service);
    const fullyHealthy = healthySince !== undefined;
    const healthyFor = now - (healthySince ?? now);

    if (gateway.fallbackMode) {
      if (!this.#fallbackSince.has(service)) this.#fallbackSince.set(service, now);
      if (fullyHealthy && now - this.#fallbackSince.get(service)! >= FALLBACK_HOLD_MS) {
        gateway.setFallbackMode(false);
        this.#fallbackSince.delete(service);
        incidents.note(service, 'action', 'fallback mode lifted: every replica healthy', {
          data: { action: 'fallback-mode', enabled: false },
        });
      }
    } else this.#fallbackSince.delete(service);

    if (gateway.failover && fullyHealthy && healthyFor >= FAILBACK_AFTER_MS) {
      const target = gateway.failover;
      gateway.setFailover(undefined);
      incidents.note(service, 'action', `failed back from ${target}: ${service} healthy again`, {
        data: { action: 'failover', target, enabled: false },
      });
    }
  }

  isDown(service: string): boolean {
    const { supervisor } = this.#options;
    if (this.stopped.has(service) || supervisor.isCritical(service)) return true;
    return (this.desired.get(service) ?? 0) > 0 && supervisor.upstreams(service).length === 0;
  }

  downDependencies(service: string): string[] {
    return this.#options.gate.downDependencies(service);
  }
}
