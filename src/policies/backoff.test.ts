// Tests for the backoff schedules: exact values of every kind and jitter formula, and validation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Backoff, backoffDelay, backoffDelays, DEFAULT_BACKOFF, MAX_DELAY_MS } from './backoff.ts';
import { InvalidOptionsError } from './errors.ts';

const half = () => 0.5;
const zero = () => 0;
const almostOne = () => 1 - Number.EPSILON;

/** A random source that plays back `values` in order. */
function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length]!;
}

describe('backoffDelays', () => {
  it('constant: the same delay every time', () => {
    assert.deepEqual(backoffDelays({ kind: 'constant', delayMs: 250 }, 4, half), [250, 250, 250, 250]);
  });

  it('linear: base + step × n, capped at maxMs', () => {
    assert.deepEqual(
      backoffDelays({ kind: 'linear', baseMs: 100, stepMs: 50, maxMs: 300 }, 6),
      [100, 150, 200, 250, 300, 300],
    );
  });

  it('linear: stepMs defaults to baseMs and maxMs to no cap', () => {
    assert.deepEqual(backoffDelays({ kind: 'linear', baseMs: 100 }, 4), [100, 200, 300, 400]);
    assert.equal(backoffDelays({ kind: 'linear', baseMs: 1000 }, 1000)[999], 1_000_000);
  });

  it("exponential, jitter 'none': min(base × factor^n, max), n from 0", () => {
    assert.deepEqual(
      backoffDelays({ kind: 'exponential', baseMs: 100, factor: 2, maxMs: 1000, jitter: 'none' }, 6),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.deepEqual(
      backoffDelays({ kind: 'exponential', baseMs: 10, factor: 3, jitter: 'none' }, 4),
      [10, 30, 90, 270],
    );
  });

  it("exponential, jitter 'full': uniform[0, min(base × factor^n, max)]", () => {
    const backoff: Backoff = { kind: 'exponential', baseMs: 100, factor: 2, maxMs: 1000, jitter: 'full' };
    assert.deepEqual(backoffDelays(backoff, 5, half), [50, 100, 200, 400, 500]);
    assert.deepEqual(backoffDelays(backoff, 3, zero), [0, 0, 0]);
    assert.deepEqual(backoffDelays(backoff, 3, sequence(0.25, 1, 0.1)), [25, 200, 40]);
  });

  it("exponential, jitter 'equal': half the capped value + uniform[0, that half]", () => {
    const backoff: Backoff = { kind: 'exponential', baseMs: 100, factor: 2, maxMs: 1000, jitter: 'equal' };
    assert.deepEqual(backoffDelays(backoff, 5, half), [75, 150, 300, 600, 750]);
    assert.deepEqual(backoffDelays(backoff, 3, zero), [50, 100, 200]);
  });

  it("exponential, jitter 'decorrelated': min(max, uniform[base, previous × 3]), first previous = base", () => {
    const backoff: Backoff = {
      kind: 'exponential',
      baseMs: 100,
      maxMs: 1000,
      jitter: 'decorrelated',
    };
    // 100 + 0.5 × (300 − 100) = 200; 100 + 0.5 × (600 − 100) = 350; then 575, 912.5, min(1000, 1418.75).
    assert.deepEqual(backoffDelays(backoff, 5, half), [200, 350, 575, 912.5, 1000]);
    assert.deepEqual(backoffDelays(backoff, 3, zero), [100, 100, 100]);
    const top = backoffDelays(backoff, 2, almostOne);
    assert.ok(top[0]! > 299.99 && top[0]! < 300, `first is just under 3 × base, got ${top[0]}`);
    assert.ok(top[1]! > 899.9 && top[1]! < 900, `second is just under 3 × first, got ${top[1]}`);
  });

  it('exponential defaults: factor 2, maxMs 30 000, full jitter', () => {
    assert.deepEqual(backoffDelays({ kind: 'exponential', baseMs: 100 }, 3, half), [50, 100, 200]);
    const capped = backoffDelays({ kind: 'exponential', baseMs: 100, jitter: 'none' }, 12);
    assert.equal(capped[8], 25_600);
    assert.equal(capped[9], 30_000);
    assert.equal(capped[11], 30_000);
  });

  it('DEFAULT_BACKOFF is the one the SPEC names', () => {
    assert.deepEqual(
      { ...DEFAULT_BACKOFF },
      { kind: 'exponential', baseMs: 100, factor: 2, maxMs: 30_000, jitter: 'full' },
    );
    assert.throws(() => {
      (DEFAULT_BACKOFF as { baseMs: number }).baseMs = 1;
    }, TypeError);
  });

  it('a function gets the attempt about to be made (1 first), the error and its previous value', () => {
    const calls: Array<[number, unknown, number]> = [];
    const delays = backoffDelays((attempt, error, previous) => {
      calls.push([attempt, error, previous]);
      return previous + attempt * 10;
    }, 3);
    assert.deepEqual(delays, [10, 30, 60]);
    assert.deepEqual(calls, [
      [1, undefined, 0],
      [2, undefined, 10],
      [3, undefined, 30],
    ]);
  });

  it('a function returning a negative number or NaN means no wait; huge values are capped', () => {
    assert.deepEqual(
      backoffDelays(() => -5, 1),
      [0],
    );
    assert.deepEqual(
      backoffDelays(() => Number.NaN, 1),
      [0],
    );
    assert.deepEqual(
      backoffDelays(() => Number.POSITIVE_INFINITY, 1),
      [MAX_DELAY_MS],
    );
  });

  it('a zero base stays zero instead of 0 × Infinity = NaN', () => {
    const delays = backoffDelays(
      { kind: 'exponential', baseMs: 0, factor: 10, maxMs: Number.POSITIVE_INFINITY, jitter: 'none' },
      400,
    );
    assert.ok(delays.every((delay) => delay === 0));
  });

  it('count 0 gives an empty schedule', () => {
    assert.deepEqual(backoffDelays({ kind: 'constant', delayMs: 5 }, 0), []);
  });

  it('backoffDelay passes the error to a function backoff', () => {
    const error = new Error('x');
    let seen: unknown;
    backoffDelay(
      (_attempt, e) => {
        seen = e;
        return 1;
      },
      0,
      error,
      0,
      half,
    );
    assert.equal(seen, error);
  });
});

/** The problems listed by the InvalidOptionsError that `run` throws. */
function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error.problems;
    throw error;
  }
  assert.fail('expected InvalidOptionsError');
}

describe('backoff validation', () => {
  it('lists every problem of an exponential backoff with its path', () => {
    const backoff = { kind: 'exponential', baseMs: -1, factor: 0.5, maxMs: -2, jitter: 'sometimes' } as const;
    assert.deepEqual(
      problemsOf(() => backoffDelays(backoff as unknown as Backoff, 3)),
      [
        'backoff.baseMs must be >= 0, got -1',
        'backoff.factor must be >= 1, got 0.5',
        'backoff.maxMs must be >= 0, got -2',
        'backoff.jitter must be one of "none", "full", "equal", "decorrelated", got "sometimes"',
      ],
    );
  });

  it('reports linear and constant problems, an unknown kind, a bad count and a bad random', () => {
    assert.deepEqual(
      problemsOf(() =>
        backoffDelays({ kind: 'linear', baseMs: Number.NaN, stepMs: -1, maxMs: 'x' as never }, 1),
      ),
      [
        'backoff.baseMs must be a number, got NaN',
        'backoff.stepMs must be >= 0, got -1',
        'backoff.maxMs must be a number, got "x"',
      ],
    );
    assert.deepEqual(
      problemsOf(() => backoffDelays({ kind: 'constant', delayMs: -3 }, 1)),
      ['backoff.delayMs must be >= 0, got -3'],
    );
    assert.deepEqual(
      problemsOf(() => backoffDelays({ kind: 'fibonacci' } as never, 1)),
      ['backoff.kind must be one of "constant", "linear", "exponential", got "fibonacci"'],
    );
    assert.deepEqual(
      problemsOf(() => backoffDelays(null as never, 1.5, 3 as never)),
      [
        'backoff must be a backoff object or a function, got null',
        'count must be an integer, got 1.5',
        'random must be a function, got 3',
      ],
    );
  });
});
