// Option checks done once, at construction: every problem is collected, then one error lists them all.

import { InvalidOptionsError } from './errors.ts';

/**
 * Collects every problem with a set of options, each with its path, then throws them all at once as
 * one InvalidOptionsError. Exported for rebound's other modules and for users' own policies.
 */
export class OptionProblems {
  private readonly problems: string[] = [];

  number(
    path: string,
    value: unknown,
    rule: {
      min?: number;
      max?: number;
      integer?: boolean;
      above?: number;
      finite?: boolean;
      optional?: boolean;
    } = {},
  ): void {
    if (value === undefined && rule.optional) return;
    if (typeof value !== 'number' || Number.isNaN(value)) {
      this.add(`${path} must be a number, got ${describe(value)}`);
      return;
    }
    if (rule.finite && !Number.isFinite(value)) {
      this.add(`${path} must be finite, got ${value}`);
      return;
    }
    if (rule.integer && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY) {
      this.add(`${path} must be an integer, got ${value}`);
    }
    if (rule.min !== undefined && value < rule.min) this.add(`${path} must be >= ${rule.min}, got ${value}`);
    if (rule.above !== undefined && value <= rule.above)
      this.add(`${path} must be > ${rule.above}, got ${value}`);
    if (rule.max !== undefined && value > rule.max) this.add(`${path} must be <= ${rule.max}, got ${value}`);
  }

  oneOf(path: string, value: unknown, allowed: readonly unknown[], optional = false): void {
    if (value === undefined && optional) return;
    if (!allowed.includes(value)) {
      this.add(
        `${path} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`,
      );
    }
  }

  nonEmptyString(path: string, value: unknown, optional = true): void {
    if (value === undefined && optional) return;
    if (typeof value !== 'string' || value === '') {
      this.add(`${path} must be a non-empty string, got ${describe(value)}`);
    }
  }

  func(path: string, value: unknown, optional = true): void {
    if (value === undefined && optional) return;
    if (typeof value !== 'function') this.add(`${path} must be a function, got ${describe(value)}`);
  }

  /** An optional `clock` option must have every Clock method. */
  clock(path: string, value: unknown): void {
    if (value === undefined) return;
    if (typeof value !== 'object' || value === null) {
      this.add(`${path} must be a Clock, got ${describe(value)}`);
      return;
    }
    for (const method of ['now', 'setTimeout', 'clearTimeout']) {
      this.func(`${path}.${method}`, (value as Record<string, unknown>)[method], false);
    }
  }

  add(problem: string): void {
    this.problems.push(problem);
  }

  throwIfAny(): void {
    if (this.problems.length > 0) throw new InvalidOptionsError(this.problems);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return String(value);
}
