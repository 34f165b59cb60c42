// Errors of rebound/durable (SPEC 3): all extend ReboundError with a stable code.

import { ReboundError, hasErrorCode } from '../policies/index.ts';

/** The same explicit idempotency key was used with different params. */
export class IdempotencyConflictError extends ReboundError {
  readonly key: string;

  constructor(key: string, name: string) {
    super(
      'IDEMPOTENCY_CONFLICT',
      `idempotency key '${key}' was already used for '${name}' with different params`,
    );
    this.key = key;
  }
}

/** Another caller is running the action under this key, and `onInProgress: 'reject'` was asked. */
export class IdempotencyInProgressError extends ReboundError {
  readonly key: string;
  readonly owner: string;

  constructor(key: string, owner: string) {
    super('IDEMPOTENCY_IN_PROGRESS', `idempotency key '${key}' is in progress (owner ${owner})`);
    this.key = key;
    this.owner = owner;
  }
}

/** The action's context signal aborts with this when renewing found the claim held by someone else. */
export class IdempotencyLeaseLostError extends ReboundError {
  readonly key: string;

  constructor(key: string) {
    super(
      'IDEMPOTENCY_LEASE_LOST',
      `idempotency key '${key}' was taken over by another owner while its action ran (the lease lapsed)`,
    );
    this.key = key;
  }
}

/** A replayed workflow asked for a different step than the one recorded at that position. */
export class WorkflowDivergenceError extends ReboundError {
  readonly workflowId: string;
  readonly position: number;
  readonly expected: string;
  readonly actual: string;

  constructor(workflowId: string, position: number, expected: string, actual: string) {
    super(
      'WORKFLOW_DIVERGENCE',
      `workflow '${workflowId}' diverged at step ${position}: recorded '${expected}', now '${actual}'` +
        ' (workflow code must call the same steps in the same order on every run)',
    );
    this.workflowId = workflowId;
    this.position = position;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A recorded step's output does not match its checksum: the store was altered or damaged. */
export class CheckpointCorruptedError extends ReboundError {
  readonly workflowId: string;
  readonly position: number;
  readonly step: string;

  constructor(workflowId: string, position: number, step: string) {
    super(
      'CHECKPOINT_CORRUPTED',
      `checkpoint of step '${step}' (position ${position}) of workflow '${workflowId}' does not match its checksum`,
    );
    this.workflowId = workflowId;
    this.position = position;
    this.step = step;
  }
}

/** degrade() ended at a level beyond `maxLevel`. */
export class DegradationExceededError extends ReboundError {
  readonly level: string;
  readonly maxLevel: string;
  readonly failed: readonly string[];

  constructor(level: string, maxLevel: string, failed: readonly string[]) {
    super(
      'DEGRADATION_EXCEEDED',
      `degraded to '${level}', beyond the allowed '${maxLevel}'; failed: ${failed.join(', ') || 'none'}`,
    );
    this.level = level;
    this.maxLevel = maxLevel;
    this.failed = failed;
  }
}

export const isIdempotencyConflictError = (error: unknown): error is IdempotencyConflictError =>
  hasErrorCode(error, 'IDEMPOTENCY_CONFLICT');
export const isIdempotencyInProgressError = (error: unknown): error is IdempotencyInProgressError =>
  hasErrorCode(error, 'IDEMPOTENCY_IN_PROGRESS');
export const isIdempotencyLeaseLostError = (error: unknown): error is IdempotencyLeaseLostError =>
  hasErrorCode(error, 'IDEMPOTENCY_LEASE_LOST');
export const isWorkflowDivergenceError = (error: unknown): error is WorkflowDivergenceError =>
  hasErrorCode(error, 'WORKFLOW_DIVERGENCE');
export const isCheckpointCorruptedError = (error: unknown): error is CheckpointCorruptedError =>
  hasErrorCode(error, 'CHECKPOINT_CORRUPTED');
export const isDegradationExceededError = (error: unknown): error is DegradationExceededError =>
  hasErrorCode(error, 'DEGRADATION_EXCEEDED');
