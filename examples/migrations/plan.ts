// What a run will do, from the migration files and the target's history table: the migrations to
// apply (in dependency order) or to roll back (in reverse), and what would make the run unsafe.

import { type Migration, MigrationPlanError } from './migrationFiles.ts';
import type { AppliedMigration, Change } from './target.ts';

export interface Plan {
  direction: 'up' | 'down';
  /** In the order they run. */
  changes: Change[];
  /** The migrations of the set already applied, in dependency order. */
  applied: Migration[];
  /** Rows of the history table no migration file defines (another branch, a deleted file): left alone. */
  unknown: string[];
  /** Applied migrations whose `up` SQL changed since: the target no longer matches the files. */
  changed: string[];
}

export type Request = { kind: 'migrate' } | { kind: 'rollback'; what: string };

/** The plan for `request`; throws MigrationPlanError (every problem listed) when it cannot be made. */
export function planFor(
  request: Request,
  migrations: readonly Migration[],
  history: readonly AppliedMigration[],
): Plan {
  const recorded = new Map(history.map((row) => [row.id, row]));
  const known = new Set(migrations.map((migration) => migration.id));
  const applied = migrations.filter((migration) => recorded.has(migration.id));
  const unknown = history.filter((row) => !known.has(row.id)).map((row) => row.id);
  const changed = applied
    .filter((migration) => recorded.get(migration.id)!.checksum !== migration.checksum)
    .map((migration) => migration.id);
  const base = { applied, unknown, changed };

  if (request.kind === 'migrate') {
    const pending = migrations.filter((migration) => !recorded.has(migration.id));
    return {
      ...base,
      direction: 'up',
      changes: pending.map((migration) => ({
        id: migration.id,
        direction: 'up',
        sql: migration.up,
        checksum: migration.checksum,
      })),
    };
  }

  const undo = rollbackSelection(request.what, migrations, applied);
  const problems = undo
    .filter((migration) => migration.down === undefined)
    .map((migration) => `${migration.id} has no '-- down' section (${migration.file})`);
  if (problems.length > 0) throw new MigrationPlanError('cannot roll back', problems);
  return {
    ...base,
    direction: 'down',
    changes: undo.map((migration) => ({
      id: migration.id,
      direction: 'down',
      sql: migration.down!,
      checksum: migration.checksum,
    })),
  };
}

/** Refuses a --rollback argument that is neither a count nor an id, before anything is opened. */
export function checkRequest(request: Request, migrations: readonly Migration[]): void {
  if (request.kind === 'rollback') rollbackSelection(request.what, migrations, []);
}

/**
 * `--rollback N`: the last N applied migrations; `--rollback ID`: ID and every applied migration
 * after it. Either way a suffix of the applied ones in dependency order, so whatever depends on a
 * rolled-back migration is rolled back too, and first: the result is in reverse dependency order.
 */
function rollbackSelection(
  what: string,
  migrations: readonly Migration[],
  applied: Migration[],
): Migration[] {
  const byId = migrations.find((migration) => migration.id === what);
  if (byId !== undefined) {
    const position = applied.indexOf(byId);
    if (position < 0) return []; // Not applied: there is nothing to roll back.
    return applied.slice(position).reverse();
  }
  if (/^\d+$/.test(what) && Number(what) > 0) {
    return applied.slice(Math.max(0, applied.length - Number(what))).reverse();
  }
  throw new MigrationPlanError('cannot roll back', [
    `--rollback takes a number of migrations (> 0) or a migration id; '${what}' is neither ` +
      `(ids: ${migrations.map((migration) => migration.id).join(', ')})`,
  ]);
}

/** Problems that stop a migrate run: the target was migrated with other versions of these files. */
export function refusals(plan: Plan): string[] {
  if (plan.direction === 'down') return [];
  return plan.changed.map(
    (id) =>
      `${id} was changed after it was applied (its checksum differs from the one in the history table); ` +
      'restore the file and add a new migration for the change',
  );
}

/** The dry-run report: every migration of the set and what the run would do with it. */
export function describePlan(plan: Plan, migrations: readonly Migration[]): string[] {
  const applied = new Set(plan.applied.map((migration) => migration.id));
  const position = new Map(plan.changes.map((change, index) => [change.id, index + 1]));
  const width = Math.max(...migrations.map((migration) => migration.id.length));
  const lines = migrations.map((migration) => {
    const step = position.get(migration.id);
    const action =
      step !== undefined
        ? `${plan.direction === 'up' ? 'apply' : 'roll back'} (${step}/${plan.changes.length})`
        : applied.has(migration.id)
          ? 'applied'
          : 'pending';
    const dependencies = migration.dependsOn.length > 0 ? `  ← ${migration.dependsOn.join(', ')}` : '';
    return `  ${migration.id.padEnd(width)}  ${action.padEnd(18)}${dependencies}`.trimEnd();
  });
  for (const id of plan.unknown)
    lines.push(`  ${id.padEnd(width)}  in the target's history, but no file defines it`);
  return lines;
}
