// The resilient database-migration agent: applies a directory of SQL migrations to SQLite or
// PostgreSQL once each, in dependency order, as a durable rebound workflow that a kill -9 at any
// point cannot corrupt. Run with --help for the options; README.md beside it explains the design.
//
//   node --conditions=source examples/migrations/migrate.ts --target shop.db
//   node --conditions=source examples/migrations/migrate.ts --target postgres://user:pass@host/shop --dry-run

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { circuitBreaker, isBrokenCircuitError, pipeline, retry } from 'rebound';
import { openStore, type Store } from 'rebound/store';
import { loadMigrations, type Migration, MigrationPlanError } from './migrationFiles.ts';
import { checkRequest, describePlan, planFor, refusals, type Request } from './plan.ts';
import { Monitor } from './progress.ts';
import { MigrationAgent, MigrationFailedError } from './runner.ts';
import { describeError, isTransient, maskUrl, openTarget, type Target } from './target.ts';

const DEFAULT_STATE = 'sqlite:.rebound/migrations.db';
const DEFAULT_MIGRATIONS = join(import.meta.dirname, 'migrations');

const USAGE = `usage: node --conditions=source examples/migrations/migrate.ts --target <sqlite path | postgres URL> [options]

Applies the migrations of a directory to a database once each, in dependency order, each in its own
transaction, checkpointed in a rebound workflow: killed at any point, the next run resumes it.

  --target <path|url>     SQLite file (created if missing) or postgres://user:password@host:port/db
  --migrations <dir>      directory of <id>.sql files (default: ${DEFAULT_MIGRATIONS})
  --state <store url>     where runs are checkpointed (default: ${DEFAULT_STATE})
  --dry-run               print the plan; change nothing (neither the target nor the state)
  --rollback <N|ID>       undo the last N applied migrations, or ID and every migration applied after it
  --retries <n>           retries on connection errors and lock waits, with exponential backoff (default 8)
  --lock-timeout-ms <n>   how long a migration waits for another session's lock before retrying (default 5000)
  --step-delay-ms <n>     pause inside each migration's transaction and again after its commit,
                          to make kill -9 demos easy (default 0)
  --report-url <url>      POST every progress event to this URL as JSON (a failing endpoint is tolerated)
  -h, --help              this text

Exit status: 0 done, 1 a migration or the database failed, 2 bad options or an invalid migration set.`;

interface Options {
  target: string;
  migrations: string;
  state: string;
  dryRun: boolean;
  rollback: string | undefined;
  retries: number;
  lockTimeoutMs: number;
  stepDelayMs: number;
  reportUrl: string | undefined;
}

class UsageError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`${line}\n`);

function parseOptions(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: 'string' },
        migrations: { type: 'string', default: DEFAULT_MIGRATIONS },
        state: { type: 'string', default: DEFAULT_STATE },
        'dry-run': { type: 'boolean', default: false },
        rollback: { type: 'string' },
        retries: { type: 'string', default: '8' },
        'lock-timeout-ms': { type: 'string', default: '5000' },
        'step-delay-ms': { type: 'string', default: '0' },
        'report-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const problems: string[] = [];
  if (values.target === undefined || values.target === '') problems.push('--target is required');
  const number = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < min) {
      problems.push(`--${name} must be an integer >= ${min}, got '${text}'`);
    }
    return value;
  };
  const options: Options = {
    target: values.target ?? '',
    migrations: values.migrations,
    state: values.state,
    dryRun: values['dry-run'],
    rollback: values.rollback,
    retries: number('retries', values.retries, 0),
    lockTimeoutMs: number('lock-timeout-ms', values['lock-timeout-ms'], 0),
    stepDelayMs: number('step-delay-ms', values['step-delay-ms'], 0),
    reportUrl: values['report-url'],
  };
  if (options.reportUrl !== undefined && !URL.canParse(options.reportUrl)) {
    problems.push(`--report-url must be a URL, got '${options.reportUrl}'`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return options;
}

async function dryRun(
  target: Target,
  request: Request,
  migrations: readonly Migration[],
  retries: number,
): Promise<number> {
  const breaker = circuitBreaker({ name: 'target database', isFailure: isTransient });
  const guard = pipeline(retry({ maxRetries: retries, retryOn: isTransient }), breaker);
  const plan = planFor(request, migrations, await guard.execute(() => target.applied()));
  out(
    `target: ${target.display} · ${await new Monitor({ target, guard: breaker }).context({ event: 'start' })}`,
  );
  const verb = plan.direction === 'up' ? 'apply' : 'roll back';
  out(
    `plan (dry run, nothing is changed): ${verb} ${plan.changes.length} of ${migrations.length} migrations`,
  );
  for (const line of describePlan(plan, migrations)) out(line);
  const refused = refusals(plan);
  if (refused.length === 0) return 0;
  warn(new MigrationPlanError('a real run would refuse to migrate', refused).message);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    warn(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    out(USAGE);
    return 0;
  }
  let target: Target | undefined;
  let store: Store | undefined;
  let agent: MigrationAgent | undefined;
  try {
    // The whole set is checked before anything is opened: a bad set touches nothing.
    const migrations = loadMigrations(options.migrations);
    const request: Request =
      options.rollback === undefined ? { kind: 'migrate' } : { kind: 'rollback', what: options.rollback };
    checkRequest(request, migrations);
    target = await openTarget(options.target, {
      readOnly: options.dryRun,
      lockTimeoutMs: options.lockTimeoutMs,
    });
    if (options.dryRun) return await dryRun(target, request, migrations, options.retries);

    store = await openStore(options.state);
    out(`rebound migrations · target ${target.display} · state ${maskUrl(store.url)}`);
    agent = new MigrationAgent({
      target,
      store,
      migrations,
      retries: options.retries,
      stepDelayMs: options.stepDelayMs,
      reportUrl: options.reportUrl,
      out,
      warn,
    });
    await agent.run(request);
    return 0;
  } catch (error) {
    if (error instanceof MigrationPlanError) {
      warn(error.message);
      return 2;
    }
    if (error instanceof MigrationFailedError) warn(`✗ ${error.message}`);
    else if (isTransient(error) || isBrokenCircuitError(error)) {
      warn(
        `✗ ${target?.display ?? options.target} is unavailable: ${describeError(error)}\n` +
          '  gave up after the retries; nothing was left half-applied. Run again when it answers.',
      );
    } else warn(`✗ ${describeError(error)}`);
    return 1;
  } finally {
    for (const close of [() => agent?.close(), () => store?.close(), () => target?.close()]) {
      try {
        await close();
      } catch (error) {
        warn(`! while closing: ${describeError(error)}`);
      }
    }
  }
}

process.exitCode = await main(process.argv.slice(2));
