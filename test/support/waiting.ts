// Waiting helpers the tests share: poll a condition in real time, and a promise settled on demand.

import assert from 'node:assert/strict';

/**
 * Waits (in real time, for I/O to happen) until `done` holds; `done` may read a store. Fails after
 * `timeoutMs` naming what it waited for. Time-dependent behaviour itself is driven by a manual
 * clock, not by this.
 */
export async function until(
  done: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A promise and the functions that settle it, for actions a test finishes when it chooses. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
