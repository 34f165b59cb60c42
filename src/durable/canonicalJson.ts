// JSON text for hashing and storing: a canonical form (sorted keys) and a round trip that keeps undefined.

/**
 * The JSON text of `value` with every object's keys sorted (by UTF-16 code units, recursively), so
 * that equal data gives equal text whatever order its keys were written in. Otherwise it follows
 * `JSON.stringify` exactly: `toJSON()` is honoured (Dates become ISO strings), object properties
 * whose value is undefined, a function or a symbol are left out, the same in arrays become `null`,
 * non-finite numbers become `null`, and strings and numbers are written as `JSON.stringify` writes
 * them. A top-level undefined (or function, or symbol) gives `null`, so every input has a text.
 *
 * Throws a TypeError for what JSON cannot represent faithfully and would otherwise collapse silently
 * into another value's text: circular references, BigInt, Map, Set, WeakMap and WeakSet.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '', []) ?? 'null';
}

function write(value: unknown, key: string, ancestors: object[]): string | undefined {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf();
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      throw new TypeError('canonicalJson cannot represent a BigInt; convert it to a string or number first');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  const object = value as object;
  if (
    object instanceof Map ||
    object instanceof Set ||
    object instanceof WeakMap ||
    object instanceof WeakSet
  ) {
    throw new TypeError(
      `canonicalJson cannot represent a ${object.constructor.name} (JSON would write it as {}); convert it to an object or array first`,
    );
  }
  if (ancestors.includes(object)) throw new TypeError('canonicalJson cannot represent a circular structure');
  ancestors.push(object);
  let text: string;
  if (Array.isArray(object)) {
    const items: string[] = [];
    for (let index = 0; index < object.length; index++) {
      items.push(write(object[index], String(index), ancestors) ?? 'null');
    }
    text = `[${items.join(',')}]`;
  } else {
    const members: string[] = [];
    for (const name of Object.keys(object).sort()) {
      const member = write((object as Record<string, unknown>)[name], name, ancestors);
      if (member !== undefined) members.push(`${JSON.stringify(name)}:${member}`);
    }
    text = `{${members.join(',')}}`;
  }
  ancestors.pop();
  return text;
}

/**
 * The JSON text the durable modules store for a value, with one extension: undefined (and anything
 * else `JSON.stringify` has no text for, such as a function) is stored as the empty string, which is
 * no JSON text, so it cannot be mistaken for a stored value and reads back as undefined.
 * Throws what `JSON.stringify` throws (circular structures, BigInt).
 */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value) ?? '';
}

/** Reads back what `toJsonText` wrote: the empty string (or null, a missing text) is undefined. */
export function fromJsonText(text: string | null | undefined): unknown {
  return text === '' || text === null || text === undefined ? undefined : JSON.parse(text);
}
