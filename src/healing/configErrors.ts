// ConfigError: every problem of a rebound.yaml at once, each with its path, line and column.

import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { PathSegment } from '../chaos/zodProblems.ts';
import { ReboundError, hasErrorCode } from '../policies/index.ts';

// The wording of schema problems is shared with experiment files.
export { issueMessages, type MayShow, type PathSegment } from '../chaos/zodProblems.ts';

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
