// A client connection's calls through the gateway's circuit breaker: one at a time, with the same
// object and functions reused for every request, so that only the breaker's own promise is new.

import { type CircuitBreaker, isBrokenCircuitError, isIsolatedCircuitError } from '../policies/index.ts';

/** What a failed request rejects the breaker's call with: a constant, so failing costs no stack trace. */
const UPSTREAM_FAILED = Object.freeze({ code: 'UPSTREAM_FAILED' });

export class BreakerCall {
  /** The breaker let the request through: it is proxied, and settle() reports how it went. */
  private readonly admitted: () => void;
  /** The breaker refused it (open, half-open with its trials taken, isolated). */
  private readonly refused: (retryAfterMs: number) => void;
  private wasAdmitted = false;
  private resolve: (() => void) | undefined = undefined;
  private reject: ((reason: unknown) => void) | undefined = undefined;

  constructor(admitted: () => void, refused: (retryAfterMs: number) => void) {
    this.admitted = admitted;
    this.refused = refused;
  }

  /**
   * Asks the breaker. It decides at once: an admitted request starts before this returns; a refused
   * one is reported a microtask later, with the time the breaker asks callers to wait.
   */
  start(breaker: CircuitBreaker): void {
    this.wasAdmitted = false;
    breaker.execute(this.call).then(undefined, this.onRejected);
  }

  /** The admitted request is over: a failure (5xx, no answer, timeout) or a success. No-op otherwise. */
  settle(failed: boolean): void {
    const resolve = this.resolve;
    if (resolve === undefined) return;
    const reject = this.reject!;
    this.resolve = this.reject = undefined;
    if (failed) reject(UPSTREAM_FAILED);
    else resolve();
  }

  private readonly call = (): Promise<void> => {
    this.wasAdmitted = true;
    return new Promise(this.executor);
  };

  private readonly executor = (resolve: () => void, reject: (reason: unknown) => void): void => {
    this.resolve = resolve;
    this.reject = reject;
    this.admitted();
  };

  private readonly onRejected = (error: unknown): void => {
    // An admitted call rejects only with UPSTREAM_FAILED, which the breaker has already counted.
    if (this.wasAdmitted) return;
    if (isBrokenCircuitError(error)) this.refused(error.retryAfterMs);
    else if (isIsolatedCircuitError(error)) this.refused(0);
  };
}
