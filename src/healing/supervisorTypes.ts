// What the supervisor is given and what it reports: its options, its events, an upstream.

import type { Clock } from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import type { ReplicaView } from './controlPlaneTypes.ts';

export interface SupervisorOptions {
  /** Where replicas are recorded (kind 'replica'), so the next start finds what a killed run left. */
  store: Pick<Store, 'records'>;
  clock?: Clock;
  /** Asked before every automatic restart; a string is the reason to hold it back (dependency down). */
  canRestart?: (service: string) => string | undefined;
  /** Replicas bind here (passed as HOST); default 127.0.0.1. */
  host?: string;
  /** Receives every line the replicas write, prefixed `[service/replicaId]`, and the supervisor's own notes. */
  log?: (line: string) => void;
  /** Free memory of the host in bytes, checked before a restart; default os.freemem. */
  freeMemory?: () => number;
  /** Grace a starting replica gets before it counts as hung (see startupBudgetMs); default 10 s. */
  startupGraceMs?: number;
  /**
   * Ports a replica must never be given, read at each start: those the config promises to the API,
   * the gateways and the fault proxies, which may bind them after the replicas start.
   */
  reservedPorts?: () => ReadonlySet<number>;
}

export type SupervisorEvent =
  | { type: 'replica-started'; service: string; replica: ReplicaView }
  | { type: 'replica-healthy'; service: string; replica: ReplicaView }
  | { type: 'replica-unhealthy'; service: string; replica: ReplicaView; detail: string }
  | {
      type: 'replica-exited';
      service: string;
      replica: ReplicaView;
      code: number | null;
      signal: string | null;
      /** True when rebound asked it to stop (stop, scale down, rollout, a failed new replica). */
      expected: boolean;
    }
  | {
      type: 'replica-restarting';
      service: string;
      replica: ReplicaView;
      reason: 'crash' | 'hang';
      delayMs: number;
      /** Said when the replica had outgrown its memory limit. */
      note?: string;
    }
  /** canRestart said no, or the host lacks the memory the service needs; asked again every 500 ms. */
  | { type: 'restart-held'; service: string; replica: ReplicaView; reason: string }
  /** More than `maxRestarts` were needed within `windowMs` (`restarts` counts the refused one). */
  | { type: 'service-critical'; service: string; restarts: number; windowMs: number }
  | { type: 'orphan-stopped'; service: string; pid: number };

/** A replica the gateway may send requests to. */
export interface Upstream {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}
