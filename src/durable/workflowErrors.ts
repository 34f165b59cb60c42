// Errors of the workflow engine beyond the two SPEC 3 names (divergence, corrupted checkpoint, in
// errors.ts): one class per problem, each with a stable code, and guards that compare codes.

import { ReboundError, hasErrorCode } from '../policies/index.ts';

/** `start()` named a workflow this engine has no function registered for. */
export class UnknownWorkflowError extends ReboundError {
  readonly workflowName: string;

  constructor(workflowName: string) {
    super('WORKFLOW_UNKNOWN', `no workflow is registered under the name '${workflowName}'`);
    this.workflowName = workflowName;
  }
}

/** `register()` was called twice with one name. */
export class WorkflowAlreadyRegisteredError extends ReboundError {
  readonly workflowName: string;

  constructor(workflowName: string) {
    super('WORKFLOW_ALREADY_REGISTERED', `a workflow is already registered under the name '${workflowName}'`);
    this.workflowName = workflowName;
  }
}

/** `start()` reused the id of a workflow of another name. */
export class WorkflowConflictError extends ReboundError {
  readonly workflowId: string;
  readonly existingName: string;
  readonly requestedName: string;

  constructor(workflowId: string, existingName: string, requestedName: string) {
    super(
      'WORKFLOW_CONFLICT',
      `workflow id '${workflowId}' is already used by a '${existingName}' workflow, not '${requestedName}'`,
    );
    this.workflowId = workflowId;
    this.existingName = existingName;
    this.requestedName = requestedName;
  }
}

/** The workflow was cancelled: what `result()` rejects with, and the reason `ctx.signal` aborts with. */
export class WorkflowCancelledError extends ReboundError {
  readonly workflowId: string;

  constructor(workflowId: string) {
    super('WORKFLOW_CANCELLED', `workflow '${workflowId}' was cancelled`);
    this.workflowId = workflowId;
  }
}

/** No workflow has this id in the store. */
export class WorkflowNotFoundError extends ReboundError {
  readonly workflowId: string;

  constructor(workflowId: string) {
    super('WORKFLOW_NOT_FOUND', `no workflow with id '${workflowId}'`);
    this.workflowId = workflowId;
  }
}

/**
 * Another executor took the workflow over (this one's lease lapsed): `ctx.signal` aborts with it and
 * this executor stops running the workflow without recording anything more.
 */
export class WorkflowOwnershipLostError extends ReboundError {
  readonly workflowId: string;
  readonly executorId: string;

  constructor(workflowId: string, executorId: string) {
    super(
      'WORKFLOW_OWNERSHIP_LOST',
      `executor '${executorId}' no longer owns workflow '${workflowId}' (another executor took it over)`,
    );
    this.workflowId = workflowId;
    this.executorId = executorId;
  }
}

/** The engine was closed: `start()`/`recover()` afterwards, and the reason running workflows stop. */
export class WorkflowEngineClosedError extends ReboundError {
  readonly executorId: string;

  constructor(executorId: string) {
    super('WORKFLOW_ENGINE_CLOSED', `the workflow engine of executor '${executorId}' is closed`);
    this.executorId = executorId;
  }
}

/** A workflow input or output, or a step output, cannot be stored as JSON. */
export class WorkflowSerializationError extends ReboundError {
  /** What could not be stored, e.g. "output of step 'fetch'". */
  readonly what: string;

  constructor(what: string, cause: unknown) {
    super(
      'WORKFLOW_SERIALIZATION',
      `the ${what} cannot be stored as JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.what = what;
  }
}

export const isUnknownWorkflowError = (error: unknown): error is UnknownWorkflowError =>
  hasErrorCode(error, 'WORKFLOW_UNKNOWN');
export const isWorkflowAlreadyRegisteredError = (error: unknown): error is WorkflowAlreadyRegisteredError =>
  hasErrorCode(error, 'WORKFLOW_ALREADY_REGISTERED');
export const isWorkflowConflictError = (error: unknown): error is WorkflowConflictError =>
  hasErrorCode(error, 'WORKFLOW_CONFLICT');
export const isWorkflowCancelledError = (error: unknown): error is WorkflowCancelledError =>
  hasErrorCode(error, 'WORKFLOW_CANCELLED');
export const isWorkflowNotFoundError = (error: unknown): error is WorkflowNotFoundError =>
  hasErrorCode(error, 'WORKFLOW_NOT_FOUND');
export const isWorkflowOwnershipLostError = (error: unknown): error is WorkflowOwnershipLostError =>
  hasErrorCode(error, 'WORKFLOW_OWNERSHIP_LOST');
export const isWorkflowEngineClosedError = (error: unknown): error is WorkflowEngineClosedError =>
  hasErrorCode(error, 'WORKFLOW_ENGINE_CLOSED');
export const isWorkflowSerializationError = (error: unknown): error is WorkflowSerializationError =>
  hasErrorCode(error, 'WORKFLOW_SERIALIZATION');
