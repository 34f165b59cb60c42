// Checkpoint values and errors as JSON text: values come back as JSON makes them (undefined and
// marker-like objects included), errors come back as the same class with the same fields.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isReboundError, isTimeoutError, RetryBudgetExceededError, TimeoutError } from '../policies/index.ts';
import { isStoreSchemaError, StoreSchemaError } from '../store/index.ts';
import {
  DegradationExceededError,
  IdempotencyConflictError,
  isIdempotencyConflictError,
  WorkflowDivergenceError,
} from './errors.ts';
import { checksumOf, decodeError, decodeValue, encodeError, encodeValue } from './serialize.ts';
import { WorkflowSerializationError } from './workflowErrors.ts';

describe('workflow values as JSON text', () => {
  it('any JSON value comes back as JSON makes it, objects carrying the marker key included', () => {
    const withMarker = fc.oneof(
      fc.jsonValue(),
      fc.record({ $rebound: fc.oneof(fc.constant('undefined'), fc.constant('value'), fc.jsonValue()) }),
      fc.record({ $rebound: fc.constant('value'), value: fc.jsonValue() }),
    );
    fc.assert(
      fc.property(withMarker, (value) => {
        assert.deepEqual(decodeValue(encodeValue(value, 'value')), JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('undefined survives; what JSON cannot hold is refused with WorkflowSerializationError', () => {
    assert.equal(decodeValue(encodeValue(undefined, 'v')), undefined);
    assert.deepEqual(decodeValue(encodeValue([undefined, 1], 'v')), [null, 1]);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [10n, () => 1, Symbol('s'), cycle]) {
      assert.throws(
        () => encodeValue(bad, "output of step 'x'"),
        (error: WorkflowSerializationError) => {
          assert.ok(error instanceof WorkflowSerializationError);
          assert.match(error.message, /^the output of step 'x' cannot be stored as JSON/);
          return true;
        },
      );
    }
  });

  it('the checksum is the sha256 hex of the text', () => {
    assert.equal(checksumOf(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.notEqual(checksumOf('{"a":1}'), checksumOf('{"a":2}'));
  });
});

describe('workflow errors as JSON text', () => {
  it("rebound's errors come back as their class, with their fields and code", () => {
    const back = decodeError(encodeError(new TimeoutError(250))) as TimeoutError;
    assert.ok(back instanceof TimeoutError);
    assert.ok(isTimeoutError(back));
    assert.equal(back.timeoutMs, 250);
    assert.equal(back.name, 'TimeoutError');
    assert.equal(back.message, 'operation timed out after 250 ms');

    const divergence = decodeError(encodeError(new WorkflowDivergenceError('wf', 2, 'a', 'b')));
    assert.ok(divergence instanceof WorkflowDivergenceError);
    assert.deepEqual({ ...divergence }, { ...new WorkflowDivergenceError('wf', 2, 'a', 'b') });
  });

  it('built-in classes, own fields, causes and error-valued fields come back', () => {
    const root = new Error('disk full');
    const error = Object.assign(new TypeError('write failed', { cause: root }), {
      code: 'E_WRITE',
      path: '/x',
    });
    const back = decodeError(encodeError(error)) as TypeError & { code: string; path: string };
    assert.ok(back instanceof TypeError);
    assert.equal(back.code, 'E_WRITE');
    assert.equal(back.path, '/x');
    assert.equal(back.stack, error.stack);
    assert.ok(back.cause instanceof Error);
    assert.equal((back.cause as Error).message, 'disk full');
    assert.deepEqual(Object.keys(back).sort(), ['code', 'path']);

    const budget = decodeError(encodeError(new RetryBudgetExceededError(100, new Error('last'))));
    assert.ok(budget instanceof RetryBudgetExceededError);
    assert.ok(budget.lastError instanceof Error);
    assert.equal((budget.lastError as Error).message, 'last');
    // A plain object field that merely looks like an error stays a plain object.
    const shaped = decodeError(
      encodeError(Object.assign(new Error('x'), { detail: { name: 'n', message: 'm' } })),
    );
    assert.deepEqual((shaped as { detail: unknown }).detail, { name: 'n', message: 'm' });
  });

  it('a custom class comes back as an Error with its name; a thrown non-Error comes back as itself', () => {
    class QuotaError extends Error {
      override name = 'QuotaError';
    }
    const back = decodeError(encodeError(new QuotaError('over quota'))) as Error;
    assert.ok(back instanceof Error);
    assert.equal(back.name, 'QuotaError');
    assert.equal(back.message, 'over quota');
    assert.equal(decodeError(encodeError('just a string')), 'just a string');
    assert.deepEqual(decodeError(encodeError({ status: 503 })), { status: 503 });
    assert.equal(decodeError(encodeError(undefined)), 'undefined');
  });

  it('errors of rebound/durable and rebound/store come back as their classes', () => {
    const conflict = decodeError(encodeError(new IdempotencyConflictError('k1', 'charge')));
    assert.ok(conflict instanceof IdempotencyConflictError && isIdempotencyConflictError(conflict));
    assert.equal(conflict.key, 'k1');
    const degraded = decodeError(encodeError(new DegradationExceededError('minimal', 'slight', ['logs'])));
    assert.ok(degraded instanceof DegradationExceededError);
    assert.deepEqual(degraded.failed, ['logs']);
    const schema = decodeError(encodeError(new StoreSchemaError(9, 1)));
    assert.ok(schema instanceof StoreSchemaError && isStoreSchemaError(schema));
  });

  it("a user's error with a code of its own is not passed off as a ReboundError", () => {
    class DeclinedError extends Error {
      override name = 'DeclinedError';
      readonly code = 'DECLINED';
    }
    const back = decodeError(encodeError(new DeclinedError('card declined'))) as Error & { code: string };
    assert.equal(back.code, 'DECLINED');
    assert.equal(back.name, 'DeclinedError');
    assert.equal(isReboundError(back), false);
    assert.equal(isReboundError(decodeError(encodeError(new TimeoutError(5)))), true);
    assert.equal(Object.getPrototypeOf(back), Error.prototype);
  });
});
