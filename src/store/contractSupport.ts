// Helpers the store contract suite shares: a fresh store per test, and the values every adapter
// must keep byte for byte.

import assert from 'node:assert/strict';
import type { Store } from './types.ts';

export type OpenStore = () => Promise<Store>;

/** Runs `body` on a freshly opened store and closes it afterwards, whatever happens. */
export async function withStore(open: OpenStore, body: (store: Store) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

/** JSON texts an adapter must return exactly as given (no parsing, normalising or re-encoding). */
export const EXACT_VALUES: readonly { label: string; text: string }[] = [
  { label: 'whitespace and key order', text: '{ "b" : 1,\n\t"a": [ ],  "c":{"z":null , "y": 1.50} }' },
  {
    label: 'numbers as written',
    text: '[1.0, 1e3, -0, 0.1000000000000000055511151231257827, 12345678901234567890]',
  },
  { label: 'escapes left escaped', text: '"\\u0000 \\ud83d\\ude00 \\n \\" \\\\ \\u00e9"' },
  {
    label: 'unicode',
    text: '"héllo wörld — 日本語 中文 한국어 عربي עברית 😀👩‍👩‍👧 e\u0301 \u2028\u2029 \uFEFF"',
  },
  { label: 'duplicate keys', text: '{"a":1,"a":2}' },
  { label: 'quotes that look like SQL', text: `"'); DROP TABLE workflows; --"` },
  { label: 'empty string', text: '""' },
];

/** About 1 MB of JSON text, mixing ASCII with multi-byte characters. */
export function largeJson(): string {
  const line = '"the quick brown fox ✓ — ünïcødé 😀 jumps"';
  const items: string[] = [];
  let length = 2;
  while (length < 1_048_576) {
    items.push(line);
    length += line.length + 1;
  }
  return `[${items.join(',')}]`;
}

/** True for the error a closed store rejects with (compared by code: module copies may differ). */
export function isStoreClosed(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'STORE_CLOSED';
}

/** Asserts two equal-length strings are identical, without printing a megabyte on failure. */
export function assertSameText(actual: string | null | undefined, expected: string, label: string): void {
  assert.equal(typeof actual, 'string', `${label}: expected a string, got ${typeof actual}`);
  if (actual === expected) return;
  const text = actual as string;
  let index = 0;
  while (index < text.length && text[index] === expected[index]) index++;
  assert.fail(
    `${label}: text differs at index ${index} (length ${text.length}, expected ${expected.length}): ` +
      `${JSON.stringify(text.slice(index, index + 20))} vs ${JSON.stringify(expected.slice(index, index + 20))}`,
  );
}
