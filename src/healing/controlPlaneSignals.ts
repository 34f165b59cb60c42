// The control plane's signal intake: metrics scraped from the replicas, events posted to the API,
// Alertmanager alerts and burn-rate alerts; the metrics merged with the gateway's traffic are what
// the policies are evaluated against.

import { burnRateSignal } from './burnRateSignal.ts';
import type { ServiceConfig, Severity } from './configTypes.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { AlertmanagerPayload, MetricsEvent } from './controlPlaneTypes.ts';
import type { Notification } from './escalation.ts';
import type { Signal } from './policyEngine.ts';
import { parsePrometheusText, serviceMetricsFromSamples } from './prometheusText.ts';
import type { BurnRateAlert } from './reliabilityMonitor.ts';
import { alertMetrics, alertService } from './signalSchemas.ts';

/** Gateway metrics are not judged before a gateway has seen this long (no "throughput 0" at start). */
const GATEWAY_WARMUP_MS = 10_000;
/** Posted and scraped metrics older than this are forgotten. */
const METRICS_TTL_MS = 60_000;

interface TimedMetrics {
  metrics: Record<string, number>;
  at: number;
}

/** What the signal intake pages through (incidentResponse.ts). */
export interface SignalPager {
  notification(service: string, severity: Severity, summary: string, tried: string[]): Notification;
  suppress(service: string, notification: Notification, reason: string, dependency?: string): void;
  send(notification: Notification): Promise<void>;
}

export interface SignalIntakeOptions extends Pick<
  ControlPlaneContext,
  | 'config'
  | 'clock'
  | 'log'
  | 'supervisor'
  | 'gateways'
  | 'engine'
  | 'gate'
  | 'incidents'
  | 'known'
  | 'severityFor'
  | 'recordEvent'
> {
  /** When each gateway started (epoch ms): its traffic is judged only after the warm-up. */
  gatewayStartedAt: ReadonlyMap<string, number>;
  pager: SignalPager;
}

export class SignalIntake {
  readonly #options: SignalIntakeOptions;
  readonly #posted = new Map<string, TimedMetrics>();
  readonly #scraped = new Map<string, TimedMetrics>();
  /** Firing Alertmanager alerts per service: fingerprint → metrics it contributes. */
  readonly #alerts = new Map<string, Map<string, Record<string, number>>>();

  constructor(options: SignalIntakeOptions) {
    this.#options = options;
  }

  /** Whether an Alertmanager alert about the service is firing. */
  alerting(service: string): boolean {
    return (this.#alerts.get(service)?.size ?? 0) > 0;
  }

  /** Everything known about a service now, by metric name: what policies are evaluated against. */
  metricsOf(service: string): Record<string, number> {
    const now = this.#options.clock.now();
    const metrics: Record<string, number> = {};
    const gateway = this.#options.gateways.get(service);
    if (gateway && now - this.#options.gatewayStartedAt.get(service)! >= GATEWAY_WARMUP_MS) {
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
    const replicas = this.#options.supervisor.replicas(service);
    metrics.replicas = replicas.length;
    metrics.healthy_replicas = replicas.filter((replica) => replica.state === 'healthy').length;
    for (const source of [this.#scraped.get(service), this.#posted.get(service)]) {
      if (source && now - source.at <= METRICS_TTL_MS) Object.assign(metrics, source.metrics);
    }
    for (const alert of this.#alerts.get(service)?.values() ?? []) Object.assign(metrics, alert);
    return metrics;
  }

  evaluate(signal: Signal): void {
    const engine = this.#options.engine();
    if (engine.isHealing(signal.service)) return;
    if (engine.matching(signal.service, signal.metrics).length === 0) return;
    engine.evaluate(signal).catch((error: unknown) => {
      this.#options.log(
        `rebound: evaluating policies for ${signal.service} failed: ${(error as Error).message}`,
      );
    });
  }

  /** Scrapes the service's metrics every `metrics.intervalMs`; the caller clears the timer. */
  scrapeEvery(service: ServiceConfig): ReturnType<typeof setInterval> {
    const { path, intervalMs } = service.metrics!;
    const scrape = async (): Promise<void> => {
      const [upstream] = this.#options.supervisor.upstreams(service.name);
      if (!upstream) return;
      try {
        const response = await fetch(`http://${upstream.host}:${upstream.port}${path}`, {
          signal: AbortSignal.timeout(Math.min(intervalMs, 2000)),
        });
        if (!response.ok) return;
        const { samples } = parsePrometheusText(await response.text());
        this.#scraped.set(service.name, {
          metrics: serviceMetricsFromSamples(samples),
          at: this.#options.clock.now(),
        });
      } catch {
        // A replica that does not answer its metrics is the probes' business, not the scraper's.
      }
    };
    return setInterval(() => void scrape(), intervalMs);
  }

  async ingestEvent(event: MetricsEvent): Promise<{ accepted: true }> {
    this.#options.known(event.service);
    const previous = this.#posted.get(event.service);
    const now = this.#options.clock.now();
    const metrics = previous && now - previous.at <= METRICS_TTL_MS ? { ...previous.metrics } : {};
    this.#posted.set(event.service, { metrics: Object.assign(metrics, event.metrics), at: now });
    await this.#options.recordEvent(event.service, 'event', { metrics: event.metrics });
    this.evaluate({ service: event.service, metrics: this.metricsOf(event.service), source: 'event' });
    return { accepted: true };
  }

  async ingestAlerts(payload: AlertmanagerPayload): Promise<{ accepted: number }> {
    const { incidents, gate, pager } = this.#options;
    let accepted = 0;
    for (const alert of payload.alerts) {
      const service = alertService(alert);
      const name = alert.labels.alertname ?? 'alert';
      await this.#options.recordEvent(service ?? null, 'alert', {
        status: alert.status,
        alertname: name,
        fingerprint: alert.fingerprint,
        labels: alert.labels,
        annotations: alert.annotations,
      });
      accepted++;
      if (!service || !this.#options.config().services[service]) continue;
      const firing = this.#alerts.get(service) ?? new Map<string, Record<string, number>>();
      this.#alerts.set(service, firing);
      if (alert.status === 'resolved') {
        firing.delete(alert.fingerprint);
        incidents.note(service, 'signal', `alert ${name} resolved`, {
          data: { alertname: name, fingerprint: alert.fingerprint, status: 'resolved' },
        });
        continue;
      }
      firing.set(alert.fingerprint, alertMetrics(alert));
      const summary = alert.annotations.summary ?? alert.annotations.description ?? name;
      incidents.note(service, 'signal', `alert ${name} firing: ${summary}`, {
        opens: true,
        severity: this.#options.severityFor(service, severityOf(alert.labels.severity)),
        data: { alertname: name, fingerprint: alert.fingerprint, status: 'firing', labels: alert.labels },
      });
      const metrics = this.metricsOf(service);
      const notification = pager.notification(
        service,
        severityOf(alert.labels.severity),
        `${name}: ${summary}`,
        [],
      );
      const decision = gate.decide(service);
      if (!decision.send && decision.reason === 'dependency-down') {
        pager.suppress(service, notification, decision.reason, decision.dependency);
      } else if (!decision.send || this.#options.engine().matching(service, metrics).length > 0) {
        // Recovering, or a policy may heal it: the alert waits for the verdict (sent if healing fails).
        gate.hold(service, notification);
        incidents.note(service, 'suppressed', `alert ${name} held back while ${service} heals`, {
          data: {
            alertname: name,
            fingerprint: alert.fingerprint,
            reason: decision.send ? 'healing' : 'recovering',
          },
        });
        if (decision.send) this.#healAlert(service, metrics, name);
      } else {
        await pager.send(notification);
      }
    }
    return { accepted };
  }

  /** A burn-rate alert of the reliability monitor that started firing: an incident signal. */
  ingestBurnRate(alert: BurnRateAlert): void {
    const signal = burnRateSignal(alert);
    this.#options.log(`rebound: ${signal.summary}`);
    void this.#options.recordEvent(alert.service, 'burn-rate', { ...alert, summary: signal.summary });
    this.#options.incidents.note(alert.service, 'signal', signal.summary, {
      opens: true,
      severity: this.#options.severityFor(alert.service, signal.level),
      title: signal.title,
      data: signal.data,
    });
  }

  /** Runs the policies for an alert; when none could run (all in cooldown), the held alert goes out. */
  #healAlert(service: string, metrics: Record<string, number>, name: string): void {
    const engine = this.#options.engine();
    if (engine.isHealing(service)) return; // the running attempt's verdict releases it
    const release = (): void => {
      for (const held of this.#options.gate.release(service)) void this.#options.pager.send(held);
    };
    engine.evaluate({ service, metrics, source: 'alertmanager', detail: name }).then(
      (attempts) => {
        if (!attempts || attempts.length === 0) release();
      },
      (error: unknown) => {
        this.#options.log(`rebound: evaluating policies for ${service} failed: ${(error as Error).message}`);
        release();
      },
    );
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
