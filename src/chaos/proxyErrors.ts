// The errors of the fault proxy, each carrying the HTTP status and message Toxiproxy answers with.

import { ReboundError } from '../policies/index.ts';

export type FaultProxyErrorCode =
  | 'PROXY_BAD_REQUEST'
  | 'PROXY_NOT_FOUND'
  | 'PROXY_EXISTS'
  | 'TOXIC_NOT_FOUND'
  | 'TOXIC_EXISTS'
  | 'PROXY_LISTEN_FAILED';

const STATUS: Record<FaultProxyErrorCode, number> = {
  PROXY_BAD_REQUEST: 400,
  PROXY_NOT_FOUND: 404,
  PROXY_EXISTS: 409,
  TOXIC_NOT_FOUND: 404,
  TOXIC_EXISTS: 409,
  PROXY_LISTEN_FAILED: 500,
};

/** A refused proxy or toxic operation; `message` is Toxiproxy's wording so its clients see the same. */
export class FaultProxyError extends ReboundError {
  /** The HTTP status Toxiproxy answers this error with. */
  readonly status: number;

  constructor(code: FaultProxyErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = STATUS[code];
  }
}

const CODES = new Set<string>(Object.keys(STATUS));

export function isFaultProxyError(error: unknown): error is FaultProxyError {
  return (
    typeof error === 'object' &&
    error !== null &&
    CODES.has((error as { code?: unknown }).code as string) &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}

export const proxyNotFound = (): FaultProxyError => new FaultProxyError('PROXY_NOT_FOUND', 'proxy not found');
export const toxicNotFound = (): FaultProxyError => new FaultProxyError('TOXIC_NOT_FOUND', 'toxic not found');
export const badRequest = (message = 'bad request body'): FaultProxyError =>
  new FaultProxyError('PROXY_BAD_REQUEST', message);
