// permanent(): marks an error as not worth retrying, in a way every copy of rebound recognises.

// A registered symbol, so an error marked by one copy of the module is seen by another.
const PERMANENT: unique symbol = Symbol.for('rebound.permanent') as never;

// Frozen or sealed errors cannot take the property; this copy still remembers them.
const markedElsewhere = new WeakSet<object>();

/**
 * Marks `error` as permanent (a validation error, a 400, a 404: trying again cannot help): retry
 * policies rethrow it at once, whatever their `retryOn` says. Returns the same error, so
 * `throw permanent(new Error('bad input'))` reads naturally. The mark is a non-enumerable property:
 * it does not show up in logs or JSON.
 */
export function permanent<E extends Error>(error: E): E {
  try {
    Object.defineProperty(error, PERMANENT, { value: true, enumerable: false, configurable: true });
  } catch {
    markedElsewhere.add(error);
  }
  return error;
}

/** True when `error` was marked by `permanent()`. */
export function isPermanent(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  return (error as { [PERMANENT]?: unknown })[PERMANENT] === true || markedElsewhere.has(error);
}
