// BreakerRegistry: named circuit breakers grouped by kind (worker, hardware, task-type, endpoint),
// each kind with its own options, and one health report over all of them.

import {
  type CircuitBreakerOptions,
  type CircuitState,
  resolveCircuitBreakerOptions,
} from './breakerOptions.ts';
import { CircuitBreaker, type CircuitStateChangeEvent } from './circuitBreaker.ts';
import type { Clock } from './clock.ts';
import { Emitter, type Subscribe } from './events.ts';

/** Options a kind's breakers are created with; `name` is set by the registry. */
export type BreakerKindOptions = Omit<CircuitBreakerOptions, 'name'>;

export interface BreakerRegistryOptions {
  /** Clock for every breaker whose kind options do not give one. */
  clock?: Clock;
  /** Options for kinds that were never configured (default: the circuit breaker's defaults). */
  defaults?: BreakerKindOptions;
}

export interface BreakerRegistryEntry {
  readonly kind: string;
  readonly name: string;
  readonly breaker: CircuitBreaker;
}

export interface BreakerRegistryStateChangeEvent extends CircuitStateChangeEvent {
  kind: string;
  name: string;
}

export interface CircuitHealth {
  state: CircuitState;
  healthPercent: number;
  totalSuccesses: number;
  totalFailures: number;
  tripCount: number;
  retryAfterMs: number;
}

export interface BreakerRegistryHealth {
  aggregate: {
    totalCircuits: number;
    openCircuits: number;
    halfOpenCircuits: number;
    closedCircuits: number;
    isolatedCircuits: number;
    /** Mean healthPercent of every circuit; 100 when there is none. */
    averageHealth: number;
    /**
     * averageHealth × the share of circuits that let calls through, where a closed circuit counts
     * 1, a half-open one 0.5 and an open or isolated one 0: it falls as circuits open even when
     * the open ones' recent windows were healthy. 100 when there is no circuit.
     */
    overallHealth: number;
  };
  /** kind → circuit name → health; kinds with no circuit yet are left out. */
  kinds: Record<string, Record<string, CircuitHealth>>;
}

export class BreakerRegistry {
  private readonly clock: Clock | undefined;
  private readonly defaults: BreakerKindOptions;
  private readonly kindOptions = new Map<string, BreakerKindOptions>();
  private readonly breakers = new Map<string, Map<string, CircuitBreaker>>();
  private readonly stateChangeEmitter = new Emitter<BreakerRegistryStateChangeEvent>();
  /** Every state change of every breaker in the registry, with its kind and name. */
  readonly onStateChange: Subscribe<BreakerRegistryStateChangeEvent> = this.stateChangeEmitter.subscribe;

  constructor(options: BreakerRegistryOptions = {}) {
    this.clock = options.clock;
    this.defaults = options.defaults ?? {};
    resolveCircuitBreakerOptions(this.withClock(this.defaults), 'breakerRegistry.defaults');
  }

  /**
   * Sets the options of a kind's breakers, validated now. Breakers of that kind created earlier
   * keep their options; `reset(kind)` does not change that, only new names get the new options.
   */
  configure(kind: string, options: BreakerKindOptions): this {
    resolveCircuitBreakerOptions(this.withClock(options), `breakerRegistry.configure('${kind}')`);
    this.kindOptions.set(kind, options);
    return this;
  }

  /**
   * The breaker for `name` within `kind`, created on first use with the kind's options. Its own
   * name is `kind:name` (e.g. `worker:worker1`), which is what its errors carry.
   */
  get(kind: string, name: string): CircuitBreaker {
    let byName = this.breakers.get(kind);
    if (byName === undefined) {
      byName = new Map();
      this.breakers.set(kind, byName);
    }
    let breaker = byName.get(name);
    if (breaker === undefined) {
      const options = this.kindOptions.get(kind) ?? this.defaults;
      breaker = new CircuitBreaker({ ...this.withClock(options), name: `${kind}:${name}` });
      breaker.onStateChange((event) => {
        if (this.stateChangeEmitter.active) this.stateChangeEmitter.emit({ ...event, kind, name });
      });
      byName.set(name, breaker);
    }
    return breaker;
  }

  /** Whether `get(kind, name)` would return an existing breaker. */
  has(kind: string, name: string): boolean {
    return this.breakers.get(kind)?.has(name) ?? false;
  }

  /** Every breaker, by kind then name in creation order. */
  list(): BreakerRegistryEntry[] {
    const entries: BreakerRegistryEntry[] = [];
    for (const [kind, byName] of this.breakers) {
      for (const [name, breaker] of byName) entries.push({ kind, name, breaker });
    }
    return entries;
  }

  /**
   * Resets every breaker, those of one kind, or one breaker (never creates one);
   * `reset(undefined, name)` resets the breakers called `name` in every kind.
   */
  reset(kind?: string, name?: string): void {
    for (const entry of this.select(kind, name)) entry.breaker.reset();
  }

  health(): BreakerRegistryHealth {
    const kinds: Record<string, Record<string, CircuitHealth>> = {};
    const count: Record<CircuitState, number> = { closed: 0, open: 0, 'half-open': 0, isolated: 0 };
    let totalHealth = 0;
    let total = 0;
    for (const { kind, name, breaker } of this.list()) {
      const stats = breaker.stats();
      kinds[kind] ??= {};
      kinds[kind][name] = {
        state: stats.state,
        healthPercent: stats.healthPercent,
        totalSuccesses: stats.successes,
        totalFailures: stats.failures,
        tripCount: stats.tripCount,
        retryAfterMs: stats.retryAfterMs,
      };
      count[stats.state]++;
      totalHealth += stats.healthPercent;
      total++;
    }
    const averageHealth = total === 0 ? 100 : totalHealth / total;
    const available = total === 0 ? 1 : (count.closed + count['half-open'] / 2) / total;
    return {
      aggregate: {
        totalCircuits: total,
        openCircuits: count.open,
        halfOpenCircuits: count['half-open'],
        closedCircuits: count.closed,
        isolatedCircuits: count.isolated,
        averageHealth,
        overallHealth: averageHealth * available,
      },
      kinds,
    };
  }

  private select(kind?: string, name?: string): BreakerRegistryEntry[] {
    if (kind === undefined) return this.list().filter((entry) => name === undefined || entry.name === name);
    const byName = this.breakers.get(kind);
    if (byName === undefined) return [];
    if (name === undefined) return [...byName].map(([name, breaker]) => ({ kind, name, breaker }));
    const breaker = byName.get(name);
    return breaker === undefined ? [] : [{ kind, name, breaker }];
  }

  private withClock(options: BreakerKindOptions): CircuitBreakerOptions {
    return options.clock === undefined && this.clock !== undefined
      ? { ...options, clock: this.clock }
      : options;
  }
}
