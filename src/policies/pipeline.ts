// pipeline(): composes policies, the first argument outermost, keeping the composed list inspectable.

import {
  type ComposablePolicy,
  composable,
  type ExecuteContext,
  executeRoot,
  invoke,
  type Operation,
  type Policy,
  run,
} from './policy.ts';

export class Pipeline implements ComposablePolicy {
  /** The composed policies, outermost first (nested pipelines are flattened). */
  readonly policies: readonly Policy[];
  private readonly chain: readonly ComposablePolicy[];

  constructor(policies: readonly Policy[]) {
    this.policies = policies.flatMap((p) => (p instanceof Pipeline ? p.policies : [p]));
    this.chain = this.policies.map(composable);
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    return this.runFrom(0, fn, ctx);
  }

  private runFrom<T>(index: number, fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    const chain = this.chain;
    if (index >= chain.length) return invoke(fn, ctx);
    const policy = chain[index]!;
    if (index === chain.length - 1) return policy[run](fn, ctx);
    return policy[run]((inner) => this.runFrom(index + 1, fn, inner), ctx);
  }
}

/** Composes policies: `pipeline(retry, breaker, timeout)` retries around a breaker around a timeout. */
export function pipeline(...policies: Policy[]): Pipeline {
  return new Pipeline(policies);
}
