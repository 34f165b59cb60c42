// The forecasts behind predictive policy conditions: one Holt forecast per (service, metric) that a
// condition with `predictedWithinMs` watches, fed from the control plane's tick, with its own error
// measured at each horizon by keeping what it predicted and comparing when that time comes.

import { type HoltForecast, holtForecast, type HoltForecastOptions } from '../control/index.ts';
import { type Clock, OptionProblems, systemClock } from '../policies/index.ts';
import type { PolicyConfig } from './configTypes.ts';
import type { ForecastView } from './controlPlaneTypes.ts';

export interface ForecastsOptions {
  clock?: Clock;
  /**
   * The policies and services in force; the watched (service, metric, horizon) are worked out again
   * whenever it returns another object (a config reload).
   */
  config: () => {
    readonly policies: readonly PolicyConfig[];
    readonly services: Readonly<Record<string, unknown>>;
  };
  /** Holt's smoothing weights; default HOLT_FORECAST_DEFAULTS (α 0.5, β 0.3). */
  holt?: HoltForecastOptions;
  /** Samples a forecast needs before it is used: two give a slope, the third checks it. Default 3. */
  minSamples?: number;
  /**
   * A forecast whose last sample is older than this is not used, and starts over with its next
   * sample (a gap says nothing about the trend across it). Default 10 000 ms.
   */
  staleAfterMs?: number;
  /** The most recent settled predictions the error at a horizon is measured over; default 100. */
  errorWindow?: number;
  /**
   * Predictions at a horizon that must have been checked against what happened before `predict`
   * answers for that horizon: a forecast is trusted only once its error there is measured. Default 3.
   */
  minChecked?: number;
}

export const FORECASTS_DEFAULTS = Object.freeze({
  minSamples: 3,
  staleAfterMs: 10_000,
  errorWindow: 100,
  minChecked: 3,
});

/**
 * Predictions kept per horizon until they can be checked, at most: one is recorded at most every
 * horizon / PENDING_PER_HORIZON, so memory stays bounded however often samples come.
 */
const PENDING_PER_HORIZON = 100;

export interface Forecasts {
  /** Feeds the watched metrics of a service, as measured now (what the policies see). */
  observe(service: string, metrics: Readonly<Record<string, number>>): void;
  /**
   * The value the metric is forecast to have `horizonMs` from now, less the forecast's own measured
   * error at that horizon (the forecast change shrunk by it, never past the current value); undefined
   * when the metric is not watched, has fewer than `minSamples` samples, its last sample is stale, or
   * fewer than `minChecked` predictions at that horizon have been checked yet. So a trend has to
   * stand out of the forecast's noise before it counts: on a flat noisy series the measured error
   * is as large as the wobble the trend extrapolates, and nothing is predicted to cross.
   */
  predict(service: string, metric: string, horizonMs: number): number | undefined;
  /** Every watched (service, metric, horizon) with its forecast and measured error. */
  views(): ForecastView[];
}

interface HorizonErrors {
  /** Oldest first: what was predicted for `dueAt`. */
  readonly pending: { dueAt: number; predicted: number }[];
  /** The last `errorWindow` settled predictions: |predicted − observed| and |observed|. */
  readonly absoluteErrors: number[];
  readonly absoluteObserved: number[];
  settled: number;
}

interface Track {
  holt: HoltForecast;
  samples: number;
  /** The last sample (its time is the forecast's `lastObservedAtMs`). */
  lastValue: number | undefined;
  readonly horizons: Map<number, HorizonErrors>;
}

export function forecasts(options: ForecastsOptions): Forecasts {
  const problems = new OptionProblems();
  problems.clock('forecasts.clock', options.clock);
  problems.func('forecasts.config', options.config, false);
  problems.number('forecasts.minSamples', options.minSamples, { integer: true, min: 2, optional: true });
  problems.number('forecasts.staleAfterMs', options.staleAfterMs, { above: 0, optional: true });
  problems.number('forecasts.errorWindow', options.errorWindow, { integer: true, min: 1, optional: true });
  problems.number('forecasts.minChecked', options.minChecked, { integer: true, min: 0, optional: true });
  problems.throwIfAny();
  holtForecast(options.holt); // validates the weights once, here
  const clock = options.clock ?? systemClock;
  const minSamples = options.minSamples ?? FORECASTS_DEFAULTS.minSamples;
  const staleAfterMs = options.staleAfterMs ?? FORECASTS_DEFAULTS.staleAfterMs;
  const errorWindow = options.errorWindow ?? FORECASTS_DEFAULTS.errorWindow;
  const minChecked = options.minChecked ?? FORECASTS_DEFAULTS.minChecked;

  /** service → metric → track. */
  let tracks = new Map<string, Map<string, Track>>();
  let configSeen: ReturnType<ForecastsOptions['config']> | undefined;

  const refresh = (): void => {
    const config = options.config();
    if (config === configSeen) return;
    configSeen = config;
    const next = new Map<string, Map<string, Track>>();
    const horizonsOf = new Map<Track, Set<number>>();
    for (const [service, metric, horizonMs] of watched(config)) {
      const metrics = next.get(service) ?? new Map<string, Track>();
      next.set(service, metrics);
      // A pair still watched keeps its forecast and the errors measured so far.
      const track = metrics.get(metric) ?? tracks.get(service)?.get(metric) ?? newTrack();
      metrics.set(metric, track);
      const horizons = horizonsOf.get(track) ?? new Set<number>();
      horizonsOf.set(track, horizons.add(horizonMs));
      if (!track.horizons.has(horizonMs)) track.horizons.set(horizonMs, newHorizon());
    }
    for (const [track, horizons] of horizonsOf) {
      for (const horizonMs of [...track.horizons.keys()]) {
        if (!horizons.has(horizonMs)) track.horizons.delete(horizonMs);
      }
    }
    tracks = next;
  };

  const newTrack = (): Track => ({
    holt: holtForecast(options.holt),
    samples: 0,
    lastValue: undefined,
    horizons: new Map(),
  });

  const usable = (track: Track, now: number): boolean => {
    const lastAt = track.holt.lastObservedAtMs();
    return track.samples >= minSamples && lastAt !== undefined && now - lastAt <= staleAfterMs;
  };

  const observeOne = (track: Track, value: number, at: number): void => {
    const lastAt = track.holt.lastObservedAtMs();
    if (lastAt !== undefined && at < lastAt) return;
    if (lastAt !== undefined && at - lastAt > staleAfterMs) {
      track.holt = holtForecast(options.holt);
      track.samples = 0;
      track.lastValue = undefined;
      for (const horizon of track.horizons.values()) horizon.pending.length = 0;
    }
    for (const horizon of track.horizons.values()) settle(horizon, track, value, at);
    track.holt.observe(value, at);
    track.samples++;
    track.lastValue = value;
    if (track.samples < minSamples) return;
    for (const [horizonMs, horizon] of track.horizons) {
      const last = horizon.pending.at(-1);
      // Predictions made in the same breath say the same thing: one per horizon / PENDING_PER_HORIZON.
      if (last !== undefined && at + horizonMs - last.dueAt < horizonMs / PENDING_PER_HORIZON) continue;
      const predicted = track.holt.predict(horizonMs);
      if (predicted !== undefined) horizon.pending.push({ dueAt: at + horizonMs, predicted });
    }
  };

  /** Checks the predictions that fell due by `at`, against the observed series at their time. */
  const settle = (horizon: HorizonErrors, track: Track, value: number, at: number): void => {
    while (horizon.pending.length > 0 && horizon.pending[0]!.dueAt <= at) {
      const { dueAt, predicted } = horizon.pending.shift()!;
      // Between two samples the series is read as the straight line joining them.
      const lastAt = track.holt.lastObservedAtMs();
      const { lastValue } = track;
      const observed =
        lastAt !== undefined && lastValue !== undefined && lastAt < dueAt && at > lastAt
          ? lastValue + ((value - lastValue) * (dueAt - lastAt)) / (at - lastAt)
          : value;
      horizon.absoluteErrors.push(Math.abs(predicted - observed));
      horizon.absoluteObserved.push(Math.abs(observed));
      if (horizon.absoluteErrors.length > errorWindow) {
        horizon.absoluteErrors.shift();
        horizon.absoluteObserved.shift();
      }
      horizon.settled++;
    }
  };

  return {
    observe(service, metrics) {
      refresh();
      const watchedMetrics = tracks.get(service);
      if (watchedMetrics === undefined) return;
      const at = clock.now();
      for (const [metric, track] of watchedMetrics) {
        const value = metrics[metric];
        if (typeof value === 'number' && Number.isFinite(value)) observeOne(track, value, at);
      }
    },
    predict(service, metric, horizonMs) {
      const track = tracks.get(service)?.get(metric);
      const now = clock.now();
      if (track === undefined || !usable(track, now)) return undefined;
      const horizon = track.horizons.get(horizonMs);
      const checked = horizon?.absoluteErrors.length ?? 0;
      if (checked < minChecked) return undefined;
      // The forecast runs from its last sample; "from now" is that much further.
      const predicted = track.holt.predict(horizonMs + (now - track.holt.lastObservedAtMs()!));
      if (predicted === undefined || checked === 0) return predicted;
      const margin = horizon!.absoluteErrors.reduce((sum, error) => sum + error, 0) / checked;
      const change = predicted - track.lastValue!;
      return track.lastValue! + Math.sign(change) * Math.max(0, Math.abs(change) - margin);
    },
    views() {
      refresh();
      const now = clock.now();
      const views: ForecastView[] = [];
      for (const [service, metrics] of tracks) {
        for (const [metric, track] of metrics) {
          const oneStep = track.holt.error();
          const observedAt = track.holt.lastObservedAtMs();
          for (const [horizonMs, horizon] of track.horizons) {
            const predicted = usable(track, now)
              ? track.holt.predict(horizonMs + (now - observedAt!))
              : undefined;
            views.push({
              service,
              metric,
              horizonMs,
              value: track.lastValue ?? null,
              predicted: predicted ?? null,
              samples: track.samples,
              observedAt: observedAt === undefined ? null : new Date(observedAt).toISOString(),
              error: errorView(horizon, oneStep),
            });
          }
        }
      }
      return views.sort(
        (a, b) =>
          a.service.localeCompare(b.service) || a.metric.localeCompare(b.metric) || a.horizonMs - b.horizonMs,
      );
    },
  };
}

/** The (service, metric, horizon) some enabled policy's predictive condition watches. */
function watched(config: ReturnType<ForecastsOptions['config']>): [string, string, number][] {
  const found = new Map<string, [string, string, number]>();
  for (const policy of config.policies) {
    if (!policy.enabled) continue;
    const services = policy.services.length > 0 ? policy.services : Object.keys(config.services);
    for (const condition of policy.when) {
      if (condition.predictedWithinMs === undefined) continue;
      for (const service of services) {
        if (!(service in config.services)) continue;
        const key = `${service}\u0000${condition.metric}\u0000${condition.predictedWithinMs}`;
        found.set(key, [service, condition.metric, condition.predictedWithinMs]);
      }
    }
  }
  return [...found.values()];
}

function newHorizon(): HorizonErrors {
  return { pending: [], absoluteErrors: [], absoluteObserved: [], settled: 0 };
}

function errorView(horizon: HorizonErrors, oneStep: { mae: number; samples: number }): ForecastView['error'] {
  const count = horizon.absoluteErrors.length;
  const absolute = horizon.absoluteErrors.reduce((sum, error) => sum + error, 0);
  const observed = horizon.absoluteObserved.reduce((sum, value) => sum + value, 0);
  return {
    samples: count,
    settled: horizon.settled,
    pending: horizon.pending.length,
    mae: count === 0 ? null : absolute / count,
    relative: count === 0 || observed === 0 ? null : absolute / observed,
    oneStepMae: oneStep.samples === 0 ? null : oneStep.mae,
    oneStepSamples: oneStep.samples,
  };
}
