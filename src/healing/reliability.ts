// Reliability figures (SPEC 6) as pure functions of recorded traffic (minutes, or the sums over
// each window) and incidents at a given `now`: availability, error budget, MTTR, MTBF, burn rates
// and the multiwindow burn-rate alerts of the Google SRE workbook (fast: 14.4× over 1 h and 5 min;
// slow: 6× over 6 h and 30 min).

import type { SloConfig } from './configTypes.ts';
import type { ReliabilityView, ServiceReliabilityView } from './controlPlaneTypes.ts';
import type { TrafficTotals } from './trafficHistoryLedger.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** The window of a service without an SLO: the config's default `slo.windowDays`. */
export const DEFAULT_RELIABILITY_WINDOW_DAYS = 30;

/** The two multiwindow alerts: a long window to be significant, a short one to confirm it is still burning. */
export const BURN_RATE_ALERTS = Object.freeze({
  fast: Object.freeze({ longMs: HOUR_MS, shortMs: 5 * MINUTE_MS, threshold: 14.4 }),
  slow: Object.freeze({ longMs: 6 * HOUR_MS, shortMs: 30 * MINUTE_MS, threshold: 6 }),
});

/** Relative slack under a threshold that still counts as reaching it (rounding, not a real difference). */
const THRESHOLD_TOLERANCE = 1e-9;

/** A service's gateway traffic in one minute: `at` is the minute's start. */
export interface TrafficMinute {
  at: number;
  requests: number;
  errors: number;
}

/** When an incident opened and, once resolved, when it resolved (epoch ms). */
export interface IncidentTimes {
  openedAt: number;
  resolvedAt: number | null;
}

/** A service's requests and errors over the `windowMs` up to the moment the figures are for. */
export type TrafficReader = (windowMs: number) => TrafficTotals;

export interface ServiceReliabilityInput {
  slo: SloConfig | null;
  /** The service's incidents, in any order; those opened outside the window are ignored. */
  incidents: readonly IncidentTimes[];
  /** The sums over each window: the running sums the reliability monitor keeps, or `readMinutes`. */
  traffic: TrafficReader;
}

/** The SLO window: `slo.windowDays`, or the default 30 days without an SLO. */
export function reliabilityWindowMs(slo: SloConfig | null | undefined): number {
  return (slo?.windowDays ?? DEFAULT_RELIABILITY_WINDOW_DAYS) * DAY_MS;
}

/** Requests and errors of the minutes that started within `windowMs` before `now` (and not after it). */
export function trafficIn(minutes: readonly TrafficMinute[], now: number, windowMs: number): TrafficTotals {
  let requests = 0;
  let errors = 0;
  const since = now - windowMs;
  for (const minute of minutes) {
    if (minute.at < since || minute.at > now) continue;
    requests += minute.requests;
    errors += minute.errors;
  }
  return { requests, errors };
}

/** A reader of recorded minutes at `now`: each window sums the minutes in it (`trafficIn`). */
export function readMinutes(minutes: readonly TrafficMinute[], now: number): TrafficReader {
  return (windowMs) => trafficIn(minutes, now, windowMs);
}

/** Good / all responses; null without a response. */
export function availabilityOf(traffic: TrafficTotals): number | null {
  return traffic.requests > 0 ? 1 - traffic.errors / traffic.requests : null;
}

/** `1 − (1 − availability) / (1 − target)`: 1 untouched, 0 spent, below 0 overspent. */
export function errorBudgetRemaining(availability: number | null, target: number): number | null {
  return availability === null ? null : 1 - (1 - availability) / (1 - target);
}

/** The error rate of a window's traffic / (1 − target); null without a response in it. */
export function burnRate(traffic: TrafficTotals, target: number): number | null {
  return traffic.requests > 0 ? traffic.errors / traffic.requests / (1 - target) : null;
}

/** Whether each multiwindow alert fires: both of its windows burn at or above its threshold. */
export function burnRateAlerts(traffic: TrafficReader, target: number): { fast: boolean; slow: boolean } {
  // A rate on the threshold fires even when binary rounding puts it a hair below (0.0144 / 0.001
  // is 14.399999999999999, not 14.4).
  const fires = ({ longMs, shortMs, threshold }: { longMs: number; shortMs: number; threshold: number }) => {
    const floor = threshold * (1 - THRESHOLD_TOLERANCE);
    return (
      (burnRate(traffic(longMs), target) ?? 0) >= floor && (burnRate(traffic(shortMs), target) ?? 0) >= floor
    );
  };
  return { fast: fires(BURN_RATE_ALERTS.fast), slow: fires(BURN_RATE_ALERTS.slow) };
}

/** Mean `resolvedAt − openedAt` of the resolved incidents; null when none is resolved. */
export function meanTimeToRecoverMs(incidents: readonly IncidentTimes[]): number | null {
  return mean(
    incidents.flatMap((incident) =>
      incident.resolvedAt === null ? [] : [incident.resolvedAt - incident.openedAt],
    ),
  );
}

/** Mean gap between consecutive incident openings; null with fewer than two incidents. */
export function meanTimeBetweenFailuresMs(incidents: readonly IncidentTimes[]): number | null {
  const openings = incidents.map((incident) => incident.openedAt).sort((a, b) => a - b);
  return mean(openings.slice(1).map((at, index) => at - openings[index]!));
}

/** Every figure of one service at `now`, over its SLO window. */
export function serviceReliability(input: ServiceReliabilityInput, now: number): ServiceReliabilityView {
  const windowMs = reliabilityWindowMs(input.slo);
  const traffic = input.traffic(windowMs);
  const availability = availabilityOf(traffic);
  const incidents = openedIn(input.incidents, now, windowMs);
  const target = input.slo?.target;
  return {
    availability,
    mttrMs: meanTimeToRecoverMs(incidents),
    mtbfMs: meanTimeBetweenFailuresMs(incidents),
    errorBudgetRemaining: target === undefined ? null : errorBudgetRemaining(availability, target),
    burnRate: {
      '1h': target === undefined ? null : burnRate(input.traffic(HOUR_MS), target),
      '6h': target === undefined ? null : burnRate(input.traffic(6 * HOUR_MS), target),
    },
    alerts: target === undefined ? { fast: false, slow: false } : burnRateAlerts(input.traffic, target),
    slo: input.slo ? { ...input.slo } : null,
    requests: traffic.requests,
    errors: traffic.errors,
    incidents: incidents.length,
    resolvedIncidents: incidents.filter((incident) => incident.resolvedAt !== null).length,
  };
}

/**
 * Every service's figures, and overall: availability over all of their responses (each service's
 * window, so weighted by requests), MTTR and MTBF over all of their incidents in their windows.
 */
export function reliabilityOf(
  services: Readonly<Record<string, ServiceReliabilityInput>>,
  now: number,
): ReliabilityView {
  const view: ReliabilityView['services'] = {};
  const allIncidents: IncidentTimes[] = [];
  let requests = 0;
  let errors = 0;
  for (const [name, input] of Object.entries(services)) {
    const figures = serviceReliability(input, now);
    view[name] = figures;
    requests += figures.requests;
    errors += figures.errors;
    allIncidents.push(...openedIn(input.incidents, now, reliabilityWindowMs(input.slo)));
  }
  return {
    services: view,
    overall: {
      availability: availabilityOf({ requests, errors }),
      mttrMs: meanTimeToRecoverMs(allIncidents),
      mtbfMs: meanTimeBetweenFailuresMs(allIncidents),
      requests,
      errors,
      incidents: allIncidents.length,
    },
  };
}

function openedIn(incidents: readonly IncidentTimes[], now: number, windowMs: number): IncidentTimes[] {
  return incidents.filter(
    (incident) =>
      Number.isFinite(incident.openedAt) && incident.openedAt >= now - windowMs && incident.openedAt <= now,
  );
}

function mean(values: readonly number[]): number | null {
  const usable = values.filter(Number.isFinite);
  return usable.length === 0 ? null : usable.reduce((sum, value) => sum + value, 0) / usable.length;
}
