// degrade(): gathers every component it can, live or substituted, and says how degraded the answer is (SPEC 3.3).

import { abortReason, raceAbort, type TimeoutPolicy } from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import { fromJsonText, toJsonText } from './canonicalJson.ts';
import {
  type Component,
  type ComponentResult,
  type Components,
  DEGRADATION_LEVELS,
  DEGRADE_DEFAULTS,
  type DegradationLevel,
  type DegradeOptions,
  type DegradeResult,
  type Plan,
  planOf,
} from './degradeOptions.ts';
import { DegradationExceededError } from './errors.ts';

export {
  type Component,
  type ComponentContext,
  type ComponentResult,
  type ComponentSource,
  DEGRADATION_LEVELS,
  DEGRADE_DEFAULTS,
  type DegradationLevel,
  type DegradeCacheOptions,
  type DegradeOptions,
  type DegradeResult,
  type DegradeStrategy,
} from './degradeOptions.ts';

interface CachedValue {
  text: string;
  updatedAt: number;
}
/** Namespace → component name → last good value. */
type Memory = Map<string, Map<string, CachedValue>>;

// Last good values held in this process: per store (so unrelated stores never share them), and one
// set for calls without a store.
const memoryByStore = new WeakMap<Store, Memory>();
const storelessMemory: Memory = new Map();

function memoryOf(store: Store | undefined): Memory {
  if (!store) return storelessMemory;
  let memory = memoryByStore.get(store);
  if (!memory) {
    memory = new Map();
    memoryByStore.set(store, memory);
  }
  return memory;
}

/**
 * Calls every component concurrently. Each that fails is served by its strategy: 'cache' (its last
 * good value), 'static' (`fallbacks[name]`), 'alternate' (`alternates[name]()`), 'partial' (left
 * out), or 'fail-fast' (degrade() rejects with its error at once). The level grades the weighted
 * share served live: 'full' all of it, 'slight' >= 75 %, 'moderate' >= 50 %, 'minimal' less but
 * something is served (substitutes count here), 'failed' nothing is.
 */
export async function degrade<C extends Components>(options: DegradeOptions<C>): Promise<DegradeResult<C>> {
  const plan = planOf(options);
  const caller = options.signal;
  if (caller?.aborted) throw abortReason(caller);
  // One signal for every call this degrade() makes: a fail-fast failure or the caller's abort cancels the rest.
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(abortReason(caller!));
  caller?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    const serving = Promise.all(plan.names.map((name) => serve(name, options, plan, controller.signal)));
    const results = await (caller ? raceAbort(serving, caller) : serving);
    return conclude(plan, results);
  } catch (error) {
    controller.abort(error);
    throw error;
  } finally {
    caller?.removeEventListener('abort', onCallerAbort);
  }
}

async function serve<C extends Components>(
  name: string,
  options: DegradeOptions<C>,
  plan: Plan,
  signal: AbortSignal,
): Promise<ComponentResult<unknown>> {
  const strategy = plan.strategies.get(name)!;
  let error: unknown;
  try {
    const value = await call(options.components[name]!, name, plan.limit, signal);
    if (strategy === 'cache') await remember(plan, name, value);
    return { ok: true, value, source: 'live' };
  } catch (liveError) {
    error = liveError;
  }
  switch (strategy) {
    case 'fail-fast':
      throw error;
    case 'partial':
      return { ok: false, value: undefined, source: 'none', error };
    case 'static': {
      // With one strategy for all, a component without a fallback has nothing to serve: left out.
      const fallbacks = (options.fallbacks ?? {}) as Record<string, unknown>;
      if (!Object.hasOwn(fallbacks, name)) return { ok: false, value: undefined, source: 'none', error };
      return { ok: true, value: fallbacks[name], source: 'static', error };
    }
    case 'alternate': {
      const alternate = (options.alternates as Record<string, Component> | undefined)?.[name];
      if (!alternate) return { ok: false, value: undefined, source: 'none', error };
      try {
        const value = await call(alternate, name, plan.limit, signal);
        return { ok: true, value, source: 'alternate', error };
      } catch {
        // The live call's error says why the component is degraded; the alternate's adds nothing to it.
        return { ok: false, value: undefined, source: 'none', error };
      }
    }
    case 'cache': {
      const cached = await recall(plan, name);
      if (!cached) return { ok: false, value: undefined, source: 'none', error };
      return {
        ok: true,
        value: fromJsonText(cached.text),
        source: 'cache',
        error,
        cachedAt: cached.updatedAt,
      };
    }
  }
}

function call(
  component: Component,
  name: string,
  limit: TimeoutPolicy | undefined,
  signal: AbortSignal,
): Promise<unknown> {
  if (limit) return limit.execute((ctx) => component({ name, signal: ctx.signal }), signal);
  return (async () => component({ name, signal }))();
}

/** Keeps a live value as the component's last good one, in memory and (when given) in the store. */
async function remember(plan: Plan, name: string, value: unknown): Promise<void> {
  let text: string;
  try {
    text = toJsonText(value);
  } catch {
    return; // Not representable as JSON (BigInt, cycles): served live, never cached.
  }
  const updatedAt = plan.clock.now();
  const memory = memoryOf(plan.store);
  let values = memory.get(plan.namespace);
  if (!values) {
    values = new Map();
    memory.set(plan.namespace, values);
  }
  values.set(name, { text, updatedAt });
  if (!plan.store) return;
  try {
    await plan.store.kv.set(plan.namespace, name, text, updatedAt);
  } catch {
    // The live value is served regardless; the memory copy still covers this process.
  }
}

/** The newest fresh last good value, from memory or the store (which other processes may have updated). */
async function recall(plan: Plan, name: string): Promise<CachedValue | undefined> {
  let newest = memoryOf(plan.store).get(plan.namespace)?.get(name);
  if (plan.store) {
    try {
      const entry = await plan.store.kv.get(plan.namespace, name);
      if (entry && (!newest || entry.updatedAt > newest.updatedAt)) {
        newest = { text: entry.value, updatedAt: entry.updatedAt };
      }
    } catch {
      // The store is unreachable: the memory copy, if any, is the best left.
    }
  }
  if (!newest || plan.clock.now() - newest.updatedAt >= plan.ttlMs) return undefined;
  return newest;
}

function conclude<C extends Components>(plan: Plan, results: ComponentResult<unknown>[]): DegradeResult<C> {
  const components: Record<string, ComponentResult<unknown>> = {};
  const degraded: string[] = [];
  let total = 0;
  let live = 0;
  let served = 0;
  plan.names.forEach((name, index) => {
    const result = results[index]!;
    const weight = plan.weights.get(name)!;
    components[name] = result;
    total += weight;
    if (result.source === 'live') live += weight;
    else degraded.push(name);
    if (result.ok) served += weight;
  });
  const level = levelOf(total, live, served);
  if (DEGRADATION_LEVELS.indexOf(level) > DEGRADATION_LEVELS.indexOf(plan.maxLevel)) {
    throw new DegradationExceededError(level, plan.maxLevel, degraded);
  }
  return { level, components, degraded } as unknown as DegradeResult<C>;
}

function levelOf(total: number, live: number, served: number): DegradationLevel {
  if (live >= total) return 'full';
  const share = live / total;
  // The tolerance keeps weights like 0.1 + 0.2 from missing a threshold by a rounding error.
  if (share >= DEGRADE_DEFAULTS.slightShare - 1e-9) return 'slight';
  if (share >= DEGRADE_DEFAULTS.moderateShare - 1e-9) return 'moderate';
  return served > 0 ? 'minimal' : 'failed';
}

export interface ClearDegradeCacheOptions {
  /** Whose in-memory copies to forget: those kept for this store; without it, those of store-less calls. */
  store?: Store;
  /** Only this namespace; default every namespace (in memory) or 'degrade' (in the store). */
  namespace?: string;
  /** Also delete the store's persisted copies in the namespace. Default false. */
  persisted?: boolean;
}

/** Forgets cached last good values: this process's copies, and with `persisted` the store's too. */
export async function clearDegradeCache(options: ClearDegradeCacheOptions = {}): Promise<void> {
  const memory = memoryOf(options.store);
  if (options.namespace === undefined) memory.clear();
  else memory.delete(options.namespace);
  if (options.persisted && options.store) {
    const namespace = options.namespace ?? DEGRADE_DEFAULTS.cacheNamespace;
    for (const entry of await options.store.kv.list(namespace))
      await options.store.kv.delete(namespace, entry.key);
  }
}
