// GET /api/stream: the dashboard's live feed as Server-Sent Events, a `snapshot` of the services,
// the breaker registry (with a count of its transitions) and the healing statistics every second,
// with a heartbeat comment between. The healing statistics read the whole healing log from the
// store, so every stream shares one copy, read again at most every 10 s.

import type { ControlPlane } from '../healing/index.ts';
import { type Clock, systemClock } from '../policies/index.ts';
import type { Route } from './apiTypes.ts';
import { type BreakerTransitions, breakerTransitions } from './breakerTransitions.ts';

export interface StreamOptions {
  /** Between two snapshots; default 1000. */
  readonly intervalMs?: number;
  readonly clock?: Clock;
  /**
   * The breaker transitions the snapshots count, shared with `GET /api/circuit-breakers/transitions`;
   * default: the routes keep their own from when they are built.
   */
  readonly transitions?: BreakerTransitions;
}

export const STREAM_INTERVAL_MS = 1_000;
/** How old the healing statistics in a snapshot may be. */
export const HEALING_STATS_MAX_AGE_MS = 10_000;

/** What one `event: snapshot` carries. */
export interface StreamSnapshot {
  readonly services: ReturnType<ControlPlane['services']>;
  readonly breakers: ReturnType<ControlPlane['breakers']['health']>;
  readonly healingStats: Awaited<ReturnType<ControlPlane['healingStats']>>;
  /**
   * How many breaker transitions were recorded so far: the history
   * (`GET /api/circuit-breakers/transitions`) has something new when it changes.
   */
  readonly breakerTransitions: number;
  /** ISO time the snapshot was taken. */
  readonly at: string;
}

export function streamRoutes(controlPlane: ControlPlane, options: StreamOptions = {}): Route[] {
  const intervalMs = options.intervalMs ?? STREAM_INTERVAL_MS;
  const clock = options.clock ?? systemClock;
  // Recording starts with the routes, not with the first client.
  const transitions = options.transitions ?? breakerTransitions(controlPlane.breakers);
  let healing: { stats: Promise<StreamSnapshot['healingStats']>; at: number } | undefined;
  const healingStats = (): Promise<StreamSnapshot['healingStats']> => {
    const now = clock.now();
    if (!healing || now - healing.at >= HEALING_STATS_MAX_AGE_MS) {
      healing = { stats: controlPlane.healingStats(), at: now };
      healing.stats.catch(() => (healing = undefined)); // a failed read is tried again next time
    }
    return healing.stats;
  };
  return [
    {
      method: 'GET',
      path: '/api/stream',
      handle: () => ({
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          // Proxies (nginx) must not buffer the stream.
          'x-accel-buffering': 'no',
        },
        body: '',
        stream(write) {
          let stopped = false;
          let timer: ReturnType<Clock['setTimeout']> | undefined;
          const tick = async (): Promise<void> => {
            if (stopped) return;
            try {
              write(
                `event: snapshot\ndata: ${JSON.stringify(await snapshot(controlPlane, transitions, clock, healingStats))}\n\n`,
              );
            } catch (error) {
              // The store is closing or failing: say so on the stream rather than end it silently.
              write(`event: problem\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
            }
            if (stopped) return;
            write(': heartbeat\n\n');
            timer = clock.setTimeout(() => void tick(), intervalMs);
            timer.unref?.();
          };
          write('retry: 2000\n\n');
          void tick();
          return () => {
            stopped = true;
            if (timer !== undefined) clock.clearTimeout(timer);
          };
        },
      }),
    },
  ];
}

export async function snapshot(
  controlPlane: ControlPlane,
  transitions: BreakerTransitions,
  clock: Clock = systemClock,
  healingStats: () => Promise<StreamSnapshot['healingStats']> = () => controlPlane.healingStats(),
): Promise<StreamSnapshot> {
  return {
    services: controlPlane.services(),
    breakers: controlPlane.breakers.health(),
    healingStats: await healingStats(),
    breakerTransitions: transitions.total,
    at: new Date(clock.now()).toISOString(),
  };
}
