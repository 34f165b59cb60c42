// The one node:sqlite connection the parts of a SQLite store share, and the closed-store check.

import type { DatabaseSync } from 'node:sqlite';
import { StoreClosedError } from './errors.ts';

export interface SqliteConnection {
  readonly db: DatabaseSync;
  closed: boolean;
}

export function ensureOpen(connection: SqliteConnection): void {
  if (connection.closed) throw new StoreClosedError();
}
