// faults()'s options, their defaults, its event and stats shapes, and their one-time validation.

import { type Clock, OptionProblems } from '../policies/index.ts';

export interface LatencyFault {
  /** The delay injected before the call, in milliseconds. */
  ms: number;
  /**
   * Each injected delay is drawn uniformly from `ms - jitterMs` to `ms + jitterMs` (never below 0),
   * as Toxiproxy's latency toxic does. Default 0.
   */
  jitterMs?: number;
  /** Share of calls delayed, 0 to 1 (multiplied by the policy's `rate`). */
  rate: number;
}

export interface ErrorFault {
  /** Share of calls that fail, 0 to 1 (multiplied by the policy's `rate`). */
  rate: number;
  /**
   * What an injected failure rejects with: this error itself every time, or a new one from the
   * function on each injection. Default: a new `InjectedFaultError`.
   */
  error?: Error | (() => Error);
}

export interface FaultsOptions {
  latency?: LatencyFault;
  error?: ErrorFault;
  /** Overall injection rate, 0 to 1: multiplies each fault's own rate. Default 1. */
  rate?: number;
  /** Read on every call: a game day can switch faults on and off without rebuilding a pipeline. Default true. */
  enabled?: boolean | (() => boolean);
  /** Returns a number in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Injected delays wait on this clock. Default `systemClock`. */
  clock?: Clock;
}

export const FAULTS_DEFAULTS = Object.freeze({ rate: 1, enabled: true, jitterMs: 0 });

/** One injection: a delay about to be waited (`ms`), or a failure about to be thrown (`error`). */
export interface FaultInjectedEvent {
  kind: 'latency' | 'error';
  /** The delay injected, jitter included (latency only). */
  ms?: number;
  /** The error thrown (error only). */
  error?: Error;
}

export interface FaultsStats {
  /** Calls made through the policy, enabled or not. */
  calls: number;
  /** Calls that were delayed. */
  latencyInjected: number;
  /** Calls that were failed with an injected error. */
  errorsInjected: number;
}

/** Every problem with a faults() options object, in one InvalidOptionsError. */
export function validateFaultsOptions(options: FaultsOptions): void {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`faults options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  const { latency, error } = options;
  if (latency !== undefined) {
    if (isObject(latency, 'faults.latency', problems)) {
      problems.number('faults.latency.ms', latency.ms, { min: 0, finite: true });
      problems.number('faults.latency.jitterMs', latency.jitterMs, { min: 0, finite: true, optional: true });
      rate(problems, 'faults.latency.rate', latency.rate, false);
    }
  }
  if (error !== undefined) {
    if (isObject(error, 'faults.error', problems)) {
      rate(problems, 'faults.error.rate', error.rate, false);
      const value: unknown = error.error;
      if (value !== undefined && !(value instanceof Error) && typeof value !== 'function') {
        problems.add(
          `faults.error.error must be an Error or a function that returns one, got ${String(value)}`,
        );
      }
    }
  }
  rate(problems, 'faults.rate', options.rate, true);
  const enabled: unknown = options.enabled;
  if (enabled !== undefined && typeof enabled !== 'boolean' && typeof enabled !== 'function') {
    problems.add(`faults.enabled must be a boolean or a function, got ${String(enabled)}`);
  }
  problems.func('faults.random', options.random);
  problems.clock('faults.clock', options.clock);
  problems.throwIfAny();
}

function isObject(value: unknown, path: string, problems: OptionProblems): boolean {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return true;
  problems.add(`${path} must be an object, got ${Array.isArray(value) ? 'an array' : String(value)}`);
  return false;
}

function rate(problems: OptionProblems, path: string, value: unknown, optional: boolean): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'number' || Number.isNaN(value)) problems.number(path, value);
  else if (value < 0 || value > 1) problems.add(`${path} must be between 0 and 1, got ${value}`);
}
