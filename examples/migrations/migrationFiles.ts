// Migrations are data: one .sql file each, read from a directory, checked (every problem at once)
// and put in dependency order.
//
//   -- What the migration does (comment lines before `-- up` describe it).
//   -- depends-on: 001_customers, 002_products
//   -- up
//   CREATE TABLE orders (…);
//   -- down
//   DROP TABLE orders;
//
// The id is the file name without `.sql`. `-- up` is required, `-- down` only for rollbacks.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dependencyOrder } from './dependencyOrder.ts';

export interface Migration {
  id: string;
  /** The comment lines before `-- up`, joined. */
  description: string;
  dependsOn: string[];
  up: string;
  /** Undefined when the file has no `-- down` section (it cannot be rolled back). */
  down: string | undefined;
  /** sha256 of the `up` SQL: an applied migration whose file changed afterwards is noticed. */
  checksum: string;
  file: string;
}

/** Everything wrong with a migration set or a plan, listed together. */
export class MigrationPlanError extends Error {
  readonly problems: readonly string[];

  constructor(summary: string, problems: readonly string[]) {
    super(`${summary}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'MigrationPlanError';
    this.problems = problems;
  }
}

const ID = /^[A-Za-z0-9][\w.-]*$/;
const SECTION = /^--\s*(up|down)\s*$/i;
const DEPENDS_ON = /^--\s*depends-on\s*:(.*)$/i;
// Catches `-- depends_on:` and `-- depend-on:`, which would otherwise pass for a plain comment.
const MISSPELT_DEPENDS_ON = /^--\s*depends?[-_ ]?on\s*:/i;

export function checksumOf(sql: string): string {
  return createHash('sha256').update(normalize(sql)).digest('hex');
}

// Line endings and trailing blank space do not change what a migration does.
function normalize(sql: string): string {
  return sql.replace(/\r\n?/g, '\n').trim();
}

/** Parses one migration file; problems are returned, not thrown, so all files are checked. */
export function parseMigration(
  id: string,
  text: string,
  file: string,
): { migration?: Migration; problems: string[] } {
  const problems: string[] = [];
  if (!ID.test(id)) problems.push(`${file}: the id '${id}' must be letters, digits, '_', '-' or '.'`);
  const description: string[] = [];
  const dependsOn: string[] = [];
  const sections: Record<'up' | 'down', string[] | undefined> = { up: undefined, down: undefined };
  let current: 'header' | 'up' | 'down' = 'header';
  normalize(text)
    .split('\n')
    .forEach((line, index) => {
      const trimmed = line.trim();
      const section = SECTION.exec(trimmed);
      if (section) {
        const name = section[1]!.toLowerCase() as 'up' | 'down';
        if (sections[name] !== undefined)
          problems.push(`${file}:${index + 1}: a second '-- ${name}' section`);
        else if (name === 'down' && sections.up === undefined)
          problems.push(`${file}:${index + 1}: '-- down' comes before '-- up'`);
        sections[name] = [];
        current = name;
        return;
      }
      if (current !== 'header') {
        sections[current]!.push(line);
        return;
      }
      const depends = DEPENDS_ON.exec(trimmed);
      if (depends) {
        dependsOn.push(
          ...depends[1]!
            .split(',')
            .map((dependency) => dependency.trim())
            .filter((dependency) => dependency !== ''),
        );
      } else if (MISSPELT_DEPENDS_ON.test(trimmed)) {
        problems.push(`${file}:${index + 1}: write the header as '-- depends-on: <id>, <id>'`);
      } else if (trimmed.startsWith('--')) {
        description.push(trimmed.replace(/^--\s?/, ''));
      } else if (trimmed !== '') {
        problems.push(`${file}:${index + 1}: SQL before the '-- up' line`);
      }
    });
  const up = normalize(sections.up?.join('\n') ?? '');
  const down = sections.down === undefined ? undefined : normalize(sections.down.join('\n'));
  if (sections.up === undefined) problems.push(`${file}: no '-- up' section`);
  else if (up === '') problems.push(`${file}: the '-- up' section is empty`);
  if (down === '') problems.push(`${file}: the '-- down' section is empty (leave it out if there is none)`);
  if (dependsOn.includes(id)) problems.push(`${id} depends on itself`);
  const duplicates = dependsOn.filter((dependency, index) => dependsOn.indexOf(dependency) !== index);
  for (const duplicate of new Set(duplicates))
    problems.push(`${id} lists '${duplicate}' twice in depends-on`);
  if (problems.length > 0) return { problems };
  return {
    migration: {
      id,
      description: description.join(' '),
      dependsOn: [...new Set(dependsOn)],
      up,
      down,
      checksum: checksumOf(up),
      file,
    },
    problems,
  };
}

/**
 * Reads every `*.sql` file of `directory` and returns the migrations in the order they are applied.
 * Throws MigrationPlanError listing every problem: unparsable files, unknown dependencies, cycles.
 */
export function loadMigrations(directory: string): Migration[] {
  let names: string[];
  try {
    if (!statSync(directory).isDirectory()) throw new Error('not a directory');
    names = readdirSync(directory)
      .filter((name) => name.endsWith('.sql'))
      .sort();
  } catch (error) {
    throw new MigrationPlanError(`cannot read the migrations in ${directory}`, [(error as Error).message]);
  }
  if (names.length === 0) throw new MigrationPlanError(`no migrations in ${directory}`, ['no *.sql file']);
  const migrations: Migration[] = [];
  const broken = new Set<string>();
  const problems: string[] = [];
  for (const name of names) {
    const file = join(directory, name);
    const id = name.slice(0, -'.sql'.length);
    const parsed = parseMigration(id, readFileSync(file, 'utf8'), file);
    problems.push(...parsed.problems);
    if (parsed.migration) migrations.push(parsed.migration);
    else broken.add(id);
  }
  // The graph is checked even when a file is broken, so one run reports everything.
  const ordered = dependencyOrder(migrations, broken);
  problems.push(...ordered.problems);
  if (problems.length > 0)
    throw new MigrationPlanError(`the migrations in ${directory} are not valid`, problems);
  return ordered.order;
}
