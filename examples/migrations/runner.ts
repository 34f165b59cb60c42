// The durable part: a run is a rebound workflow with one checkpointed step per migration, so a run
// killed at any point (kill -9 included) is resumed by the next one and applies each migration once.
//
// Exactly once, in two halves: a step checks the target's history table inside the same transaction
// that applies the migration (a crash before the commit leaves nothing; a step re-run after a crash
// between the commit and the checkpoint finds the row and skips), and the workflow never re-runs a
// checkpointed step.

import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type CircuitBreaker,
  circuitBreaker,
  isBrokenCircuitError,
  permanent,
  pipeline,
  type RetryOptions,
  retry,
} from 'rebound';
import { type WorkflowContext, type WorkflowEngine, workflows } from 'rebound/durable';
import type { Store } from 'rebound/store';
import type { Migration } from './migrationFiles.ts';
import { MigrationPlanError } from './migrationFiles.ts';
import { planFor, refusals, type Request } from './plan.ts';
import { Monitor } from './progress.ts';
import {
  type Change,
  type ChangeResult,
  describeError,
  HISTORY_TABLE,
  isTransient,
  type Pauses,
  type Target,
} from './target.ts';

export interface AgentOptions {
  target: Target;
  /** Where the workflows are checkpointed. */
  store: Store;
  migrations: readonly Migration[];
  /** Retries of a change on connection errors and lock waits. */
  retries: number;
  /** Pause inside each change's transaction and again after its commit (for kill tests). */
  stepDelayMs: number;
  reportUrl?: string;
  out(line: string): void;
  warn(line: string): void;
}

interface RunInput {
  target: string;
  changes: Change[];
}

interface StepOutput {
  id: string;
  outcome: ChangeResult['outcome'];
  durationMs: number;
}

type Tally = Record<'done' | 'already' | 'replayed', number>;

const UNFINISHED = ['pending', 'running'] as const;
const OPEN_MS = 2_000;

/** The migration (or its error) that made a run fail. */
export class MigrationFailedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationFailedError';
  }
}

export class MigrationAgent {
  private readonly options: AgentOptions;
  private readonly breaker: CircuitBreaker;
  private readonly monitor: Monitor;
  private readonly engine: WorkflowEngine;
  private readonly names: Record<'up' | 'down', string>;

  constructor(options: AgentOptions) {
    this.options = options;
    const { target, warn } = options;
    // Only connection failures and lock waits say the database is unwell; a syntax error does not.
    this.breaker = circuitBreaker({
      name: 'target database',
      trip: { kind: 'consecutive', failures: 3 },
      openMs: OPEN_MS,
      isFailure: isTransient,
    });
    this.breaker.onStateChange(({ to }) => {
      if (to === 'open')
        warn(
          `! circuit open: ${target.display} keeps failing; calls wait ${OPEN_MS / 1000} s before trying again`,
        );
      else if (to === 'closed') warn(`! circuit closed: ${target.display} answers again`);
    });
    this.monitor = new Monitor({
      target,
      guard: this.breaker,
      store: options.store,
      reportUrl: options.reportUrl,
    });
    // Periodic recovery off: it would run other targets' workflows sharing this store with this
    // target's connection. Workflow names carry the target, and only this target's are resumed.
    this.engine = workflows(options.store, { recoverEveryMs: 0 });
    this.names = { up: `migrate ${target.key}`, down: `rollback ${target.key}` };
    for (const direction of ['up', 'down'] as const) {
      this.engine.register<RunInput, Tally>(this.names[direction], (ctx, input) => this.execute(ctx, input));
    }
  }

  /** Finishes interrupted runs of this target, then makes and runs the plan for `request`. */
  async run(request: Request): Promise<void> {
    const { target, out, warn, migrations } = this.options;
    const guard = pipeline(retry(this.retryOptions(HISTORY_TABLE)), this.breaker);
    await guard.execute(() => target.prepare());
    out(`target: ${target.display} · ${await this.monitor.context({ event: 'start' })}`);

    for (;;) {
      await this.finishUnfinished();
      const plan = planFor(request, migrations, await guard.execute(() => target.applied()));
      for (const id of plan.unknown)
        warn(`! ${id} is in the target's history but no migration file defines it; left alone`);
      const refused = refusals(plan);
      if (refused.length > 0) throw new MigrationPlanError('refusing to migrate', refused);
      if (plan.changes.length === 0) {
        out(
          plan.direction === 'up'
            ? `nothing to do: all ${migrations.length} migrations are applied`
            : 'nothing to roll back',
        );
        return;
      }
      // Another agent may have started a run after we looked and before we read the history (its
      // run exists before it touches the target): join that run, then plan again.
      if ((await this.unfinished()).length > 0) continue;
      const name = this.names[plan.direction];
      const input: RunInput = { target: target.key, changes: plan.changes };
      const id = await this.freshId(plan.direction === 'up' ? 'migrate' : 'rollback', name, input);
      const verb = plan.direction === 'up' ? 'apply' : 'roll back';
      out(`plan: ${verb} ${plan.changes.length} of ${migrations.length} migrations as run ${id}`);
      await this.runWorkflow(name, id, input);
      return;
    }
  }

  /**
   * Resumes this target's runs a crash interrupted (or waits for those another live agent runs),
   * oldest first, with the SQL they started with; cancels those whose files changed since.
   */
  private async finishUnfinished(): Promise<void> {
    for (const unfinished of await this.unfinished()) {
      const input = unfinished.input as RunInput;
      const stale = this.staleChanges(input);
      if (stale.length > 0) {
        // Each step is atomic on the target, so dropping the rest of the run loses nothing: the
        // plan starts again from the target's history table, with the files as they are now.
        await this.engine.cancel(unfinished.id);
        this.options.out(
          `cancelled unfinished run ${unfinished.id}: ${stale.join(', ')} changed since it started; ` +
            'planning again from the target',
        );
        continue;
      }
      const started = new Date(unfinished.createdAt).toISOString();
      this.options.out(
        `found unfinished run ${unfinished.id} (${input.changes.length} migrations, started ${started})`,
      );
      await this.runWorkflow(unfinished.name, unfinished.id, input);
    }
  }

  /** Stops the engine (a step still running is abandoned; the next run redoes it safely). */
  close(): Promise<void> {
    return this.engine.close();
  }

  /** The changes of a run that the migration files no longer define the same way. */
  private staleChanges(input: RunInput): string[] {
    const byId = new Map(this.options.migrations.map((migration) => [migration.id, migration]));
    return input.changes
      .filter((change) => {
        const migration = byId.get(change.id);
        const sql = change.direction === 'up' ? migration?.up : migration?.down;
        return migration === undefined || migration.checksum !== change.checksum || sql !== change.sql;
      })
      .map((change) => change.id);
  }

  /** This target's unfinished runs, oldest first. */
  private async unfinished() {
    const found = [];
    for (const name of Object.values(this.names))
      found.push(...(await this.engine.list({ name, status: UNFINISHED })));
    return found.sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * The same (target, changes) always gives the same id, so two agents started together run one
   * workflow. A finished workflow never runs again: when the same changes are due again (after a
   * rollback, or a failed run), the next generation of the id is used.
   */
  private async freshId(prefix: string, name: string, input: RunInput): Promise<string> {
    const digest = createHash('sha256')
      .update(JSON.stringify([name, input.changes.map((change) => [change.id, change.checksum])]))
      .digest('hex')
      .slice(0, 16);
    for (let generation = 1; ; generation++) {
      const id = generation === 1 ? `${prefix}-${digest}` : `${prefix}-${digest}.${generation}`;
      const existing = await this.engine.get(id);
      if (existing === undefined || (UNFINISHED as readonly string[]).includes(existing.status)) return id;
    }
  }

  private async runWorkflow(name: string, id: string, input: RunInput): Promise<void> {
    const began = performance.now();
    const handle = await this.engine.start<Tally>(name, input, { id });
    const info = await this.engine.get(id);
    if (
      info &&
      info.owner !== this.engine.executorId &&
      (UNFINISHED as readonly string[]).includes(info.status)
    ) {
      this.options.out(`another agent (${info.owner}) is running ${id}; waiting for it to finish`);
    }
    let tally: Tally;
    try {
      tally = await handle.result();
    } catch (error) {
      const failed = (await this.engine.get(id))?.steps.find((step) => step.status === 'failed');
      if (failed === undefined)
        throw new MigrationFailedError(`run ${id} failed: ${describeError(error)}`, { cause: error });
      throw new MigrationFailedError(
        `${failed.name} failed after ${failed.attempts} attempt(s): ${describeError(error)}\n` +
          '  its transaction was rolled back; the migrations before it stay applied. Fix the cause and run again.',
        { cause: error },
      );
    }
    const verb = input.changes[0]?.direction === 'down' ? 'rolled back' : 'applied';
    this.options.out(
      `done: ${input.changes.length} migrations ${verb} in ${Math.round(performance.now() - began)} ms ` +
        `(run ${id}: ${tally.done} now, ${tally.already} found done in the target, ${tally.replayed} checkpointed earlier)`,
    );
  }

  /** The workflow: one checkpointed step per change, a status line after each. */
  private async execute(ctx: WorkflowContext, input: RunInput): Promise<Tally> {
    const tally: Tally = { done: 0, already: 0, replayed: 0 };
    const total = input.changes.length;
    const width = Math.max(...input.changes.map((change) => change.id.length));
    for (const [index, change] of input.changes.entries()) {
      let ran = false;
      const result = await ctx.step<StepOutput>(
        `${change.direction} ${change.id}`,
        async () => {
          ran = true;
          return this.apply(change, ctx.workflowId);
        },
        { retry: this.retryOptions(`${change.direction} ${change.id}`) },
      );
      const outcome = ran ? result.outcome : 'replayed';
      tally[outcome]++;
      const head = `[${index + 1}/${total}] ${change.id.padEnd(width)}  `;
      const done = change.direction === 'up' ? 'applied' : 'rolled back';
      if (outcome === 'replayed') {
        this.options.out(`${head}${done}, checkpointed by an earlier run`);
      } else {
        const event = {
          event: 'change' as const,
          workflowId: ctx.workflowId,
          direction: change.direction,
          migration: change.id,
          outcome,
          index: index + 1,
          total,
          durationMs: Math.round(result.durationMs),
        };
        const context = await this.monitor.context(event);
        this.options.out(
          outcome === 'done'
            ? `${head}${done} in ${Math.round(result.durationMs)} ms · ${context}`
            : `${head}already ${done} in the target (committed before a crash, not yet checkpointed) · ${context}`,
        );
      }
    }
    return tally;
  }

  private async apply(change: Change, workflowId: string): Promise<StepOutput> {
    try {
      const result = await this.breaker.execute(() =>
        this.options.target.change(change, workflowId, this.pauses()),
      );
      return { id: change.id, outcome: result.outcome, durationMs: result.durationMs };
    } catch (error) {
      if (isTransient(error) || isBrokenCircuitError(error)) throw error;
      throw permanent(new MigrationFailedError(describeError(error), { cause: error }));
    }
  }

  private pauses(): Pauses {
    const half = this.options.stepDelayMs / 2;
    const pause = () => (half > 0 ? delay(half) : Promise.resolve());
    return { beforeCommit: pause, afterCommit: pause };
  }

  /** Exponential backoff with full jitter on connection errors, lock waits and an open circuit. */
  private retryOptions(label: string): RetryOptions {
    const { retries, warn } = this.options;
    return {
      maxRetries: retries,
      backoff: { kind: 'exponential', baseMs: 200, factor: 2, maxMs: 5_000, jitter: 'full' },
      retryOn: (error, attempt) => {
        if (!isTransient(error) && !isBrokenCircuitError(error)) return false;
        warn(
          attempt < retries
            ? `! ${label}: ${describeError(error)}; retrying (${attempt + 1} of ${retries} retries)`
            : `! ${label}: ${describeError(error)}; giving up after ${attempt + 1} attempts`,
        );
        return true;
      },
    };
  }
}
