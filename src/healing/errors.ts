// Errors of the control plane that callers (the HTTP API, the CLI) map to answers.

import { ReboundError, hasErrorCode } from '../policies/index.ts';

/** No service of that name in the config (HTTP 404). */
export class UnknownServiceError extends ReboundError {
  readonly service: string;

  constructor(service: string) {
    super('UNKNOWN_SERVICE', `no service named ${JSON.stringify(service)}`);
    this.service = service;
  }
}

/** An incident, attempt or other record that does not exist (HTTP 404). */
export class NotFoundError extends ReboundError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** A well-formed request the control plane refuses (HTTP 400 or 409), e.g. scale beyond max. */
export class InvalidRequestError extends ReboundError {
  readonly details: unknown;

  constructor(message: string, details?: unknown) {
    super('INVALID_REQUEST', message);
    this.details = details;
  }
}

/** The request conflicts with what is happening (HTTP 409), e.g. restarting while a dependency is down. */
export class ConflictError extends ReboundError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export const isUnknownServiceError = (error: unknown): error is UnknownServiceError =>
  hasErrorCode(error, 'UNKNOWN_SERVICE');
export const isNotFoundError = (error: unknown): error is NotFoundError => hasErrorCode(error, 'NOT_FOUND');
export const isInvalidRequestError = (error: unknown): error is InvalidRequestError =>
  hasErrorCode(error, 'INVALID_REQUEST');
export const isConflictError = (error: unknown): error is ConflictError => hasErrorCode(error, 'CONFLICT');
