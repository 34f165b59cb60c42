// fallback(): answers with a substitute value when the guarded call fails.

import { Emitter } from './events.ts';
import { OptionProblems } from './options.ts';
import { type ComposablePolicy, type ExecuteContext, executeRoot, type Operation, run } from './policy.ts';

export interface FallbackOptions {
  /** Which errors the substitute answers; default: every error. */
  on?: (error: unknown) => boolean;
}

export const FALLBACK_DEFAULTS = Object.freeze({ on: (_error: unknown): boolean => true });

export interface FallbackEvent {
  /** The error the substitute replaced. */
  error: unknown;
}

/** The substitute: a value, or a function of the error that computes one. */
export type FallbackValue<R> = R | ((error: unknown) => R | PromiseLike<R>);

export class Fallback<R = unknown> implements ComposablePolicy {
  private readonly substitute: FallbackValue<R>;
  private readonly on: (error: unknown) => boolean;

  private readonly fallbackEmitter = new Emitter<FallbackEvent>();
  /** A failure was answered with the substitute. */
  readonly onFallback = this.fallbackEmitter.subscribe;

  constructor(value: FallbackValue<R>, options: FallbackOptions = {}) {
    const problems = new OptionProblems();
    problems.func('fallback.on', options?.on);
    problems.throwIfAny();
    this.substitute = value;
    this.on = options.on ?? FALLBACK_DEFAULTS.on;
  }

  /** Called directly, the result may be the substitute, and is typed so. */
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T | R>;
  /**
   * Satisfies `Policy`, whose results keep the operation's type, so a fallback fits in a pipeline:
   * there the substitute is taken to stand in for the operation's result.
   */
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T>;
  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T | R> {
    return executeRoot(this, fn, signal);
  }

  async [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    try {
      return await fn(ctx);
    } catch (error) {
      // Once the call is cancelled (the caller's abort, an enclosing timeout) no one waits for a
      // substitute: the failure stands, and a substitute function is not run for nothing.
      if (ctx.signal.aborted || !this.on(error)) throw error;
      if (this.fallbackEmitter.active) this.fallbackEmitter.emit({ error });
      const substitute = this.substitute;
      return (typeof substitute === 'function'
        ? await (substitute as (error: unknown) => R | PromiseLike<R>)(error)
        : substitute) as unknown as T;
    }
  }
}

/**
 * `fallback('n/a')` or `fallback((error) => cached())`; to substitute a function itself, return it
 * from one: `fallback(() => defaultHandler)`.
 */
export function fallback<R>(value: FallbackValue<R>, options?: FallbackOptions): Fallback<R> {
  return new Fallback(value, options);
}
