// Picks the upstream for the next request: least-loaded (fewest requests in flight, ties taken in
// turn) or round-robin, skipping for a while an upstream that just refused a connection.

import type { BalanceStrategy } from './configTypes.ts';

/** What the balancer reads of an upstream. */
export interface Balanced {
  readonly inflight: number;
  /** Until when (clock time) the upstream is avoided after refusing a connection; 0 when it is not. */
  readonly avoidUntil: number;
}

export class Balancer<T extends Balanced> {
  readonly strategy: BalanceStrategy;
  private upstreams: readonly T[] = [];
  private cursor = 0;
  /** Some upstream is being avoided: only then is the clock read. */
  avoiding = false;

  constructor(strategy: BalanceStrategy) {
    this.strategy = strategy;
  }

  get size(): number {
    return this.upstreams.length;
  }

  set(upstreams: readonly T[]): void {
    this.upstreams = upstreams;
    if (this.cursor >= upstreams.length) this.cursor = 0;
    this.avoiding = upstreams.some((upstream) => upstream.avoidUntil !== 0);
  }

  /**
   * The upstream for the next request, never `exclude` (the one a retried request failed on);
   * undefined when there is none. An avoided upstream is picked only when every other one is too.
   */
  pick(now: () => number, exclude?: T): T | undefined {
    const upstreams = this.upstreams;
    const count = upstreams.length;
    if (count === 0) return undefined;
    if (count === 1) {
      const only = upstreams[0]!;
      return only === exclude ? undefined : only;
    }
    const time = this.avoiding ? now() : 0;
    const start = this.cursor;
    let best: T | undefined;
    let bestIndex = -1;
    let bestAvoided = true;
    for (let step = 0; step < count; step++) {
      const index = start + step < count ? start + step : start + step - count;
      const upstream = upstreams[index]!;
      if (upstream === exclude) continue;
      const avoided = time !== 0 && upstream.avoidUntil > time;
      if (
        best === undefined ||
        (bestAvoided && !avoided) ||
        (avoided === bestAvoided && this.strategy === 'least-loaded' && upstream.inflight < best.inflight)
      ) {
        best = upstream;
        bestIndex = index;
        bestAvoided = avoided;
        if (!avoided && this.strategy === 'round-robin') break;
      }
    }
    this.cursor = bestIndex + 1 === count ? 0 : bestIndex + 1;
    return best;
  }

  /** Called when an upstream's avoidance ends or starts, so that pick() knows whether to read the clock. */
  refreshAvoiding(now: number): void {
    this.avoiding = this.upstreams.some((upstream) => upstream.avoidUntil > now);
  }
}
