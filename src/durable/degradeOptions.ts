// degrade()'s options, results and defaults (SPEC 3.3), and their validation: every problem at once.

import {
  type Clock,
  InvalidOptionsError,
  systemClock,
  timeout,
  type TimeoutPolicy,
} from '../policies/index.ts';
import type { Store } from '../store/index.ts';

/** How a component whose live call failed is served. */
export type DegradeStrategy = 'cache' | 'static' | 'alternate' | 'partial' | 'fail-fast';
export type DegradationLevel = 'full' | 'slight' | 'moderate' | 'minimal' | 'failed';
export type ComponentSource = 'live' | 'cache' | 'static' | 'alternate' | 'none';

/** From best to worst: a level is beyond `maxLevel` when it comes later in this list. */
export const DEGRADATION_LEVELS: readonly DegradationLevel[] = Object.freeze([
  'full',
  'slight',
  'moderate',
  'minimal',
  'failed',
]);

export const STRATEGIES: readonly DegradeStrategy[] = [
  'cache',
  'static',
  'alternate',
  'partial',
  'fail-fast',
];

export const DEGRADE_DEFAULTS = Object.freeze({
  /** A component with no strategy is left out when it fails. */
  strategy: 'partial' as DegradeStrategy,
  maxLevel: 'failed' as DegradationLevel,
  weight: 1,
  /** Cached last good values never go stale unless a ttl is given. */
  cacheTtlMs: Number.POSITIVE_INFINITY,
  /** The store's key-value namespace for cached values (one entry per component name). */
  cacheNamespace: 'degrade',
  /** Shares of the total weight served live at or above which the level is 'slight' and 'moderate'. */
  slightShare: 0.75,
  moderateShare: 0.5,
});

export interface ComponentContext {
  name: string;
  /** Aborts at the component's timeout, when a fail-fast component failed, or on the caller's abort. */
  signal: AbortSignal;
}

export type Component<T = unknown> = (context: ComponentContext) => T | PromiseLike<T>;
export type Components = Record<string, Component>;
export type ValueOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;
export type NameOf<C> = keyof C & string;

export interface DegradeCacheOptions {
  /** Persist last good values in `store.kv` so that they outlive this process. */
  store?: Store;
  /** A cached value older than this is not served. Default: never stale. */
  ttlMs?: number;
  /** Separates unrelated degrade() call sites whose components share names. Default 'degrade'. */
  namespace?: string;
}

export interface DegradeOptions<C extends Components> {
  components: C;
  /** One strategy for all, or one per component (missing names: 'partial'). Default 'partial'. */
  strategy?: DegradeStrategy | Partial<Record<NameOf<C>, DegradeStrategy>>;
  /** The values 'static' serves. */
  fallbacks?: Partial<{ [K in NameOf<C>]: ValueOf<C[K]> }>;
  /** The calls 'alternate' makes instead. */
  alternates?: Partial<{ [K in NameOf<C>]: Component<ValueOf<C[K]>> }>;
  cache?: DegradeCacheOptions;
  /** The worst acceptable level; beyond it degrade() rejects with DegradationExceededError. Default 'failed'. */
  maxLevel?: DegradationLevel;
  /** Relative importance of each component for the level (default 1 each; 0 ignores a component). */
  weights?: Partial<Record<NameOf<C>, number>>;
  /** Gives up on a live call (and separately on an alternate) after this long: it fails with TimeoutError. */
  timeoutMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
}

export interface ComponentResult<T> {
  /** A value is served, live or substituted. */
  ok: boolean;
  value: T | undefined;
  source: ComponentSource;
  /** Why the live call failed (set whenever the source is not 'live'). */
  error?: unknown;
  /** When the served cached value was stored (source 'cache' only). */
  cachedAt?: number;
}

export interface DegradeResult<C extends Components> {
  level: DegradationLevel;
  components: { [K in NameOf<C>]: ComponentResult<ValueOf<C[K]>> };
  /** The components not served live, in the order they were given. */
  degraded: NameOf<C>[];
}

/** The options resolved: what one degrade() call works from. */
export interface Plan {
  names: string[];
  strategies: Map<string, DegradeStrategy>;
  weights: Map<string, number>;
  maxLevel: DegradationLevel;
  clock: Clock;
  limit: TimeoutPolicy | undefined;
  store: Store | undefined;
  ttlMs: number;
  namespace: string;
}

/** Validates every option at once and resolves the defaults. */
export function planOf<C extends Components>(options: DegradeOptions<C>): Plan {
  const problems: string[] = [];
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError([`degrade options must be an object, got ${describe(options)}`]);
  }
  const { components } = options;
  const names = isRecord(components) ? Object.keys(components) : [];
  if (!isRecord(components))
    problems.push(`degrade.components must be an object of functions, got ${describe(components)}`);
  for (const name of names) {
    if (typeof components[name] !== 'function') {
      problems.push(`degrade.components.${name} must be a function, got ${describe(components[name])}`);
    }
  }
  const known = new Set(names);
  const unknownNames = (path: string, record: unknown) => {
    if (!isRecord(record)) return;
    for (const name of Object.keys(record)) {
      if (!known.has(name))
        problems.push(`${path}.${name} names no component (components: ${names.join(', ')})`);
    }
  };

  const strategies = new Map<string, DegradeStrategy>();
  const { strategy } = options;
  if (strategy === undefined || typeof strategy === 'string') {
    if (strategy !== undefined && !STRATEGIES.includes(strategy)) {
      problems.push(
        `degrade.strategy must be one of ${STRATEGIES.map((s) => `"${s}"`).join(', ')}, got ${describe(strategy)}`,
      );
    }
    for (const name of names) strategies.set(name, strategy ?? DEGRADE_DEFAULTS.strategy);
  } else if (isRecord(strategy)) {
    unknownNames('degrade.strategy', strategy);
    for (const name of names) {
      const chosen = (strategy as Record<string, unknown>)[name] ?? DEGRADE_DEFAULTS.strategy;
      if (!STRATEGIES.includes(chosen as DegradeStrategy)) {
        problems.push(
          `degrade.strategy.${name} must be one of ${STRATEGIES.map((s) => `"${s}"`).join(', ')}, got ${describe(chosen)}`,
        );
      }
      strategies.set(name, chosen as DegradeStrategy);
    }
  } else {
    problems.push(`degrade.strategy must be a strategy name or an object of them, got ${describe(strategy)}`);
  }

  const { fallbacks, alternates, weights } = options;
  for (const [path, record] of [
    ['degrade.fallbacks', fallbacks],
    ['degrade.alternates', alternates],
    ['degrade.weights', weights],
  ] as const) {
    if (record !== undefined && !isRecord(record))
      problems.push(`${path} must be an object, got ${describe(record)}`);
    else unknownNames(path, record);
  }
  // Named explicitly for a component, 'static' and 'alternate' need something to serve; chosen for
  // all, they serve what is given and leave the other components out.
  const explicit = isRecord(strategy) ? (strategy as Record<string, unknown>) : {};
  for (const name of names) {
    if (explicit[name] === 'static' && !(isRecord(fallbacks) && Object.hasOwn(fallbacks, name))) {
      problems.push(`degrade.fallbacks.${name} is needed: component '${name}' uses the 'static' strategy`);
    }
    if (explicit[name] === 'alternate' && !(isRecord(alternates) && name in alternates)) {
      problems.push(
        `degrade.alternates.${name} is needed: component '${name}' uses the 'alternate' strategy`,
      );
    }
  }
  if (isRecord(alternates)) {
    for (const [name, alternate] of Object.entries(alternates)) {
      if (typeof alternate !== 'function') {
        problems.push(`degrade.alternates.${name} must be a function, got ${describe(alternate)}`);
      }
    }
  }

  const weightOf = new Map<string, number>();
  let total = 0;
  for (const name of names) {
    const weight = isRecord(weights)
      ? ((weights as Record<string, unknown>)[name] ?? DEGRADE_DEFAULTS.weight)
      : DEGRADE_DEFAULTS.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      problems.push(`degrade.weights.${name} must be a finite number >= 0, got ${describe(weight)}`);
      continue;
    }
    weightOf.set(name, weight);
    total += weight;
  }
  if (names.length > 0 && weightOf.size === names.length && total <= 0) {
    problems.push(
      'degrade.weights must not all be 0 (the level is the share of the total weight served live)',
    );
  }

  if (options.maxLevel !== undefined && !DEGRADATION_LEVELS.includes(options.maxLevel)) {
    problems.push(
      `degrade.maxLevel must be one of ${DEGRADATION_LEVELS.map((l) => `"${l}"`).join(', ')}, got ${describe(options.maxLevel)}`,
    );
  }
  const { timeoutMs, cache, clock } = options;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)
  ) {
    problems.push(`degrade.timeoutMs must be a finite number > 0, got ${describe(timeoutMs)}`);
  }
  if (cache !== undefined && !isRecord(cache))
    problems.push(`degrade.cache must be an object, got ${describe(cache)}`);
  const store = isRecord(cache) ? (cache as DegradeCacheOptions).store : undefined;
  if (store !== undefined && typeof (store as Partial<Store>)?.kv?.get !== 'function') {
    problems.push(`degrade.cache.store must be a Store (from openStore), got ${describe(store)}`);
  }
  const ttlMs = isRecord(cache) ? (cache as DegradeCacheOptions).ttlMs : undefined;
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || Number.isNaN(ttlMs) || ttlMs <= 0)) {
    problems.push(`degrade.cache.ttlMs must be a number > 0, got ${describe(ttlMs)}`);
  }
  const namespace = isRecord(cache) ? (cache as DegradeCacheOptions).namespace : undefined;
  if (namespace !== undefined && (typeof namespace !== 'string' || namespace.length === 0)) {
    problems.push(`degrade.cache.namespace must be a non-empty string, got ${describe(namespace)}`);
  }
  if (clock !== undefined) {
    for (const method of ['now', 'setTimeout', 'clearTimeout']) {
      if (typeof (clock as unknown as Record<string, unknown> | null)?.[method] !== 'function') {
        problems.push(`degrade.clock.${method} must be a function`);
      }
    }
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    problems.push(`degrade.signal must be an AbortSignal, got ${describe(options.signal)}`);
  }
  if (problems.length > 0) throw new InvalidOptionsError(problems);

  const resolvedClock = clock ?? systemClock;
  return {
    names,
    strategies,
    weights: weightOf,
    maxLevel: options.maxLevel ?? DEGRADE_DEFAULTS.maxLevel,
    clock: resolvedClock,
    limit: timeoutMs === undefined ? undefined : timeout(timeoutMs, { clock: resolvedClock }),
    store,
    ttlMs: ttlMs ?? DEGRADE_DEFAULTS.cacheTtlMs,
    namespace: namespace ?? DEGRADE_DEFAULTS.cacheNamespace,
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}
