// The workflow engine's public shapes: workflow functions, handles, start and result options,
// what recover() answers and what its events carry.

import type { WorkflowContext } from './workflowContext.ts';

export type WorkflowFunction<I = unknown, O = unknown> = (ctx: WorkflowContext, input: I) => Promise<O> | O;

export interface StartOptions {
  /** The workflow's id: starting an id that exists returns that workflow, which never runs twice. Default a UUID. */
  id?: string;
}

export interface ResultOptions {
  /** Stops waiting (rejecting with the signal's reason); the workflow itself goes on. */
  signal?: AbortSignal;
}

export interface WorkflowHandle<O = unknown> {
  readonly id: string;
  readonly name: string;
  /** The workflow's output; rejects with the failing step's error, or WorkflowCancelledError. */
  result(options?: ResultOptions): Promise<O>;
}

export interface RegisteredWorkflow<I = unknown, O = unknown> {
  readonly name: string;
  start(input: I, options?: StartOptions): Promise<WorkflowHandle<O>>;
}

export interface RecoverResult {
  /** Workflows this executor claimed and now runs. */
  resumed: string[];
  /** Unfinished workflows it could have taken over but has no function registered for. */
  unknown: { id: string; name: string }[];
}

export interface WorkflowEngineErrorEvent {
  /** What the engine was doing in the background when the store failed. */
  during: 'heartbeat' | 'recover' | 'lease-check' | 'close';
  error: unknown;
}

/** What the engine does for a handle (the engine itself; an interface so this file needs no cycle). */
interface ResultSource {
  result<O>(id: string, options?: ResultOptions): Promise<O>;
}

export class Handle<O> implements WorkflowHandle<O> {
  readonly id: string;
  readonly name: string;
  private readonly engine: ResultSource;

  constructor(engine: ResultSource, id: string, name: string) {
    this.engine = engine;
    this.id = id;
    this.name = name;
  }

  result(options?: ResultOptions): Promise<O> {
    return this.engine.result<O>(this.id, options);
  }
}
