// openStore: turns a store URL into an open, migrated Store (SQLite by default, PostgreSQL, memory).

import { StoreUrlError } from './errors.ts';
import { openMemoryStore } from './memory.ts';
import type { Store } from './types.ts';

export const DEFAULT_STORE_URL = 'sqlite:.rebound/state.db';

export interface OpenStoreOptions {
  /**
   * SQLite: 'full' (default) makes every commit durable before it resolves (synchronous=FULL);
   * 'normal' may lose the last commits on power loss, never on a process crash.
   */
  durability?: 'full' | 'normal';
  /** SQLite: how long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  /** Options the PostgreSQL adapter understands are passed on to it as given. */
  [option: string]: unknown;
}

const ACCEPTED = "'sqlite:<path>', 'postgres://…' (or 'postgresql://…') and 'memory:'";

/** The URL with any password replaced by *** (for messages, logs and Store.url). */
export function maskStoreUrl(url: string): string {
  // Only URLs with an authority can carry a password; replace it textually so a URL the WHATWG
  // parser would reject is still masked.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#]*@/i, '$1:***@');
}

function schemeOf(url: string): string | undefined {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return match?.[1]?.toLowerCase();
}

/** Opens (creating and migrating if needed) the store at `url`; default 'sqlite:.rebound/state.db'. */
export async function openStore(
  url: string = DEFAULT_STORE_URL,
  options: OpenStoreOptions = {},
): Promise<Store> {
  if (typeof url !== 'string' || url.length === 0) {
    throw new StoreUrlError(String(url), `a store URL must be a non-empty string; use ${ACCEPTED}`);
  }
  const scheme = schemeOf(url);
  switch (scheme) {
    case 'memory':
      if (url !== 'memory:') {
        throw new StoreUrlError(url, `the memory store URL is exactly 'memory:', got '${url}'`);
      }
      return openMemoryStore();
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite.ts');
      return openSqliteStore(url, options);
    }
    case 'postgres':
    case 'postgresql': {
      const { openPostgresStore } = await import('./postgres.ts');
      return openPostgresStore(url, options);
    }
    default: {
      const masked = maskStoreUrl(url);
      const problem =
        scheme === undefined
          ? `store URL '${masked}' has no scheme (for a SQLite file write 'sqlite:${masked}')`
          : `unknown store URL scheme '${scheme}:' in '${masked}'`;
      throw new StoreUrlError(masked, `${problem}; accepted: ${ACCEPTED}`);
    }
  }
}
