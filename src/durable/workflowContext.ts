// One run of a workflow function in this process: the `ctx` it receives. Each ctx.step / ctx.sleep
// takes the next position before any await, replays the checkpoint recorded there, or runs the step
// under its policies and records it with one recordStep (the step's only durable write).

import {
  abortableDelay,
  type Clock,
  type ExecuteContext,
  InvalidOptionsError,
  type Operation,
  type Policy,
  pipeline,
  raceAbort,
  type RetryOptions,
  retry,
  timeout,
} from '../policies/index.ts';
import type { StepRecord, WorkflowStore } from '../store/index.ts';
import { CheckpointCorruptedError, WorkflowDivergenceError } from './errors.ts';
import { checksumOf, decodeError, decodeValue, encodeError, encodeValue } from './serialize.ts';
import { WorkflowCancelledError, WorkflowOwnershipLostError } from './workflowErrors.ts';

export interface StepOptions {
  /** Retries of the step on failure (retry() of `rebound`); its clock defaults to the engine's. */
  retry?: RetryOptions;
  /** Deadline of each attempt (timeout() of `rebound`); `ctx.signal` of the attempt aborts at it. */
  timeoutMs?: number;
}

/** What a workflow function receives. */
export interface WorkflowContext {
  readonly workflowId: string;
  readonly workflowName: string;
  /**
   * Aborts when the workflow is cancelled, when this executor loses it (another took it over), when
   * the engine closes, or when the store fails under it; then every ctx.step / ctx.sleep rejects.
   */
  readonly signal: AbortSignal;
  /**
   * Runs `fn` (under the retry and timeout options) and checkpoints its output, or its error once
   * the retries are spent; a re-run of the workflow gets the checkpoint and never runs `fn` again.
   * A step interrupted before its checkpoint was written runs again on recovery, so steps should
   * be idempotent. The result is what JSON makes of the output, on the first run as on a replay.
   * Call steps from the workflow function only, never from inside another step.
   */
  step<T>(name: string, fn: Operation<T>, options?: StepOptions): Promise<T>;
  /** Waits `ms` durably: the wake-up time is checkpointed, a restarted workflow waits only what is left. */
  sleep(name: string, ms: number): Promise<void>;
}

/** How a run ended here: its outcome written, or stopped (cancelled, taken over, closing, store failed). */
export type RunOutcome =
  | { status: 'succeeded'; output: string }
  | { status: 'failed'; error: unknown }
  | { status: 'stopped'; reason: unknown };

/** What a run needs from its engine. */
export interface RunEnvironment {
  readonly store: WorkflowStore;
  readonly executorId: string;
  readonly clock: Clock;
}

// setTimeout holds at most 2^31-1 ms; longer sleeps wait in slices.
const MAX_TIMER_MS = 2_147_483_647;
const END_OF_WORKFLOW = '(end of the workflow)';

// Policies built from a step's options, reused when the same options object is passed again.
const policies = new WeakMap<StepOptions, Map<Clock, Policy | undefined>>();

export class WorkflowRun implements WorkflowContext {
  readonly workflowId: string;
  readonly workflowName: string;
  readonly signal: AbortSignal;
  /** Divergence or corruption found while replaying: the workflow fails with it, even if caught. */
  fatal: unknown = undefined;
  /** Set once the workflow function returned and its outcome is being written: nothing else may be. */
  settled = false;

  private readonly environment: RunEnvironment;
  private readonly controller = new AbortController();
  private readonly recorded: (StepRecord | undefined)[] = [];
  private readonly stepContext: ExecuteContext;
  private nextPosition = 0;

  constructor(
    workflowId: string,
    workflowName: string,
    environment: RunEnvironment,
    recorded: readonly StepRecord[],
  ) {
    this.workflowId = workflowId;
    this.workflowName = workflowName;
    this.environment = environment;
    this.signal = this.controller.signal;
    this.stepContext = Object.freeze({ signal: this.signal, attempt: 0 });
    this.load(recorded);
  }

  /**
   * Runs the workflow function to its end and writes its outcome with one finish (failed when it
   * diverged or met a corrupted checkpoint, even if it caught that), unless the run was stopped.
   * `load`: read the recorded steps first (a resumed workflow; a new one has none).
   */
  async perform(
    fn: (ctx: WorkflowContext, input: never) => unknown,
    input: string,
    load: boolean,
  ): Promise<RunOutcome> {
    const { store, executorId, clock } = this.environment;
    try {
      if (load) this.load(await store.steps(this.workflowId));
      let value: unknown;
      let error: unknown;
      let failed = false;
      try {
        value = await fn(this, decodeValue(input) as never);
      } catch (thrown) {
        failed = true;
        error = thrown;
      }
      this.settled = true;
      if (this.signal.aborted) return { status: 'stopped', reason: this.signal.reason };
      if (this.fatal === undefined && !failed) this.checkEnd();
      if (this.fatal !== undefined) {
        failed = true;
        error = this.fatal;
      }
      let output = '';
      if (!failed) {
        try {
          output = encodeValue(value, `output of workflow '${this.workflowName}'`);
        } catch (serializationError) {
          failed = true;
          error = serializationError;
        }
      }
      const outcome = failed
        ? { status: 'failed' as const, error: encodeError(error) }
        : { status: 'succeeded' as const, output };
      if (!(await store.finish(this.workflowId, executorId, outcome, clock.now()))) {
        return { status: 'stopped', reason: await this.whyRefused() };
      }
      return failed ? { status: 'failed', error } : { status: 'succeeded', output };
    } catch (storeError) {
      this.stop(storeError);
      return { status: 'stopped', reason: storeError };
    } finally {
      this.settled = true;
    }
  }

  /** Adds the checkpoints read from the store (before the workflow function starts). */
  load(recorded: readonly StepRecord[]): void {
    for (const step of recorded) this.recorded[step.position] = step;
  }

  /** Stops the run: the signal aborts with `reason` (the first reason given wins). */
  stop(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  step<T>(name: string, fn: Operation<T>, options?: StepOptions): Promise<T> {
    const position = this.nextPosition++;
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    const recorded = this.recorded[position];
    if (recorded !== undefined) return this.replay(recorded, position, name) as Promise<T>;
    return this.execute(position, name, fn, options);
  }

  sleep(name: string, ms: number): Promise<void> {
    const position = this.nextPosition++;
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
      return Promise.reject(new InvalidOptionsError([`sleep.ms must be a number >= 0, got ${String(ms)}`]));
    }
    const recorded = this.recorded[position];
    if (recorded !== undefined) {
      let wakeAt: unknown;
      try {
        wakeAt = this.replayed(recorded, position, name);
      } catch (error) {
        return Promise.reject(error);
      }
      if (typeof wakeAt !== 'number') {
        return Promise.reject(this.failWith(new CheckpointCorruptedError(this.workflowId, position, name)));
      }
      return this.waitUntil(wakeAt);
    }
    return this.startSleep(position, name, ms);
  }

  /**
   * After the function returned: recorded steps it did not ask for mean it took another path than
   * the recorded run (the recorded ones past the end would be silently lost otherwise).
   */
  private checkEnd(): void {
    for (let position = this.nextPosition; position < this.recorded.length; position++) {
      const step = this.recorded[position];
      if (step !== undefined) {
        this.failWith(new WorkflowDivergenceError(this.workflowId, position, step.name, END_OF_WORKFLOW));
        return;
      }
    }
  }

  private refusal(): unknown {
    if (this.fatal !== undefined) return this.fatal;
    if (this.signal.aborted) return this.signal.reason;
    return undefined;
  }

  private failWith(error: unknown): unknown {
    if (this.fatal === undefined) this.fatal = error;
    return this.fatal;
  }

  private replay(recorded: StepRecord, position: number, name: string): Promise<unknown> {
    try {
      return Promise.resolve(this.replayed(recorded, position, name));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The recorded output, or throws the recorded error (or why the checkpoint cannot be used). */
  private replayed(recorded: StepRecord, position: number, name: string): unknown {
    if (recorded.name !== name) {
      throw this.failWith(new WorkflowDivergenceError(this.workflowId, position, recorded.name, name));
    }
    if (checksumOf(recorded.output) !== recorded.checksum) {
      throw this.failWith(new CheckpointCorruptedError(this.workflowId, position, name));
    }
    let outcome: unknown;
    try {
      outcome = recorded.status === 'failed' ? decodeError(recorded.output) : decodeValue(recorded.output);
    } catch {
      throw this.failWith(new CheckpointCorruptedError(this.workflowId, position, name));
    }
    if (recorded.status === 'failed') throw outcome;
    return outcome;
  }

  private async execute<T>(
    position: number,
    name: string,
    fn: Operation<T>,
    options?: StepOptions,
  ): Promise<T> {
    const clock = this.environment.clock;
    const startedAt = clock.now();
    let attempts = 1;
    let value: T | undefined;
    let error: unknown;
    let failed = false;
    try {
      const policy = options === undefined ? undefined : policyFor(options, clock);
      if (policy === undefined) {
        const returned = fn(this.stepContext);
        // An answer given synchronously has nothing to wait for, so nothing to race the signal with.
        value = isThenable(returned) ? await raceAbort(Promise.resolve(returned), this.signal) : returned;
      } else {
        attempts = 0;
        value = await policy.execute((context) => {
          attempts++;
          return fn(context);
        }, this.signal);
      }
    } catch (thrown) {
      failed = true;
      error = thrown;
    }
    // Stopped meanwhile (cancelled, taken over, closing) or failed by a sibling's replay: record nothing.
    const refused = this.refusal();
    if (refused !== undefined) throw refused;

    let output: string;
    let result: unknown;
    if (failed) {
      output = encodeError(error);
    } else {
      try {
        output = encodeValue(value, `output of step '${name}'`);
        result = decodeValue(output);
      } catch (serializationError) {
        failed = true;
        error = serializationError;
        output = encodeError(serializationError);
      }
    }
    await this.record({
      workflowId: this.workflowId,
      position,
      name,
      status: failed ? 'failed' : 'succeeded',
      output,
      checksum: checksumOf(output),
      attempts: Math.max(attempts, 1),
      startedAt,
      endedAt: clock.now(),
    });
    if (failed) throw error;
    return result as T;
  }

  private async startSleep(position: number, name: string, ms: number): Promise<void> {
    const now = this.environment.clock.now();
    const wakeAt = now + ms;
    const output = encodeValue(wakeAt, `wake-up time of sleep '${name}'`);
    await this.record({
      workflowId: this.workflowId,
      position,
      name,
      status: 'succeeded',
      output,
      checksum: checksumOf(output),
      attempts: 1,
      startedAt: now,
      endedAt: wakeAt,
    });
    return this.waitUntil(wakeAt);
  }

  private async waitUntil(wakeAt: number): Promise<void> {
    const clock = this.environment.clock;
    for (let remaining = wakeAt - clock.now(); remaining > 0; remaining = wakeAt - clock.now()) {
      await abortableDelay(Math.min(remaining, MAX_TIMER_MS), this.signal, clock);
    }
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
  }

  /** The step's one durable write. Refused means the workflow is no longer this executor's to run. */
  private async record(step: StepRecord): Promise<void> {
    let recorded: boolean;
    try {
      recorded = await this.environment.store.recordStep(step, this.environment.executorId);
    } catch (storeError) {
      // Whether it was written is unknown: stop here, a recovery replays whatever was.
      this.stop(storeError);
      throw storeError;
    }
    if (recorded) return;
    if (!this.signal.aborted && !this.settled) this.stop(await this.whyRefused());
    throw this.refusal() ?? new WorkflowOwnershipLostError(this.workflowId, this.environment.executorId);
  }

  private async whyRefused(): Promise<unknown> {
    try {
      const workflow = await this.environment.store.get(this.workflowId);
      if (workflow?.status === 'cancelled') return new WorkflowCancelledError(this.workflowId);
    } catch {
      // The store failing now is no reason to keep running a workflow it refused.
    }
    return new WorkflowOwnershipLostError(this.workflowId, this.environment.executorId);
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** retry() around timeout() as the options ask, or undefined for neither (the step runs bare). */
function policyFor(options: StepOptions, clock: Clock): Policy | undefined {
  let byClock = policies.get(options);
  if (byClock?.has(clock)) return byClock.get(clock);
  const parts: Policy[] = [];
  if (options.retry !== undefined) parts.push(retry({ clock, ...options.retry }));
  if (options.timeoutMs !== undefined) parts.push(timeout(options.timeoutMs, { clock }));
  const policy = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : pipeline(...parts);
  if (byClock === undefined) policies.set(options, (byClock = new Map()));
  byClock.set(clock, policy);
  return policy;
}
