import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionsError } from './errors.ts';
import { OptionProblems } from './options.ts';

describe('OptionProblems', () => {
  it('collects every problem and throws them together, each with its path', () => {
    const problems = new OptionProblems();
    problems.number('a.leaseMs', Number.POSITIVE_INFINITY, { above: 0, finite: true });
    problems.number('a.pollMs', 0, { above: 0, finite: true });
    problems.number('a.optional', undefined, { min: 0, optional: true });
    problems.nonEmptyString('a.id', '');
    problems.nonEmptyString('a.host', undefined);
    problems.nonEmptyString('a.name', undefined, false);
    problems.func('a.fn', 42, false);
    assert.throws(
      () => problems.throwIfAny(),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'a.leaseMs must be finite, got Infinity',
          'a.pollMs must be > 0, got 0',
          'a.id must be a non-empty string, got ""',
          'a.name must be a non-empty string, got undefined',
          'a.fn must be a function, got 42',
        ]);
        return true;
      },
    );
  });

  it('throws nothing when every value is acceptable', () => {
    const problems = new OptionProblems();
    problems.number('a.ms', 5, { above: 0, finite: true });
    problems.nonEmptyString('a.id', 'worker-1');
    problems.throwIfAny();
  });
});
