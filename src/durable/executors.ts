// Who runs workflows: this process's identity as an executor, when another executor counts as gone
// (its workflows may then be taken over), and the heartbeat that keeps this one from looking gone.

import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Clock, TimerHandle } from '../policies/index.ts';
import type { ExecutorRecord, WorkflowStore } from '../store/index.ts';

let cachedHost: string | undefined;

/**
 * This machine as executor records name it. Containers can share a hostname while each has its own
 * pid numbers, so on Linux the pid namespace is part of it: a pid is only looked up where it means
 * the same process.
 */
export function defaultHost(): string {
  if (cachedHost !== undefined) return cachedHost;
  let namespace = '';
  try {
    namespace = readlinkSync('/proc/self/ns/pid'); // e.g. 'pid:[4026531836]'
  } catch {
    // Not Linux, or no /proc: the hostname alone.
  }
  cachedHost = namespace === '' ? hostname() : `${hostname()}/${namespace}`;
  return cachedHost;
}

export function defaultExecutorId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** False only when the process certainly does not exist (ESRCH); a process we may not signal is alive. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface Liveness {
  readonly executorId: string;
  readonly host: string;
  readonly leaseMs: number;
  readonly now: number;
  readonly executors: ReadonlyMap<string, ExecutorRecord>;
}

/**
 * Whether a workflow owned by `owner` may be taken over by `liveness.executorId`: nobody owns it,
 * it is this executor's own (from an earlier run with the same id), its owner left no record
 * (it closed cleanly), its owner's heartbeat is older than the lease, or its owner is a process of
 * this host that no longer exists (a kill -9 is noticed at once instead of after the lease).
 */
export function ownerGone(owner: string | null, liveness: Liveness): boolean {
  if (owner === null || owner === liveness.executorId) return true;
  const executor = liveness.executors.get(owner);
  if (executor === undefined) return true;
  if (liveness.now - executor.heartbeatAt > liveness.leaseMs) return true;
  return executor.host === liveness.host && executor.pid !== process.pid && !processAlive(executor.pid);
}

// setTimeout holds at most 2^31-1 ms.
const MAX_TIMER_MS = 2_147_483_647;

export interface PresenceOptions {
  readonly store: WorkflowStore;
  readonly executorId: string;
  readonly host: string;
  readonly clock: Clock;
  readonly heartbeatMs: number;
  /** 0: no periodic recovery. */
  readonly recoverEveryMs: number;
  /** After each heartbeat: stop local runs the store says are no longer this executor's. */
  readonly checkLeases: () => Promise<void>;
  /** Every `recoverEveryMs`: take over what gone executors left. */
  readonly recover: () => Promise<unknown>;
  readonly report: (during: 'heartbeat' | 'recover' | 'lease-check', error: unknown) => void;
}

/**
 * An executor keeping itself alive in the store: a heartbeat every `heartbeatMs`, each followed by
 * a lease check, and a recovery pass every `recoverEveryMs`, all on one unref'd timer per engine.
 */
export class ExecutorPresence {
  private readonly options: PresenceOptions;
  private timer: TimerHandle | undefined;
  private ticking: Promise<void> | undefined;
  private running = false;
  private lastHeartbeatAt = 0;
  private lastRecoverAt = 0;

  constructor(options: PresenceOptions) {
    this.options = options;
  }

  /** Records that this executor is alive now. */
  async beat(): Promise<void> {
    const { store, executorId, host, clock } = this.options;
    const now = clock.now();
    await store.heartbeat({ id: executorId, host, pid: process.pid, heartbeatAt: now });
    this.lastHeartbeatAt = now;
  }

  /** Starts the timer (after a first beat); periodic recovery first comes `recoverEveryMs` from now. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastRecoverAt = this.options.clock.now();
    this.schedule();
  }

  /** Stops the timer and waits for a tick in progress, so no heartbeat lands afterwards. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    await this.ticking;
  }

  private schedule(): void {
    if (!this.running) return;
    const { clock, heartbeatMs } = this.options;
    const due = Math.min(this.lastHeartbeatAt + heartbeatMs, this.recoverDueAt()) - clock.now();
    this.timer = clock.setTimeout(
      () => {
        this.ticking = this.tick().finally(() => {
          this.ticking = undefined;
          this.schedule();
        });
      },
      Math.min(Math.max(0, due), MAX_TIMER_MS),
    );
    // Heartbeats alone must not keep a process alive; running workflows' own timers do.
    this.timer.unref?.();
  }

  private recoverDueAt(): number {
    const every = this.options.recoverEveryMs;
    return every > 0 ? this.lastRecoverAt + every : Number.POSITIVE_INFINITY;
  }

  private async tick(): Promise<void> {
    const { clock, heartbeatMs, report } = this.options;
    if (clock.now() >= this.lastHeartbeatAt + heartbeatMs) {
      try {
        await this.beat();
      } catch (error) {
        report('heartbeat', error);
        // Tried again at the next period, not at once.
        this.lastHeartbeatAt = clock.now();
      }
      if (this.running) {
        try {
          await this.options.checkLeases();
        } catch (error) {
          report('lease-check', error);
        }
      }
    }
    if (this.running && clock.now() >= this.recoverDueAt()) {
      this.lastRecoverAt = clock.now();
      try {
        await this.options.recover();
      } catch (error) {
        report('recover', error);
      }
    }
  }
}
