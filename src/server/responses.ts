// Building the API's answers: JSON bodies with the same headers everywhere, and the one error shape
// `{ error: { code, message, details? } }` every 4xx and 5xx uses.

import { ReboundError } from '../policies/index.ts';
import type { ApiResponse } from './apiTypes.ts';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A problem with one field of a request, e.g. `{ path: 'replicas', message: 'must be an integer' }`. */
export interface RequestProblem {
  readonly path: string;
  readonly message: string;
}

/** Thrown inside the API to answer with an error status; `code` is the stable `error.code`. */
export class HttpError extends ReboundError {
  readonly status: number;
  readonly details: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: unknown; headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(code, message);
    this.status = status;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export const isHttpError = (error: unknown): error is HttpError =>
  typeof error === 'object' &&
  error !== null &&
  (error as { name?: unknown }).name === 'HttpError' &&
  typeof (error as { status?: unknown }).status === 'number';

/**
 * Headers on every answer: no caching of live state, no content sniffing. Deliberately no CORS
 * header: browsers on other origins must not read or drive the API (SPEC 4.2a).
 */
function baseHeaders(contentType: string, extra: Readonly<Record<string, string>>): Record<string, string> {
  return {
    'content-type': contentType,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  };
}

export function jsonResponse(
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): ApiResponse {
  return { status, headers: baseHeaders(JSON_CONTENT_TYPE, headers), body: JSON.stringify(value) };
}

export function textResponse(status: number, contentType: string, body: string): ApiResponse {
  return { status, headers: baseHeaders(contentType, {}), body };
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  details?: unknown,
  headers: Readonly<Record<string, string>> = {},
): ApiResponse {
  const error = details === undefined ? { code, message } : { code, message, details };
  return jsonResponse(status, { error }, headers);
}

export function badRequest(message: string, details?: readonly RequestProblem[]): HttpError {
  return new HttpError(400, 'BAD_REQUEST', message, details === undefined ? {} : { details });
}
