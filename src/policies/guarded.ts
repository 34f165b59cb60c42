// guarded(): a function, or a class method (TC39 decorator), whose every call runs under a policy.

import type { Policy } from './policy.ts';

type AsyncMethod<This, A extends unknown[], R> = (this: This, ...args: A) => Promise<R>;

/** Wraps `fn` so every call runs under `policy`; `this` is passed through. */
export function guarded<A extends unknown[], R>(
  policy: Policy,
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R>;
/** As a standard method decorator: `@guarded(registry.get('worker', 'worker1'))`. */
export function guarded(
  policy: Policy,
): <This, A extends unknown[], R>(
  method: AsyncMethod<This, A, R>,
  context: ClassMethodDecoratorContext<This, AsyncMethod<This, A, R>>,
) => AsyncMethod<This, A, R>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the implementation signature of the overloads above
export function guarded(policy: Policy, fn?: AsyncMethod<any, any[], any>): any {
  if (fn !== undefined) return wrap(policy, fn);
  return (
    method: AsyncMethod<unknown, unknown[], unknown>,
    context: ClassMethodDecoratorContext | undefined,
  ) => {
    if (context !== undefined && context.kind !== 'method') {
      throw new TypeError(`@guarded decorates methods, not ${String(context.kind)}s`);
    }
    return wrap(policy, method);
  };
}

function wrap<This, A extends unknown[], R>(
  policy: Policy,
  fn: AsyncMethod<This, A, R>,
): AsyncMethod<This, A, R> {
  return function guardedCall(this: This, ...args: A): Promise<R> {
    return policy.execute(() => fn.apply(this, args));
  };
}
