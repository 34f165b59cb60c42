// workflows(): the durable workflow engine of SPEC 3.2. Workflow functions are re-run from the top
// after a crash and replay their checkpointed steps; executors share a store and own each running
// workflow through a lease that their heartbeats keep alive.

import { randomUUID } from 'node:crypto';
import {
  abortableDelay,
  type Clock,
  Emitter,
  InvalidOptionsError,
  neverAbortedSignal,
  raceAbort,
  systemClock,
} from '../policies/index.ts';
import type {
  ExecutorRecord,
  Store,
  StepRecord,
  WorkflowRecord,
  WorkflowStatus,
  WorkflowStore,
} from '../store/index.ts';
import { defaultExecutorId, defaultHost, ExecutorPresence, ownerGone } from './executors.ts';
import { decodeError, decodeValue, encodeValue } from './serialize.ts';
import {
  type ListOptions,
  stepInfoOf,
  summaryOf,
  type WorkflowInfo,
  type WorkflowSummary,
} from './workflowInfo.ts';
import {
  validateRegistration,
  validateWorkflowOptions,
  type WorkflowEngineOptions,
  WORKFLOWS_DEFAULTS,
} from './workflowOptions.ts';
import { type RunEnvironment, type RunOutcome, WorkflowRun } from './workflowContext.ts';
import {
  Handle,
  type RecoverResult,
  type RegisteredWorkflow,
  type ResultOptions,
  type StartOptions,
  type WorkflowEngineErrorEvent,
  type WorkflowFunction,
  type WorkflowHandle,
} from './workflowTypes.ts';
import {
  isWorkflowCancelledError,
  isWorkflowEngineClosedError,
  UnknownWorkflowError,
  WorkflowAlreadyRegisteredError,
  WorkflowCancelledError,
  WorkflowConflictError,
  WorkflowEngineClosedError,
  WorkflowNotFoundError,
  WorkflowOwnershipLostError,
} from './workflowErrors.ts';

// The engine's public types live beside their code; re-exported so this module is the whole API.
export type { StepOptions, WorkflowContext } from './workflowContext.ts';
export type { ListOptions, WorkflowInfo, WorkflowStepInfo, WorkflowSummary } from './workflowInfo.ts';
export { type WorkflowEngineOptions, WORKFLOWS_DEFAULTS } from './workflowOptions.ts';
export type { SerializedError } from './serialize.ts';
export * from './workflowErrors.ts';

export type {
  RecoverResult,
  RegisteredWorkflow,
  ResultOptions,
  StartOptions,
  WorkflowEngineErrorEvent,
  WorkflowFunction,
  WorkflowHandle,
} from './workflowTypes.ts';

interface ActiveRun {
  readonly run: WorkflowRun;
  /** Launch order: a lease check ignores runs claimed after its query started. */
  readonly sequence: number;
  done: Promise<RunOutcome>;
}

type EngineState = 'idle' | 'active' | 'closed';
// idle: nothing written yet; active: heartbeating; closed: final.
const TRANSITIONS: Record<EngineState, readonly EngineState[]> = {
  idle: ['active', 'closed'],
  active: ['closed'],
  closed: [],
};

const UNFINISHED: readonly WorkflowStatus[] = ['pending', 'running'];

export class WorkflowEngine {
  readonly executorId: string;
  readonly host: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly recoverEveryMs: number;
  readonly pollMs: number;

  private readonly store: WorkflowStore;
  private readonly clock: Clock;
  private readonly environment: RunEnvironment;
  private readonly presence: ExecutorPresence;
  private readonly registry = new Map<string, WorkflowFunction<never, unknown>>();
  private readonly runs = new Map<string, ActiveRun>();
  private readonly adopting = new Set<string>();
  private state: EngineState = 'idle';
  private activation: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private sequence = 0;

  private readonly errorEmitter = new Emitter<WorkflowEngineErrorEvent>();
  private readonly recoverEmitter = new Emitter<RecoverResult>();
  /** A background heartbeat, lease check or periodic recovery failed (it is tried again next time). */
  readonly onError = this.errorEmitter.subscribe;
  /** A recovery pass (explicit or periodic) resumed workflows or found some it cannot run. */
  readonly onRecover = this.recoverEmitter.subscribe;

  constructor(store: Store, options: WorkflowEngineOptions = {}) {
    validateWorkflowOptions(options);
    this.store = store.workflows;
    this.clock = options.clock ?? systemClock;
    this.executorId = options.executorId ?? defaultExecutorId();
    this.host = options.host ?? defaultHost();
    this.leaseMs = options.leaseMs ?? WORKFLOWS_DEFAULTS.leaseMs;
    this.heartbeatMs = options.heartbeatMs ?? this.leaseMs / 3;
    this.recoverEveryMs = options.recoverEveryMs ?? this.leaseMs;
    this.pollMs = options.pollMs ?? WORKFLOWS_DEFAULTS.pollMs;
    this.environment = { store: this.store, executorId: this.executorId, clock: this.clock };
    this.presence = new ExecutorPresence({
      store: this.store,
      executorId: this.executorId,
      host: this.host,
      clock: this.clock,
      heartbeatMs: this.heartbeatMs,
      recoverEveryMs: this.recoverEveryMs,
      checkLeases: () => this.checkLeases(),
      recover: () => this.recoverPass(),
      report: (during, error) => this.report(during, error),
    });
  }

  register<I = unknown, O = unknown>(name: string, fn: WorkflowFunction<I, O>): RegisteredWorkflow<I, O> {
    validateRegistration(name, fn);
    if (this.registry.has(name)) throw new WorkflowAlreadyRegisteredError(name);
    this.registry.set(name, fn as WorkflowFunction<never, unknown>);
    return { name, start: (input, options) => this.start<O>(name, input, options) };
  }

  /** Starts a workflow, or answers the one that already has `options.id` (resuming it if its owner is gone). */
  async start<O = unknown>(
    name: string,
    input?: unknown,
    options: StartOptions = {},
  ): Promise<WorkflowHandle<O>> {
    this.assertOpen();
    if (!this.registry.has(name)) throw new UnknownWorkflowError(name);
    const id = options.id ?? timeOrderedUuid();
    if (typeof id !== 'string' || id === '') {
      throw new InvalidOptionsError([`start options.id must be a non-empty string, got ${String(id)}`]);
    }
    const inputText = encodeValue(input, `input of workflow '${name}'`);
    await this.activate();
    const now = this.clock.now();
    // Created already claimed: one write, and no window in which another executor could take it.
    const { created, workflow } = await this.store.create({
      id,
      name,
      status: 'running',
      input: inputText,
      output: null,
      error: null,
      owner: this.executorId,
      createdAt: now,
      updatedAt: now,
    });
    if (created) {
      this.launch(workflow, []);
    } else if (workflow.name !== name) {
      throw new WorkflowConflictError(id, workflow.name, name);
    } else if (UNFINISHED.includes(workflow.status) && !this.runs.has(id)) {
      const executors = await this.store.executors();
      await this.adopt(workflow, new Map(executors.map((executor) => [executor.id, executor])));
    }
    return new Handle<O>(this, id, name);
  }

  /**
   * Resumes every unfinished workflow whose owner is gone, or is this executor: claims each (a
   * compare-and-set on its owner) and runs it. Returns once they are resumed, not finished.
   */
  async recover(): Promise<RecoverResult> {
    this.assertOpen();
    if (this.state === 'active') await this.presence.beat();
    else await this.activate();
    return this.recoverPass();
  }

  async result<O = unknown>(id: string, options: ResultOptions = {}): Promise<O> {
    const signal = options.signal ?? neverAbortedSignal;
    for (;;) {
      const active = this.runs.get(id);
      if (active !== undefined) {
        const outcome = await raceAbort(active.done, signal);
        if (outcome.status === 'succeeded') return decodeValue(outcome.output) as O;
        if (outcome.status === 'failed') throw outcome.error;
        if (isWorkflowCancelledError(outcome.reason)) throw outcome.reason;
        // Otherwise it was taken over, or the store failed under it: the store has the answer.
      }
      const workflow = await this.store.get(id);
      if (workflow === undefined) throw new WorkflowNotFoundError(id);
      if (workflow.status === 'succeeded') return decodeValue(workflow.output ?? 'null') as O;
      if (workflow.status === 'failed') throw decodeError(workflow.error ?? '{}');
      if (workflow.status === 'cancelled') throw new WorkflowCancelledError(id);
      if (this.state === 'closed' && !this.runs.has(id)) throw new WorkflowEngineClosedError(this.executorId);
      // Real time even under an injected clock: this waits for another process's I/O, not for a
      // time-dependent behaviour a test would drive.
      if (!this.runs.has(id)) await abortableDelay(this.pollMs, signal, systemClock);
    }
  }

  /** The workflow and its recorded steps, or undefined. */
  async get(id: string): Promise<WorkflowInfo | undefined> {
    const [workflow, steps] = await Promise.all([this.store.get(id), this.store.steps(id)]);
    if (workflow === undefined) return undefined;
    return { ...summaryOf(workflow), steps: steps.map(stepInfoOf) };
  }

  /** Workflows newest first, without their steps. */
  async list(options: ListOptions = {}): Promise<WorkflowSummary[]> {
    const workflows = await this.store.list(options);
    return workflows.map(summaryOf);
  }

  /** Cancels an unfinished workflow (its ctx.signal aborts wherever it runs); false if it had finished. */
  async cancel(id: string): Promise<boolean> {
    const cancelled = await this.store.cancel(id, this.clock.now());
    if (cancelled) this.runs.get(id)?.run.stop(new WorkflowCancelledError(id));
    return cancelled;
  }

  /**
   * Stops heartbeats, aborts the ctx.signal of the workflows running here (a step still running is
   * abandoned: not recorded, it runs again when the workflow is recovered), waits for their
   * functions to return, and removes this executor's record so another executor, or this one
   * restarted, can take them over at once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const wasActive = this.state === 'active';
    this.transition('closed');
    const stopping = this.presence.stop();
    const reason = new WorkflowEngineClosedError(this.executorId);
    for (const active of this.runs.values()) active.run.stop(reason);
    await Promise.allSettled([...this.runs.values()].map((active) => active.done));
    await stopping;
    await this.activation?.catch(() => undefined);
    if (!wasActive && this.activation === undefined) return;
    try {
      await this.store.removeExecutor(this.executorId);
    } catch (error) {
      this.report('close', error);
    }
  }

  private transition(to: EngineState): void {
    if (!TRANSITIONS[this.state].includes(to))
      throw new Error(`workflow engine cannot go from ${this.state} to ${to}`);
    this.state = to;
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new WorkflowEngineClosedError(this.executorId);
  }

  /** First use: record this executor as alive before it claims anything, then keep it alive. */
  private activate(): Promise<void> {
    this.activation ??= (async () => {
      await this.presence.beat();
      if (this.state !== 'idle') return;
      this.transition('active');
      this.presence.start();
    })().catch((error: unknown) => {
      this.activation = undefined;
      throw error;
    });
    return this.activation;
  }

  /**
   * Stops local runs of workflows the store no longer has this executor running (cancelled by
   * another process, or taken over after this executor's lease lapsed), without waiting for their
   * next step to be refused: a long sleep or step would otherwise go on for nothing.
   */
  private async checkLeases(): Promise<void> {
    if (this.runs.size === 0 || this.state !== 'active') return;
    const before = this.sequence;
    const owned = await this.store.list({ owner: this.executorId, status: UNFINISHED });
    const ids = new Set(owned.map((workflow) => workflow.id));
    for (const active of this.runs.values()) {
      const run = active.run;
      if (active.sequence > before || run.settled || run.signal.aborted || ids.has(run.workflowId)) continue;
      const workflow = await this.store.get(run.workflowId);
      if (
        workflow === undefined ||
        (workflow.owner === this.executorId && UNFINISHED.includes(workflow.status))
      ) {
        continue;
      }
      run.stop(
        workflow.status === 'cancelled'
          ? new WorkflowCancelledError(run.workflowId)
          : new WorkflowOwnershipLostError(run.workflowId, this.executorId),
      );
    }
  }

  private async recoverPass(): Promise<RecoverResult> {
    const [executors, unfinished] = await Promise.all([
      this.store.executors(),
      this.store.list({ status: UNFINISHED }),
    ]);
    const byId = new Map(executors.map((executor) => [executor.id, executor]));
    const result: RecoverResult = { resumed: [], unknown: [] };
    await Promise.all(
      unfinished.map(async (workflow) => {
        const outcome = await this.adopt(workflow, byId);
        if (outcome === 'resumed') result.resumed.push(workflow.id);
        else if (outcome === 'unknown') result.unknown.push({ id: workflow.id, name: workflow.name });
      }),
    );
    if ((result.resumed.length > 0 || result.unknown.length > 0) && this.recoverEmitter.active) {
      this.recoverEmitter.emit(result);
    }
    return result;
  }

  /** Claims and runs `workflow` if its owner is gone; the claim is a CAS, so one executor wins. */
  private async adopt(
    workflow: WorkflowRecord,
    executors: ReadonlyMap<string, ExecutorRecord>,
  ): Promise<'resumed' | 'unknown' | 'skipped'> {
    const id = workflow.id;
    if (this.runs.has(id) || this.adopting.has(id)) return 'skipped';
    const now = this.clock.now();
    const liveness = { executorId: this.executorId, host: this.host, leaseMs: this.leaseMs, now, executors };
    if (!ownerGone(workflow.owner, liveness)) return 'skipped';
    if (!this.registry.has(workflow.name)) return 'unknown';
    this.adopting.add(id);
    try {
      if (!(await this.store.claim(id, this.executorId, workflow.owner, now))) return 'skipped';
      if (this.state === 'closed') return 'skipped';
      this.launch(workflow, undefined);
      return 'resumed';
    } finally {
      this.adopting.delete(id);
    }
  }

  /** Runs the workflow here; `recorded` undefined means its steps are read from the store first. */
  private launch(workflow: WorkflowRecord, recorded: StepRecord[] | undefined): void {
    // Never two local runs of one workflow, whichever path (start, recover) got here first.
    if (this.state === 'closed' || this.runs.has(workflow.id)) return;
    const run = new WorkflowRun(workflow.id, workflow.name, this.environment, recorded ?? []);
    const active: ActiveRun = { run, sequence: ++this.sequence, done: undefined as never };
    this.runs.set(workflow.id, active);
    active.done = this.drive(active, workflow, recorded === undefined);
    // Awaited through result(); a run nobody waits for must not surface as an unhandled rejection.
    active.done.catch(() => undefined);
  }

  private async drive(active: ActiveRun, workflow: WorkflowRecord, load: boolean): Promise<RunOutcome> {
    try {
      return await active.run.perform(this.registry.get(workflow.name)!, workflow.input, load);
    } finally {
      if (this.runs.get(workflow.id) === active) this.runs.delete(workflow.id);
    }
  }

  private report(during: WorkflowEngineErrorEvent['during'], error: unknown): void {
    if (isWorkflowEngineClosedError(error)) return;
    if (this.errorEmitter.active) this.errorEmitter.emit({ during, error });
  }
}

/**
 * A UUID of version 7 (RFC 9562): the time in milliseconds, then 74 random bits. Workflows started
 * together get neighbouring ids, so their rows and step records land on the same few index pages
 * of the store instead of one random page each: fewer pages written per commit.
 */
function timeOrderedUuid(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  // A version 4 UUID is 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx': keep its random part and variant.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

/**
 * The durable workflow engine: `workflows(store, { executorId?, leaseMs? })`. Register workflow
 * functions, start them by id (an id runs once, ever), and call `recover()` at startup to resume
 * those a crash interrupted.
 */
export function workflows(store: Store, options?: WorkflowEngineOptions): WorkflowEngine {
  return new WorkflowEngine(store, options);
}
