// ConfigError: every problem of a rebound.yaml at once, each with its path, line and column.

import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { core } from 'zod';
import { ReboundError, hasErrorCode } from '../policies/index.ts';

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `services.payment-api.replicas.count`; `''` for the file itself. */
  readonly path: string;
  /** 1-based; the field's own line, or its nearest ancestor's when it is missing. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Thrown by `loadConfig` / `parseConfig`; `problems` lists everything wrong, not just the first. */
export class ConfigError extends ReboundError {
  readonly source: string;
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[]) {
    super('CONFIG_INVALID', problems.map((problem) => formatProblem(source, problem)).join('\n'));
    this.source = source;
    this.problems = problems;
  }
}

export const isConfigError = (error: unknown): error is ConfigError => hasErrorCode(error, 'CONFIG_INVALID');

/** `rebound.yaml:12:7 services.payment-api.replicas.count: must be >= 0, got -1` */
export function formatProblem(source: string, problem: ConfigProblem): string {
  const where = `${source}:${problem.line}:${problem.column}`;
  return problem.path ? `${where} ${problem.path}: ${problem.message}` : `${where} ${problem.message}`;
}

export type PathSegment = string | number;

export function joinPath(path: readonly PathSegment[]): string {
  return path.map(String).join('.');
}

/**
 * Where `path` is written in the document: the value's node, the key's when `atKey` (an unknown
 * field) or when the value is empty, else the nearest ancestor that exists (a missing field).
 */
export function locate(
  document: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  atKey = false,
): { line: number; column: number } {
  let node: unknown = document.contents;
  let offset = rangeStart(node) ?? 0;
  for (let index = 0; index < path.length; index++) {
    const segment = path[index]!;
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment));
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      const valueStart = rangeStart(pair.value);
      if ((last && atKey) || valueStart === undefined) {
        offset = keyStart ?? offset;
        if (valueStart === undefined) break;
        if (last) break;
      } else offset = valueStart;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      const start = rangeStart(item);
      if (start === undefined) break;
      offset = start;
      node = item;
    } else break;
  }
  const position = lineCounter.linePos(offset);
  return { line: position.line, column: position.col };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** Decides whether a value may be quoted back in a message (never a secret). */
export type MayShow = (path: readonly PathSegment[], value: unknown) => boolean;

/** Rewords a schema issue as "must be >= 0, got -1"; unknown fields become one problem each. */
export function issueMessages(
  issue: core.$ZodIssue,
  mayShow: MayShow,
): { path: readonly PathSegment[]; message: string; atKey: boolean }[] {
  const path = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
  const input = (issue as { input?: unknown }).input;
  const got = mayShow(path, input) ? `, got ${describe(input)}` : '';
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
        const shown = mayShow(path, value) ? `, got ${describe(value)}` : '';
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

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
