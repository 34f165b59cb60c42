// Supervises the replicas of one service: the operations an operator or a policy runs on it
// (restart, scale, stop, start, rollout, rollback), one at a time, on top of ReplicaSet.

import type { ServiceConfig } from './configTypes.ts';
import { ConflictError, InvalidRequestError } from './errors.ts';
import type { Replica } from './replica.ts';
import { ReplicaSet, type SupervisorContext } from './replicaSet.ts';
import { RolloutError } from './supervisorErrors.ts';

export class ServiceSupervisor extends ReplicaSet {
  private previousConfig: ServiceConfig | undefined;
  private lastRevision = 1;
  /** How many replicas it should run (the config's count until scaled). */
  private desired: number;
  /** Operations run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(config: ServiceConfig, context: SupervisorContext) {
    super(config, context);
    this.desired = config.replicas.count;
  }

  /** Starts the configured replicas and waits (a bounded time, never failing) until they pass. */
  start(): Promise<void> {
    return this.exclusive(async () => {
      const started = this.fill(false);
      try {
        await this.allReady(started);
      } catch (error) {
        this.context.log(`[${this.name}] ${(error as Error).message}`);
      }
    });
  }

  /**
   * Replaces every running replica by a new one that passes its probe before the old one stops, so
   * no capacity is lost; replicas that are down are started again at once. Clears critical.
   */
  restart(): Promise<void> {
    return this.exclusive(async () => {
      this.halted = false;
      this.forgiveFailures();
      const revived = this.revive();
      for (const old of [...this.list]) {
        if (revived.includes(old)) continue;
        const fresh = this.add(this.config, this.currentRevision, true);
        await this.candidateReady(fresh);
        await this.retire(old);
      }
      await this.allReady([...revived, ...this.fill(false)]);
    });
  }

  /** Stops every replica gracefully; nothing restarts until `startAll` or `restart`. */
  stopAll(): Promise<void> {
    return this.exclusive(async () => {
      this.halted = true;
      await Promise.all([...this.list].map((replica) => this.retire(replica)));
    });
  }

  /** Back to the replica count, failed replicas started again; clears critical. */
  startAll(): Promise<void> {
    return this.exclusive(async () => {
      this.halted = false;
      this.forgiveFailures();
      const revived = this.revive();
      await this.allReady([...revived, ...this.fill(false)]);
    });
  }

  /**
   * Adds replicas (resolving once they pass; with `waitReady: false` once they are started, so the
   * next operation need not wait for their probes) or stops the surplus gracefully.
   */
  scale(count: number, options: { waitReady?: boolean } = {}): Promise<void> {
    if (!Number.isInteger(count) || count < 0) {
      return Promise.reject(
        new InvalidRequestError(`replicas must be a whole number >= 0, got ${String(count)}`),
      );
    }
    return this.exclusive(async () => {
      this.desired = count;
      if (this.halted) return;
      if (count > this.list.length) {
        const added = this.fill(true);
        const ready = Promise.allSettled(added.map((replica) => this.candidateReady(replica))).then(
          (outcomes) => {
            const failure = outcomes.find((outcome) => outcome.status === 'rejected');
            if (!failure) return;
            // A later scale decided the count since: that decision stands.
            if (this.desired === count) this.desired = this.list.length;
            throw failure.reason;
          },
        );
        if (options.waitReady === false) {
          // The failed candidate is gone from the list: whoever scales sees the count it left.
          ready.catch(() => {});
          return;
        }
        await ready;
      } else if (count < this.list.length) {
        // Those not serving go first, then the newest: the oldest have proven themselves.
        const victims = [...this.list]
          .sort((a, b) => rankForRemoval(a) - rankForRemoval(b) || b.ordinal - a.ordinal)
          .slice(0, this.list.length - count);
        await Promise.all(victims.map((replica) => this.retire(replica)));
      }
    });
  }

  /** Replaces the replicas one at a time with ones running `config`, each only once the new one passes. */
  rollout(config: ServiceConfig): Promise<void> {
    if (config.name !== this.name) {
      return Promise.reject(
        new InvalidRequestError(`rollout of ${this.name} given the config of ${config.name}`),
      );
    }
    return this.exclusive(() => this.rolloutNow(config));
  }

  /** Rolls out the revision before the current one; false when there is none. */
  rollback(): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.previousConfig) return false;
      await this.rolloutNow(this.previousConfig);
      return true;
    });
  }

  /** Stops everything at once (not queued behind operations) and refuses new work. */
  async close(): Promise<void> {
    this.closed = true;
    this.halted = true;
    await Promise.all([...this.list].map((replica) => this.retire(replica)));
  }

  // -------------------------------------------------------------------------------------------
  // Helpers of the operations

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(() => {
      if (this.closed) throw new ConflictError(`${this.name} is being stopped with the supervisor`);
      return operation();
    });
    this.queue = result.catch(() => {});
    return result;
  }

  private async rolloutNow(config: ServiceConfig): Promise<void> {
    const before = { config: this.config, revision: this.currentRevision, previous: this.previousConfig };
    this.previousConfig = this.config;
    this.config = config;
    this.currentRevision = ++this.lastRevision;
    if (this.halted) return;
    try {
      for (const old of [...this.list]) {
        const fresh = this.add(config, this.currentRevision, true);
        await this.candidateReady(fresh);
        await this.retire(old);
      }
      const added = this.fill(true);
      for (const replica of added) await this.candidateReady(replica);
      this.forgiveFailures();
    } catch (error) {
      const failed = this.currentRevision;
      this.config = before.config;
      this.currentRevision = before.revision;
      this.previousConfig = before.previous;
      // Where the new revision had already replaced a replica, the previous one comes back the same
      // careful way, so the service ends on one revision.
      for (const replica of this.list.filter((r) => r.revision === failed)) {
        try {
          const back = this.add(before.config, before.revision, true);
          await this.candidateReady(back);
          await this.retire(replica);
        } catch (revertError) {
          this.context.log(
            `[${this.name}] could not restore revision ${before.revision}: ${String(revertError)}`,
          );
        }
      }
      throw new RolloutError(this.name, failed, before.revision, error);
    }
  }

  /** Adds replicas up to the desired count. */
  private fill(candidate: boolean): Replica[] {
    const added: Replica[] = [];
    while (this.list.length < this.desired)
      added.push(this.add(this.config, this.currentRevision, candidate));
    return added;
  }
}

/** Replicas that do not serve are the first to go when scaling down. */
function rankForRemoval(replica: Replica): number {
  return replica.state === 'healthy' ? 1 : 0;
}
