// Schema problems in words: a zod issue reworded as "must be >= 0, got -1", for experiment files
// and for rebound.yaml (src/healing/configErrors.ts), so both speak alike.

import type { core } from 'zod';

export type PathSegment = string | number;

/** Decides whether a value may be quoted back in a message (never a secret). */
export type MayShow = (path: readonly PathSegment[], value: unknown) => boolean;

const showAll: MayShow = () => true;

/** Rewords a schema issue as "must be >= 0, got -1"; unknown fields become one problem each. */
export function issueMessages(
  issue: core.$ZodIssue,
  mayShow: MayShow = showAll,
): { path: readonly PathSegment[]; message: string; atKey: boolean }[] {
  const path = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
  const input = (issue as { input?: unknown }).input;
  const got = mayShow(path, input) ? `, got ${describeValue(input)}` : '';
  const one = (message: string) => [{ path, message, atKey: false }];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: 'is not a known field',
        atKey: true,
      }));
    case 'invalid_type':
      if (input === undefined) return one('is required');
      if (issue.expected === 'int') return one(`must be an integer${got}`);
      return one(`must be ${article(issue.expected)}${got}`);
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const small = issue.code === 'too_small';
      if (issue.origin === 'string') {
        return one(
          small && Number(bound) === 1
            ? 'must not be empty'
            : `must have ${small ? 'at least' : 'at most'} ${bound} characters`,
        );
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        return one(
          `must have ${small ? 'at least' : 'at most'} ${bound} item${Number(bound) === 1 ? '' : 's'}`,
        );
      }
      const relation = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      return one(`must be ${relation} ${bound}${got}`);
    }
    case 'invalid_value':
      return one(`must be one of ${issue.values.map(String).join(', ')}${got}`);
    case 'invalid_union': {
      const discriminator = (issue as { discriminator?: string; options?: unknown[] }).discriminator;
      const options = (issue as { options?: unknown[] }).options;
      if (discriminator && options) {
        const value = (input as Record<string, unknown> | undefined)?.[discriminator];
        const shown = mayShow(path, value) ? `, got ${describeValue(value)}` : '';
        return one(`must be one of ${options.map(String).join(', ')}${shown}`);
      }
      return one(issue.message);
    }
    default:
      return one(issue.message);
  }
}

function article(expected: string): string {
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
