// How workflow values and errors become the JSON text a store keeps, and come back: an
// `undefined` marker, serialised errors rehydrated into their classes, and checkpoint checksums.

import { hash } from 'node:crypto';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  InvalidOptionsError,
  IsolatedCircuitError,
  RateLimitedError,
  RetryBudgetExceededError,
  TimeoutError,
} from '../policies/index.ts';
import { StoreClosedError, StoreOpenError, StoreSchemaError, StoreUrlError } from '../store/index.ts';
import {
  CheckpointCorruptedError,
  DegradationExceededError,
  IdempotencyConflictError,
  IdempotencyInProgressError,
  IdempotencyLeaseLostError,
  WorkflowDivergenceError,
} from './errors.ts';
import {
  UnknownWorkflowError,
  WorkflowAlreadyRegisteredError,
  WorkflowCancelledError,
  WorkflowConflictError,
  WorkflowEngineClosedError,
  WorkflowNotFoundError,
  WorkflowOwnershipLostError,
  WorkflowSerializationError,
} from './workflowErrors.ts';

// JSON has no `undefined`. A step or workflow that returns nothing is stored as this marker; a
// user value that happens to look like the marker is wrapped, so decoding is never ambiguous.
const MARKER = '$rebound';
const UNDEFINED_TEXT = '{"$rebound":"undefined"}';

/**
 * The JSON text of `value`; throws WorkflowSerializationError when JSON cannot represent it
 * (a function, a symbol, a BigInt, a cycle). `what` names the value in that error.
 */
export function encodeValue(value: unknown, what: string): string {
  if (value === undefined) return UNDEFINED_TEXT;
  let text: string | undefined;
  try {
    text = JSON.stringify(needsWrapping(value) ? { [MARKER]: 'value', value } : value);
  } catch (error) {
    throw new WorkflowSerializationError(what, error);
  }
  if (text === undefined) throw new WorkflowSerializationError(what, `a ${typeof value} is not JSON`);
  return text;
}

/** The value `encodeValue` wrote. Throws SyntaxError on text that is not JSON. */
export function decodeValue(text: string): unknown {
  if (text === UNDEFINED_TEXT) return undefined;
  const parsed: unknown = JSON.parse(text);
  if (needsWrapping(parsed)) {
    const wrapped = parsed as { [MARKER]: unknown; value?: unknown };
    return wrapped[MARKER] === 'undefined' ? undefined : wrapped.value;
  }
  return parsed;
}

function needsWrapping(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, MARKER);
}

/** sha256 hex of a checkpoint's JSON text: written with it, verified when it is replayed. */
export function checksumOf(text: string): string {
  return hash('sha256', text, 'hex');
}

/** An error as JSON: enough to rethrow an equivalent one in another process. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: SerializedError;
  /** Set when something other than an Error was thrown: `value` is what was thrown. */
  nonError?: true;
  value?: unknown;
  /** The error's own enumerable properties (its domain fields), when JSON can hold them. */
  [property: string]: unknown;
}

const MAX_CAUSE_DEPTH = 8;
const ERROR_FIELD = '$error';
const RESERVED = new Set(['name', 'message', 'stack', 'cause', 'nonError', 'value']);

export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    const serialized: SerializedError = { name: 'Error', message: describe(error), nonError: true };
    if (jsonSafe(error)) serialized.value = error;
    return serialized;
  }
  const serialized: SerializedError = { name: error.name, message: error.message };
  for (const key of Object.keys(error)) {
    if (RESERVED.has(key)) continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value instanceof Error) {
      // Tagged, so a plain object field that merely has a name and a message stays a plain object.
      if (depth < MAX_CAUSE_DEPTH) serialized[key] = { [ERROR_FIELD]: serializeError(value, depth + 1) };
    } else if (jsonSafe(value)) {
      serialized[key] = value;
    }
  }
  if (typeof error.stack === 'string') serialized.stack = error.stack;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    serialized.cause = serializeError(error.cause, depth + 1);
  }
  return serialized;
}

export function encodeError(error: unknown): string {
  return JSON.stringify(serializeError(error));
}

function jsonSafe(value: unknown): boolean {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return false;
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// Classes an error is rehydrated into, so `instanceof` and the guards keep working after a restart.
const BY_CODE: Record<string, object> = {
  CIRCUIT_OPEN: BrokenCircuitError.prototype,
  CIRCUIT_ISOLATED: IsolatedCircuitError.prototype,
  TIMEOUT: TimeoutError.prototype,
  BULKHEAD_FULL: BulkheadRejectedError.prototype,
  RATE_LIMITED: RateLimitedError.prototype,
  RETRY_BUDGET_EXCEEDED: RetryBudgetExceededError.prototype,
  INVALID_OPTIONS: InvalidOptionsError.prototype,
  WORKFLOW_DIVERGENCE: WorkflowDivergenceError.prototype,
  CHECKPOINT_CORRUPTED: CheckpointCorruptedError.prototype,
  WORKFLOW_UNKNOWN: UnknownWorkflowError.prototype,
  WORKFLOW_ALREADY_REGISTERED: WorkflowAlreadyRegisteredError.prototype,
  WORKFLOW_CONFLICT: WorkflowConflictError.prototype,
  WORKFLOW_CANCELLED: WorkflowCancelledError.prototype,
  WORKFLOW_NOT_FOUND: WorkflowNotFoundError.prototype,
  WORKFLOW_OWNERSHIP_LOST: WorkflowOwnershipLostError.prototype,
  WORKFLOW_ENGINE_CLOSED: WorkflowEngineClosedError.prototype,
  WORKFLOW_SERIALIZATION: WorkflowSerializationError.prototype,
  IDEMPOTENCY_CONFLICT: IdempotencyConflictError.prototype,
  IDEMPOTENCY_IN_PROGRESS: IdempotencyInProgressError.prototype,
  IDEMPOTENCY_LEASE_LOST: IdempotencyLeaseLostError.prototype,
  DEGRADATION_EXCEEDED: DegradationExceededError.prototype,
  STORE_URL: StoreUrlError.prototype,
  STORE_OPEN: StoreOpenError.prototype,
  STORE_SCHEMA: StoreSchemaError.prototype,
  STORE_CLOSED: StoreClosedError.prototype,
};
const BY_NAME: Record<string, object> = {
  Error: Error.prototype,
  TypeError: TypeError.prototype,
  RangeError: RangeError.prototype,
  SyntaxError: SyntaxError.prototype,
  ReferenceError: ReferenceError.prototype,
  EvalError: EvalError.prototype,
  URIError: URIError.prototype,
};

/**
 * An error equivalent to the serialised one: same class when it is one rebound knows (by `code`)
 * or a built-in one (by `name`), else a plain Error; same name, message, code, stack, fields and cause.
 * A thrown non-Error comes back as the value that was thrown.
 */
export function rehydrateError(serialized: SerializedError, depth = 0): unknown {
  if (serialized.nonError) return 'value' in serialized ? serialized.value : serialized.message;
  const code = typeof serialized.code === 'string' ? serialized.code : undefined;
  const prototype =
    (code !== undefined ? BY_CODE[code] : undefined) ??
    BY_NAME[serialized.name] ??
    // A user's own error class is not known here: it comes back as an Error with its name, code and fields.
    Error.prototype;
  const error = Object.create(prototype) as Error & Record<string, unknown>;
  // Like a constructed error: message and stack are own, non-enumerable properties.
  Object.defineProperty(error, 'message', { value: serialized.message, writable: true, configurable: true });
  if (serialized.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: serialized.stack, writable: true, configurable: true });
  }
  if ((prototype as Error).name !== serialized.name) error.name = serialized.name;
  for (const [key, value] of Object.entries(serialized)) {
    if (RESERVED.has(key)) continue;
    const nested = errorField(value);
    error[key] = nested !== undefined ? rehydrateError(nested, depth + 1) : value;
  }
  if (serialized.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: depth < MAX_CAUSE_DEPTH ? rehydrateError(serialized.cause, depth + 1) : serialized.cause,
      writable: true,
      configurable: true,
    });
  }
  return error;
}

export function decodeError(text: string): unknown {
  return rehydrateError(JSON.parse(text) as SerializedError);
}

function errorField(value: unknown): SerializedError | undefined {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, ERROR_FIELD)) return undefined;
  const nested = (value as Record<string, unknown>)[ERROR_FIELD];
  return typeof nested === 'object' && nested !== null ? (nested as SerializedError) : undefined;
}
