// The control plane's reliability figures: records the gateways' traffic per minute, answers the
// ReliabilityView over each service's SLO window, and tells when a burn-rate alert starts firing.

import type { Clock } from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import type { ReboundConfig } from './configTypes.ts';
import type { IncidentView, ReliabilityView } from './controlPlaneTypes.ts';
import {
  BURN_RATE_ALERTS,
  burnRate,
  burnRateAlerts,
  type IncidentTimes,
  reliabilityOf,
  reliabilityWindowMs,
  type ServiceReliabilityInput,
  type TrafficReader,
} from './reliability.ts';
import { type TrafficCounters, TrafficHistory } from './trafficHistory.ts';

const DAY_MS = 24 * 60 * 60_000;

/** A burn-rate alert that started firing. */
export interface BurnRateAlert {
  service: string;
  alert: 'fast' | 'slow';
  threshold: number;
  /** The burn rates of its long and short windows when it fired. */
  longBurnRate: number;
  shortBurnRate: number;
  longWindowMs: number;
  shortWindowMs: number;
}

export interface ReliabilityMonitorOptions {
  store: Store;
  clock: Clock;
  config: () => ReboundConfig;
  /** The gateways' counters now. */
  counters: () => Iterable<TrafficCounters>;
  /**
   * The incidents opened at or after `since` (the start of the longest SLO window): those a window
   * counts; any older ones given are ignored.
   */
  incidents: (since: number) => Promise<readonly IncidentView[]>;
  /** A burn-rate alert went from quiet to firing. */
  onAlert: (alert: BurnRateAlert) => void;
  onError: (error: Error) => void;
  flushEveryMs?: number;
}

export class ReliabilityMonitor {
  readonly history: TrafficHistory;
  readonly #options: ReliabilityMonitorOptions;
  /** `service/alert` of the alerts firing at the last check. */
  readonly #firing = new Set<string>();

  constructor(options: ReliabilityMonitorOptions) {
    this.#options = options;
    const longestDays = Math.max(
      0,
      ...Object.values(options.config().services).map((service) => reliabilityWindowMs(service.slo) / DAY_MS),
    );
    this.history = new TrafficHistory({
      store: options.store,
      clock: options.clock,
      read: options.counters,
      retentionMs: (longestDays + 1) * DAY_MS,
      flushEveryMs: options.flushEveryMs,
      onFlushed: (now) => this.#checkAlerts(now),
      onError: options.onError,
    });
  }

  start(): Promise<void> {
    return this.history.start();
  }

  close(): Promise<void> {
    return this.history.close();
  }

  async view(): Promise<ReliabilityView> {
    const now = this.#options.clock.now();
    const services = Object.entries(this.#options.config().services);
    const longestMs = Math.max(0, ...services.map(([, service]) => reliabilityWindowMs(service.slo)));
    const incidents = await this.#options.incidents(now - longestMs);
    // From memory: the counts since the last flush, and each window's running sums.
    this.history.sample();
    const inputs: Record<string, ServiceReliabilityInput> = {};
    for (const [name, service] of services) {
      const slo = service.slo ?? null;
      inputs[name] = {
        slo,
        traffic: this.#traffic(name, now),
        incidents: incidents.filter((incident) => incident.service === name).map(incidentTimes),
      };
    }
    return reliabilityOf(inputs, now);
  }

  #checkAlerts(now: number): void {
    for (const [name, service] of Object.entries(this.#options.config().services)) {
      if (!service.slo) continue;
      const traffic = this.#traffic(name, now);
      const alerts = burnRateAlerts(traffic, service.slo.target);
      for (const alert of ['fast', 'slow'] as const) {
        const key = `${name}/${alert}`;
        if (!alerts[alert]) {
          this.#firing.delete(key);
          continue;
        }
        if (this.#firing.has(key)) continue;
        this.#firing.add(key);
        const { longMs, shortMs, threshold } = BURN_RATE_ALERTS[alert];
        this.#options.onAlert({
          service: name,
          alert,
          threshold,
          longBurnRate: burnRate(traffic(longMs), service.slo.target) ?? 0,
          shortBurnRate: burnRate(traffic(shortMs), service.slo.target) ?? 0,
          longWindowMs: longMs,
          shortWindowMs: shortMs,
        });
      }
    }
  }

  #traffic(service: string, now: number): TrafficReader {
    return (windowMs) => this.history.totals(service, now, windowMs);
  }
}

function incidentTimes(incident: IncidentView): IncidentTimes {
  const resolvedAt = incident.resolvedAt === null ? null : Date.parse(incident.resolvedAt);
  return {
    openedAt: Date.parse(incident.openedAt),
    resolvedAt: resolvedAt !== null && Number.isFinite(resolvedAt) ? resolvedAt : null,
  };
}
