// rebound/store: openStore and the Store interface every adapter implements.

export * from './errors.ts';
export { DEFAULT_STORE_URL, openStore, type OpenStoreOptions } from './openStore.ts';
export type * from './types.ts';
