// The Policy contract, and the internal protocol that lets composed policies share one context.

import { neverAbortedSignal, raceAbort } from './abort.ts';

export interface ExecuteContext {
  /** Aborts when the caller aborts, or when an enclosing policy gives up (timeout, hedge). */
  readonly signal: AbortSignal;
  /** 0 for the first try; set by an enclosing `retry`. */
  readonly attempt: number;
}

export type Operation<T> = (ctx: ExecuteContext) => T | PromiseLike<T>;

export interface Policy {
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * Internal: runs `fn` under the policy with a context handed down from an enclosing policy.
 * Keyed by a registered symbol so copies of this module still recognise each other's policies.
 */
export const run: unique symbol = Symbol.for('rebound.policy.run') as never;

export interface ComposablePolicy extends Policy {
  [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T>;
}

/** The context of an outermost call made without a signal: shared, so such calls allocate none. */
export const rootContext: ExecuteContext = Object.freeze({ signal: neverAbortedSignal, attempt: 0 });

/**
 * The public `execute` of every rebound policy: starts a root context and, when the caller passed a
 * signal, rejects with its reason as soon as it aborts, whether or not the work honours it.
 */
export function executeRoot<T>(policy: ComposablePolicy, fn: Operation<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined || signal === neverAbortedSignal) return policy[run](fn, rootContext);
  if (signal.aborted) return Promise.reject(signal.reason);
  return raceAbort(policy[run](fn, { signal, attempt: 0 }), signal);
}

/** Calls `fn`, turning a synchronous throw or a plain value into a promise. */
export function invoke<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
  try {
    return Promise.resolve(fn(ctx));
  } catch (error) {
    return Promise.reject(error);
  }
}

export function isComposable(policy: Policy): policy is ComposablePolicy {
  return typeof (policy as Partial<ComposablePolicy>)[run] === 'function';
}

/**
 * Adapts a user's own Policy (only `execute`) so it can sit inside a pipeline. The work sees the
 * foreign policy's attempt number when it sets one (it retries), else the enclosing one.
 */
export function composable(policy: Policy): ComposablePolicy {
  if (isComposable(policy)) return policy;
  return {
    execute: (fn, signal) => policy.execute(fn, signal),
    [run]: (fn, ctx) =>
      policy.execute(
        (inner) =>
          fn(
            inner.attempt !== 0 || ctx.attempt === 0 ? inner : { signal: inner.signal, attempt: ctx.attempt },
          ),
        ctx.signal,
      ),
  };
}
