// faults(): an in-process chaos policy that delays and fails a share of calls (Polly's chaos
// strategies), for tests and game days; composable in a pipeline like any other policy.

import {
  abortableDelay,
  abortReason,
  type Clock,
  Emitter,
  type ExecuteContext,
  hasErrorCode,
  type Operation,
  ReboundError,
  systemClock,
} from '../policies/index.ts';
// The protocol composed policies share: internal to rebound, not part of its public API.
import { type ComposablePolicy, executeRoot, invoke, run } from '../policies/policy.ts';
import {
  type ErrorFault,
  FAULTS_DEFAULTS,
  type FaultInjectedEvent,
  type FaultsOptions,
  type FaultsStats,
  type LatencyFault,
  validateFaultsOptions,
} from './faultsOptions.ts';

export * from './faultsOptions.ts';

/** What an injected failure rejects with unless `error.error` says otherwise. */
export class InjectedFaultError extends ReboundError {
  constructor(message = 'fault injected by rebound/chaos') {
    super('INJECTED_FAULT', message);
  }
}

export const isInjectedFaultError = (error: unknown): error is InjectedFaultError =>
  hasErrorCode(error, 'INJECTED_FAULT');

export class FaultsPolicy implements ComposablePolicy {
  readonly latency: Readonly<LatencyFault> | undefined;
  readonly error: Readonly<ErrorFault> | undefined;
  readonly rate: number;
  private readonly enabled: boolean | (() => boolean);
  private readonly random: () => number;
  private readonly clock: Clock;
  private calls = 0;
  private latencyInjected = 0;
  private errorsInjected = 0;

  private readonly injectedEmitter = new Emitter<FaultInjectedEvent>();
  /** A delay is about to be waited, or an injected error is about to be thrown. */
  readonly onInjected = this.injectedEmitter.subscribe;

  constructor(options: FaultsOptions = {}) {
    validateFaultsOptions(options);
    this.latency = options.latency && Object.freeze({ ...options.latency });
    this.error = options.error && Object.freeze({ ...options.error });
    this.rate = options.rate ?? FAULTS_DEFAULTS.rate;
    this.enabled = options.enabled ?? FAULTS_DEFAULTS.enabled;
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  /**
   * The draws are made at the start of the call, in a fixed order (latency, its jitter when it is
   * injected, error), so a scripted `random` decides each call whatever else runs meanwhile.
   */
  [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    this.calls++;
    const latency = this.latency;
    let delayMs = -1;
    let failing = false;
    try {
      const enabled = this.enabled;
      if (enabled === false || (enabled !== true && !enabled())) return invoke(fn, ctx);
      if (latency !== undefined && this.random() < this.rate * latency.rate) {
        const jitterMs = latency.jitterMs ?? FAULTS_DEFAULTS.jitterMs;
        delayMs = jitterMs > 0 ? Math.max(0, latency.ms + (this.random() * 2 - 1) * jitterMs) : latency.ms;
      }
      failing = this.error !== undefined && this.random() < this.rate * this.error.rate;
    } catch (error) {
      // A throwing `enabled` or `random` fails the call like any failure: a rejection, not a throw.
      return Promise.reject(error);
    }

    if (delayMs < 0) return failing ? invoke(this.throwInjected, ctx) : invoke(fn, ctx);
    this.latencyInjected++;
    if (this.injectedEmitter.active) this.injectedEmitter.emit({ kind: 'latency', ms: delayMs });
    // The caller's abort ends the wait at once with its reason, and the work is then never called.
    return abortableDelay(delayMs, ctx.signal, this.clock).then(() => {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      if (failing) this.throwInjected();
      return fn(ctx);
    });
  }

  stats(): FaultsStats {
    return { calls: this.calls, latencyInjected: this.latencyInjected, errorsInjected: this.errorsInjected };
  }

  /** Bound, so it can stand in for the work (a throwing `error.error` function then rejects the call). */
  private readonly throwInjected = (): never => {
    const configured = this.error?.error;
    const error =
      configured === undefined
        ? new InjectedFaultError()
        : typeof configured === 'function'
          ? configured()
          : configured;
    this.errorsInjected++;
    if (this.injectedEmitter.active) this.injectedEmitter.emit({ kind: 'error', error });
    throw error;
  };
}

/**
 * `faults({ latency: { ms: 500, jitterMs: 50, rate: 0.2 }, error: { rate: 0.1 } })`: delays 20% of
 * calls by 450-550 ms and fails 10% with `InjectedFaultError`; a call can be both delayed and failed
 * (the delay comes first).
 */
export function faults(options: FaultsOptions = {}): FaultsPolicy {
  return new FaultsPolicy(options);
}
