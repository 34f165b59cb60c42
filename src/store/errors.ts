// Errors of rebound/store: each names the problem (bad URL, unreadable file, schema too new).

import { ReboundError, hasErrorCode } from '../policies/index.ts';

/** The URL is not one openStore understands, or is malformed. */
export class StoreUrlError extends ReboundError {
  readonly storeUrl: string;

  constructor(storeUrl: string, message: string) {
    super('STORE_URL', message);
    this.storeUrl = storeUrl;
  }
}

/** The store could not be opened: unreadable or corrupt file, unreachable server, wrong credentials. */
export class StoreOpenError extends ReboundError {
  readonly storeUrl: string;

  constructor(storeUrl: string, message: string, cause?: unknown) {
    super('STORE_OPEN', message, { cause });
    this.storeUrl = storeUrl;
  }
}

/** The database was written by a newer rebound, with migrations this one does not know. */
export class StoreSchemaError extends ReboundError {
  readonly found: number;
  readonly supported: number;

  constructor(found: number, supported: number) {
    super(
      'STORE_SCHEMA',
      `store schema version ${found} is newer than this rebound supports (${supported}); upgrade rebound or use another store`,
    );
    this.found = found;
    this.supported = supported;
  }
}

export class StoreClosedError extends ReboundError {
  constructor() {
    super('STORE_CLOSED', 'the store is closed');
  }
}

export const isStoreUrlError = (error: unknown): error is StoreUrlError => hasErrorCode(error, 'STORE_URL');
export const isStoreOpenError = (error: unknown): error is StoreOpenError =>
  hasErrorCode(error, 'STORE_OPEN');
export const isStoreSchemaError = (error: unknown): error is StoreSchemaError =>
  hasErrorCode(error, 'STORE_SCHEMA');
export const isStoreClosedError = (error: unknown): error is StoreClosedError =>
  hasErrorCode(error, 'STORE_CLOSED');
