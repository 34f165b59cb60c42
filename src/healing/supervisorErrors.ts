// Errors of the supervisor's operations: a new replica that never became healthy, a failed rollout.

import { ReboundError, hasErrorCode } from '../policies/index.ts';

/** A replica started by restart, scale or rollout exited, hung or timed out before its first passing probe. */
export class ReplicaStartError extends ReboundError {
  readonly service: string;
  readonly replica: string;
  readonly reason: string;

  constructor(service: string, replica: string, reason: string) {
    super('REPLICA_START_FAILED', `${service}/${replica} ${reason}`);
    this.service = service;
    this.replica = replica;
    this.reason = reason;
  }
}

/** A rollout whose new replicas did not become healthy; the previous revision keeps running. */
export class RolloutError extends ReboundError {
  readonly service: string;
  /** The revision that failed. */
  readonly revision: number;

  constructor(service: string, revision: number, running: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      'ROLLOUT_FAILED',
      `rollout of ${service} revision ${revision} failed: ${why}; revision ${running} keeps running`,
      { cause },
    );
    this.service = service;
    this.revision = revision;
  }
}

export const isReplicaStartError = (error: unknown): error is ReplicaStartError =>
  hasErrorCode(error, 'REPLICA_START_FAILED');
export const isRolloutError = (error: unknown): error is RolloutError =>
  hasErrorCode(error, 'ROLLOUT_FAILED');
