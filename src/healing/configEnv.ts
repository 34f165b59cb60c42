// `${ENV_VAR}` substitution in the strings of a parsed config, remembering what came from the environment.

import type { PathSegment } from './configErrors.ts';

/** `${NAME}`, `${NAME:-default}`, or `$${` for a literal `${`. */
const REFERENCE = /\$\$\{|\$\{([^}:]*)(?::-([^}]*))?\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Substitution {
  readonly value: unknown;
  readonly problems: readonly { path: readonly PathSegment[]; message: string }[];
  /** Every non-empty value taken from the environment: treated as secret in messages and redaction. */
  readonly secrets: ReadonlySet<string>;
  /** Paths whose string came (at least partly) from the environment. */
  readonly substitutedPaths: ReadonlySet<string>;
}

/** Replaces references in every string value (never in keys); a missing variable is a problem. */
export function substituteEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
): Substitution {
  const problems: { path: readonly PathSegment[]; message: string }[] = [];
  const secrets = new Set<string>();
  const substitutedPaths = new Set<string>();

  const visit = (node: unknown, path: PathSegment[]): unknown => {
    if (typeof node === 'string') {
      if (!node.includes('${')) return node;
      let substituted = false;
      const result = node.replace(
        REFERENCE,
        (match, name: string | undefined, fallback: string | undefined) => {
          if (match === '$${') return '${';
          substituted = true;
          if (name === undefined || !VARIABLE_NAME.test(name)) {
            problems.push({ path, message: `'${match}' is not a valid environment variable reference` });
            return '';
          }
          const found = env[name];
          if (found !== undefined && found !== '') {
            secrets.add(found);
            return found;
          }
          if (fallback !== undefined) return fallback;
          problems.push({
            path,
            message: `environment variable ${name} is not set (write \${${name}:-default} for a default)`,
          });
          return '';
        },
      );
      if (substituted) substitutedPaths.add(path.join('.'));
      return result;
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...path, index]));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, visit(item, [...path, key])]),
      );
    }
    return node;
  };

  return { value: visit(value, []), problems, secrets, substitutedPaths };
}
