// When a replica that failed is started again, and when a service has failed too often to try.

import type { RestartConfig } from './configTypes.ts';

/**
 * A replica that ran at least this long before failing is restarted at once (PM2's `min_uptime`).
 *
 * Why not back off every restart: a service that crashes now and then (a kill, an OOM, a rare bug)
 * should serve again as soon as a process can boot, since its clients are waiting; that keeps
 * kill→serving in the low hundreds of milliseconds. Only a replica that fails again within a second
 * of starting is crash-looping, and restarting that at once would only burn CPU and spam logs, so
 * those restarts wait `initialMs × factor^(n−1)` for the n-th consecutive quick failure, capped at
 * `maxMs`. A replica that stays up for `MIN_UPTIME_MS` resets the count.
 */
export const MIN_UPTIME_MS = 1_000;

/** The delay before the restart after `quickFailures` consecutive quick failures (0: it ran long enough). */
export function restartDelayMs(backoff: RestartConfig['backoff'], quickFailures: number): number {
  if (quickFailures <= 0) return 0;
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (quickFailures - 1));
}

export type RestartLimits = Pick<RestartConfig, 'maxRestarts' | 'windowMs'>;

/**
 * The restart budget of one service: every automatic restart (crash or hang) counts, and a restart
 * that would make more than `maxRestarts` within `windowMs` is refused (the service goes critical).
 */
export class RestartBudget {
  private times: number[] = [];

  /** Restarts made within the window ending at `now`. */
  count(now: number, limits: RestartLimits): number {
    this.forget(now, limits.windowMs);
    return this.times.length;
  }

  /**
   * Takes one restart at `now` if the budget allows it; otherwise answers how many restarts the
   * window would have held (more than `maxRestarts`) and takes nothing. The limits are passed on
   * every call because a rollout may change them.
   */
  take(now: number, limits: RestartLimits): { allowed: true } | { allowed: false; restarts: number } {
    this.forget(now, limits.windowMs);
    if (this.times.length >= limits.maxRestarts) return { allowed: false, restarts: this.times.length + 1 };
    this.times.push(now);
    return { allowed: true };
  }

  /** Forgets every restart: an operator (or a policy) took over. */
  reset(): void {
    this.times = [];
  }

  private forget(now: number, windowMs: number): void {
    const since = now - windowMs;
    let first = 0;
    while (first < this.times.length && this.times[first]! <= since) first++;
    if (first > 0) this.times = this.times.slice(first);
  }
}
