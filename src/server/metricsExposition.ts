// GET /metrics: the control plane in Prometheus text exposition, read from it at scrape time.
//
// Names follow Prometheus' conventions so that `promtool check metrics` accepts them: base units
// (seconds, ratios 0-1), `_total` only on counters. Hence `rebound_gateway_latency_seconds` with a
// `percentile` label: a `_ms` name and a `quantile` label on a gauge are both refused by promtool.

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type {
  ControlPlane,
  ForecastView,
  HealingStats,
  ReliabilityView,
  ReplicaState,
  ServiceState,
  ServiceView,
} from '../healing/index.ts';
import type { BreakerRegistryHealth, CircuitState } from '../policies/index.ts';

export interface MetricsExposition {
  /** `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  /** The exposition text, with every value read from the control plane now. */
  render(): Promise<string>;
}

export interface MetricsExpositionOptions {
  /** Include the process's metrics (CPU, memory, event loop, GC), prefixed `rebound_`; default true. */
  processMetrics?: boolean;
}

const SERVICE_STATES: readonly ServiceState[] = [
  'healthy',
  'degraded',
  'unhealthy',
  'critical',
  'recovering',
  'stopped',
];
const REPLICA_STATES: readonly ReplicaState[] = [
  'starting',
  'healthy',
  'unhealthy',
  'stopping',
  'stopped',
  'backoff',
];
const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
const PERCENTILES = [
  ['50', 'latency_p50'],
  ['95', 'latency_p95'],
  ['99', 'latency_p99'],
] as const;

/** What one scrape reads, taken once so that every metric of the scrape agrees. */
interface Snapshot {
  readonly services: readonly ServiceView[];
  readonly breakers: BreakerRegistryHealth;
  readonly stats: HealingStats;
  readonly reliability: ReliabilityView;
  readonly forecasts: readonly ForecastView[];
}

let processRegistry: Registry | undefined;

/**
 * The process's own metrics, registered once per process: they describe the process, not a
 * control plane, and prom-client's collectors (event-loop monitor, GC observer) live as long as it.
 */
function processMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'rebound_' });
    // Gauges named `_total`, which promtool refuses; each is the sum of the gauge of the same
    // name without the suffix, which stays (sum() gives it back).
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      processRegistry.removeSingleMetric(`rebound_${name}`);
    }
  }
  return processRegistry;
}

export function createMetricsExposition(
  controlPlane: ControlPlane,
  options: MetricsExpositionOptions = {},
): MetricsExposition {
  const own = new Registry();
  let snapshot: Snapshot | undefined;
  // Every metric reads the snapshot `render` took just before the registry collects.
  const collectFrom = <M extends { reset(): void }>(fill: (metric: M, scrape: Snapshot) => void) =>
    function (this: M): void {
      this.reset();
      if (snapshot) fill(this, snapshot);
    };
  const gauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (metric: Gauge<string>, scrape: Snapshot) => void,
  ): void => {
    new Gauge({ name, help, labelNames, registers: [own], collect: collectFrom(fill) });
  };
  const counter = (
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (metric: Counter<string>, scrape: Snapshot) => void,
  ): void => {
    new Counter({ name, help, labelNames, registers: [own], collect: collectFrom(fill) });
  };
  const gatewayGauge = (name: string, help: string, metric: string, scale = 1): void =>
    gauge(name, help, ['service'], (target, { services }) => {
      for (const service of services) {
        const value = service.gateway ? service.metrics[metric] : undefined;
        if (value !== undefined && Number.isFinite(value))
          target.set({ service: service.name }, value * scale);
      }
    });

  gauge(
    'rebound_build_info',
    'Always 1; the version of rebound running, as a label.',
    ['version'],
    (target) => target.set({ version: controlPlane.version }, 1),
  );
  gauge(
    'rebound_service_up',
    'Whether the service serves: 1 when healthy or degraded, 0 otherwise.',
    ['service'],
    (target, { services }) => {
      for (const service of services) {
        const up = service.state === 'healthy' || service.state === 'degraded';
        target.set({ service: service.name }, up ? 1 : 0);
      }
    },
  );
  gauge(
    'rebound_service_state',
    "The service's state: 1 for the current one, 0 for the others.",
    ['service', 'state'],
    (target, { services }) => {
      for (const service of services) {
        for (const state of SERVICE_STATES) {
          target.set({ service: service.name, state }, service.state === state ? 1 : 0);
        }
      }
    },
  );
  gauge(
    'rebound_replicas',
    "The service's replicas in each state.",
    ['service', 'state'],
    (target, { services }) => {
      for (const service of services) {
        for (const state of REPLICA_STATES) {
          const count = service.replicas.filter((replica) => replica.state === state).length;
          target.set({ service: service.name, state }, count);
        }
      }
    },
  );
  gatewayGauge(
    'rebound_gateway_requests_per_second',
    "Requests per second through the service's gateway over its window.",
    'throughput',
  );
  gauge(
    'rebound_gateway_latency_seconds',
    "Latency of requests through the service's gateway over its window, at the 50th, 95th and 99th percentile.",
    ['service', 'percentile'],
    (target, { services }) => {
      for (const service of services) {
        if (!service.gateway) continue;
        for (const [percentile, metric] of PERCENTILES) {
          const value = service.metrics[metric];
          if (value !== undefined && Number.isFinite(value)) {
            target.set({ service: service.name, percentile }, value / 1000);
          }
        }
      }
    },
  );
  gatewayGauge(
    'rebound_gateway_error_ratio',
    "Share of failed requests through the service's gateway over its window (0-1).",
    'error_rate',
  );
  gatewayGauge(
    'rebound_gateway_inflight',
    "Requests being served through the service's gateway now.",
    'inflight',
  );
  const gatewayCounter = (name: string, help: string, metric: string): void =>
    counter(name, help, ['service'], (target, { services }) => {
      for (const service of services) {
        const value = service.gateway ? service.metrics[metric] : undefined;
        if (value !== undefined && Number.isFinite(value)) target.inc({ service: service.name }, value);
      }
    });
  gatewayCounter(
    'rebound_gateway_requests_total',
    "Requests answered through the service's gateway since it started.",
    'requests_total',
  );
  gatewayCounter(
    'rebound_gateway_errors_total',
    "Failed requests (5xx answers, connection failures, timeouts) through the service's gateway since it started.",
    'errors_total',
  );
  counter(
    'rebound_replica_restarts_total',
    'Restarts of each replica since it was first started.',
    ['service', 'replica'],
    (target, { services }) => {
      for (const service of services) {
        for (const replica of service.replicas) {
          target.inc({ service: service.name, replica: replica.id }, replica.restarts);
        }
      }
    },
  );
  gauge(
    'rebound_circuit_state',
    "The circuit breaker's state: 1 for the current one, 0 for the others.",
    ['kind', 'name', 'state'],
    (target, { breakers }) => {
      for (const [kind, circuits] of Object.entries(breakers.kinds)) {
        for (const [name, circuit] of Object.entries(circuits)) {
          for (const state of CIRCUIT_STATES)
            target.set({ kind, name, state }, circuit.state === state ? 1 : 0);
        }
      }
    },
  );
  gauge(
    'rebound_circuit_health_ratio',
    "Share of the circuit breaker's recent calls that did not fail (0-1).",
    ['kind', 'name'],
    (target, { breakers }) => {
      for (const [kind, circuits] of Object.entries(breakers.kinds)) {
        for (const [name, circuit] of Object.entries(circuits)) {
          target.set({ kind, name }, circuit.healthPercent / 100);
        }
      }
    },
  );
  counter(
    'rebound_healing_attempts_total',
    'Healing attempts (policy, operator and supervisor) by how they ended; running ones are not finished yet.',
    ['status'],
    (target, { stats }) => {
      target.inc({ status: 'succeeded' }, stats.succeeded);
      target.inc({ status: 'failed' }, stats.failed);
      target.inc({ status: 'running' }, Math.max(0, stats.attempts - stats.succeeded - stats.failed));
    },
  );
  gauge(
    'rebound_healing_success_ratio',
    'Succeeded / finished healing attempts (0-1); 1 before any finished.',
    [],
    (target, { stats }) => target.set(stats.successRate),
  );
  gauge(
    'rebound_healing_mean_recovery_seconds',
    'Mean time from the start to the end of succeeded healing attempts; 0 before any.',
    [],
    (target, { stats }) => target.set(stats.meanRecoveryMs / 1000),
  );
  counter(
    'rebound_escalations_total',
    'Incidents escalated to the on-call targets.',
    [],
    (target, { stats }) => target.inc(stats.escalations),
  );

  gauge(
    'rebound_slo_availability',
    "Share of the service's gateway responses below 500 over its SLO window (30 days without an SLO), 0-1; absent without traffic.",
    ['service'],
    (target, { reliability }) => {
      for (const [service, figures] of Object.entries(reliability.services)) {
        if (figures.availability !== null) target.set({ service }, figures.availability);
      }
    },
  );
  gauge(
    'rebound_slo_error_budget_remaining',
    '1 - (1 - availability) / (1 - slo.target): 1 untouched, 0 spent, below 0 overspent; only for services with an SLO.',
    ['service'],
    (target, { reliability }) => {
      for (const [service, figures] of Object.entries(reliability.services)) {
        if (figures.errorBudgetRemaining !== null) target.set({ service }, figures.errorBudgetRemaining);
      }
    },
  );
  gauge(
    'rebound_slo_burn_rate',
    "The service's error rate over the window (1h, 6h) / (1 - slo.target); only for services with an SLO and traffic.",
    ['service', 'window'],
    (target, { reliability }) => {
      for (const [service, figures] of Object.entries(reliability.services)) {
        for (const window of ['1h', '6h'] as const) {
          const rate = figures.burnRate[window];
          if (rate !== null) target.set({ service, window }, rate);
        }
      }
    },
  );

  const forecastLabels = (forecast: ForecastView) => ({
    service: forecast.service,
    metric: forecast.metric,
    horizon_ms: String(forecast.horizonMs),
  });
  gauge(
    'rebound_forecast_value',
    "The value a predictive policy condition's metric is forecast to have horizon_ms from now (Holt's linear trend); absent until the forecast has enough samples.",
    ['service', 'metric', 'horizon_ms'],
    (target, { forecasts }) => {
      for (const forecast of forecasts) {
        if (forecast.predicted !== null) target.set(forecastLabels(forecast), forecast.predicted);
      }
    },
  );
  gauge(
    'rebound_forecast_error',
    "How far the forecast has been from what happened: measure mae (mean absolute error at the horizon, in the metric's unit), relative (that error / the mean observed value) and one_step_mae (from one sample to the next); absent before any is measured.",
    ['service', 'metric', 'horizon_ms', 'measure'],
    (target, { forecasts }) => {
      for (const forecast of forecasts) {
        const { mae, relative, oneStepMae } = forecast.error;
        for (const [measure, value] of [
          ['mae', mae],
          ['relative', relative],
          ['one_step_mae', oneStepMae],
        ] as const) {
          if (value !== null) target.set({ ...forecastLabels(forecast), measure }, value);
        }
      }
    },
  );

  const registry = options.processMetrics === false ? own : Registry.merge([own, processMetricsRegistry()]);
  return {
    contentType: registry.contentType,
    async render() {
      const stats = await controlPlane.healingStats();
      const reliability = await controlPlane.reliability();
      snapshot = {
        services: controlPlane.services(),
        breakers: controlPlane.breakers.health(),
        stats,
        reliability,
        forecasts: controlPlane.forecasts(),
      };
      return registry.metrics();
    },
  };
}
