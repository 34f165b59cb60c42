// AbortSignal plumbing shared by every policy: prompt rejection on a caller's abort, abortable
// waits, and no listener left behind once a call settles.

import type { Clock } from './clock.ts';

/** A signal that never aborts: what `ctx.signal` is when the caller passed none. */
export const neverAbortedSignal: AbortSignal = new AbortController().signal;

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts.
 * The abort listener is removed when either happens.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === neverAbortedSignal) return promise;
  if (signal.aborted) {
    promise.then(undefined, ignore);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits `ms` on `clock`; rejects with the signal's reason the moment it aborts, clearing the timer. */
export function abortableDelay(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal !== neverAbortedSignal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A child controller that aborts when `parent` does. Call `dispose()` once the child's work is done
 * so the listener on a long-lived parent signal does not accumulate.
 */
export function childController(parent: AbortSignal): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  if (parent === neverAbortedSignal) return { controller, dispose: noop };
  if (parent.aborted) {
    controller.abort(abortReason(parent));
    return { controller, dispose: noop };
  }
  const onAbort = () => controller.abort(abortReason(parent));
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

function noop(): void {}
function ignore(): void {}
