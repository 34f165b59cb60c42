// The history of circuit state changes the dashboard shows: the last transitions of a breaker
// registry, kept in a fixed ring buffer fed by the registry's state-change events.

import type { BreakerRegistry, CircuitState, CircuitStateChangeReason } from '../policies/index.ts';

/** How many transitions are kept by default; older ones are overwritten. */
export const BREAKER_TRANSITIONS_CAPACITY = 200;

export interface BreakerTransition {
  /** ISO time of the change, from the breaker's clock. */
  readonly at: string;
  readonly kind: string;
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: CircuitStateChangeReason;
}

export interface BreakerTransitions {
  /** The kept transitions, newest first. */
  list(): BreakerTransition[];
  /** How many transitions were recorded since it started, kept or not: changes when one happens. */
  readonly total: number;
  /** Stops listening to the registry; what was kept stays readable. */
  close(): void;
}

export function breakerTransitions(
  registry: BreakerRegistry,
  capacity: number = BREAKER_TRANSITIONS_CAPACITY,
): BreakerTransitions {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`breakerTransitions capacity must be an integer >= 1, got ${capacity}`);
  }
  const ring: BreakerTransition[] = [];
  let total = 0;
  const unsubscribe = registry.onStateChange(({ at, kind, name, from, to, reason }) => {
    ring[total % capacity] = { at: new Date(at).toISOString(), kind, name, from, to, reason };
    total++;
  });
  return {
    list() {
      const kept = Math.min(total, capacity);
      const newestFirst: BreakerTransition[] = [];
      for (let back = 1; back <= kept; back++) newestFirst.push(ring[(total - back) % capacity]!);
      return newestFirst;
    },
    get total() {
      return total;
    },
    close: unsubscribe,
  };
}
