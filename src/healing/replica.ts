// One replica of a service: its state machine, its current process, and the view the API shows.

import type { TimerHandle } from '../policies/index.ts';
import type { ServiceConfig } from './configTypes.ts';
import type { ReplicaState, ReplicaView } from './controlPlaneTypes.ts';
import type { HealthChecker } from './healthChecker.ts';

/**
 * The legal moves of a replica; anything else is a bug and throws. `backoff` waits for a restart
 * (its delay, or a hold); `stopped` is final unless an operator starts it again.
 */
const TRANSITIONS: Readonly<Record<ReplicaState, readonly ReplicaState[]>> = {
  starting: ['healthy', 'unhealthy', 'backoff', 'stopping', 'stopped'],
  healthy: ['unhealthy', 'backoff', 'stopping', 'stopped'],
  unhealthy: ['healthy', 'backoff', 'stopping', 'stopped'],
  backoff: ['starting', 'stopping', 'stopped'],
  stopping: ['stopped'],
  stopped: ['starting', 'stopping'],
};

/** One run of a replica: a process from spawn to exit. */
export interface ReplicaProcess {
  /** 0 when spawning failed. */
  readonly pid: number;
  readonly port: number;
  /** Epoch ms, from the supervisor's clock. */
  readonly startedAt: number;
  checker: HealthChecker | undefined;
  /** Rebound asked it to stop: its exit is expected and not restarted. */
  stopRequested: boolean;
  /** Killed because its probe failed: its exit is restarted with reason 'hang'. */
  hung: boolean;
  /** The last failing probe's detail, for messages. */
  lastFailure: string | undefined;
  /** Last sampled resident memory, bytes. */
  rssBytes: number | undefined;
  exited: boolean;
  /** Resolves on exit. */
  readonly exit: Promise<void>;
  markExited(): void;
  killTimer: TimerHandle | undefined;
}

export class Replica {
  readonly id: string;
  /** The config it runs (a rollout gives new replicas a new one). */
  readonly config: ServiceConfig;
  readonly revision: number;
  /**
   * Started by restart, scale or rollout: until its first passing probe a failure removes it and
   * fails the operation, instead of the automatic restart an established replica gets.
   */
  candidate: boolean;
  /** Automatic restarts of this replica. */
  restarts = 0;
  /** Consecutive failures within MIN_UPTIME_MS of starting (restartBackoff.ts). */
  quickFailures = 0;
  process: ReplicaProcess | undefined;
  /** Its last port, kept for the view while it waits to restart. */
  port = 0;
  /** The pending restart (backoff delay, or the next ask while held). */
  timer: TimerHandle | undefined;
  /** Why its restart is held, once said (the event is sent again only when the reason changes). */
  heldReason: string | undefined;
  /** Set while stopping, so concurrent stops share one. */
  stopping: Promise<void> | undefined;
  /** Counts launches, so a launch overtaken by a stop and a new launch gives up. */
  launches = 0;
  private currentState: ReplicaState = 'starting';
  private readyPromise!: Promise<void>;
  private settleReady: ((error?: Error) => void) | undefined;

  constructor(id: string, config: ServiceConfig, revision: number, candidate: boolean) {
    this.id = id;
    this.config = config;
    this.revision = revision;
    this.candidate = candidate;
    this.rearm();
  }

  /** Settles at the first passing probe, or with the reason it never will. */
  get ready(): Promise<void> {
    return this.readyPromise;
  }

  /** A new `ready` once the last one settled: the replica is being started again. */
  rearm(): void {
    if (this.settleReady) return;
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error ? reject(error) : resolve());
    });
    // Nobody may be waiting; a rejection nobody awaits is not an error here.
    this.readyPromise.catch(() => {});
  }

  get state(): ReplicaState {
    return this.currentState;
  }

  /** The number in its id (`r12` → 12), to order replicas by age. */
  get ordinal(): number {
    return Number(this.id.slice(1));
  }

  moveTo(state: ReplicaState): void {
    if (state === this.currentState) return;
    if (!TRANSITIONS[this.currentState].includes(state)) {
      throw new Error(`replica ${this.id}: illegal transition ${this.currentState} → ${state}`);
    }
    this.currentState = state;
  }

  /** Resolves `ready` (no error) or rejects it; only the first call counts. */
  settle(error?: Error): void {
    const settle = this.settleReady;
    this.settleReady = undefined;
    settle?.(error);
  }

  view(): ReplicaView {
    const run =
      this.process !== undefined && !this.process.exited && this.process.pid > 0 ? this.process : undefined;
    return {
      id: this.id,
      ...(run ? { pid: run.pid } : {}),
      port: run?.port ?? this.port,
      state: this.currentState,
      restarts: this.restarts,
      startedAt: run ? new Date(run.startedAt).toISOString() : null,
      revision: this.revision,
    };
  }
}
