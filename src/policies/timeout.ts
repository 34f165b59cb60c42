// timeout(): at the deadline the call rejects with TimeoutError at once and ctx.signal aborts,
// whether or not the work honours it. No timer per call: deadlines share one timer (deadlines.ts).

import { abortReason, neverAbortedSignal } from './abort.ts';
import { type Clock, systemClock } from './clock.ts';
import { Deadline, DeadlineLane } from './deadlines.ts';
import { TimeoutError } from './errors.ts';
import { Emitter } from './events.ts';
import { OptionProblems } from './options.ts';
import { type ComposablePolicy, type ExecuteContext, executeRoot, type Operation, run } from './policy.ts';

export interface TimeoutOptions {
  clock?: Clock;
}

export interface TimeoutEvent {
  timeoutMs: number;
}

export class TimeoutPolicy implements ComposablePolicy {
  readonly timeoutMs: number;
  /** @internal */ readonly lane: DeadlineLane;
  private readonly timeoutEmitter = new Emitter<TimeoutEvent>();
  /** Fires when a call is abandoned at its deadline. */
  readonly onTimeout = this.timeoutEmitter.subscribe;

  constructor(timeoutMs: number, options: TimeoutOptions = {}) {
    const problems = new OptionProblems();
    problems.number('timeout.ms', timeoutMs, { min: 0 });
    problems.clock('timeout.clock', options.clock);
    problems.throwIfAny();
    this.timeoutMs = timeoutMs;
    this.lane = new DeadlineLane(timeoutMs, options.clock ?? systemClock);
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    if (ctx.signal.aborted) return Promise.reject(abortReason(ctx.signal));
    return new Promise<T>((resolve, reject) => {
      const call = new TimedCall<T>(this, ctx, resolve, reject);
      this.lane.add(call);
      let result: T | PromiseLike<T>;
      try {
        result = fn(call);
      } catch (error) {
        call.fail(error);
        return;
      }
      if (isThenable(result)) result.then(call.succeedBound(), call.failBound());
      else call.succeed(result);
    });
  }

  /** @internal */ timedOut(): void {
    if (this.timeoutEmitter.active) this.timeoutEmitter.emit({ timeoutMs: this.timeoutMs });
  }
}

/**
 * One call under a timeout: its deadline entry, and the context handed to the work. The abort
 * controller behind `signal` is created only if the work reads `signal`.
 */
class TimedCall<T> extends Deadline implements ExecuteContext {
  readonly attempt: number;
  private readonly policy: TimeoutPolicy;
  private readonly parent: ExecuteContext;
  private readonly resolve: (value: T) => void;
  private readonly reject: (error: unknown) => void;
  private controller: AbortController | undefined;
  private settled = false;
  private expiredWith: TimeoutError | undefined;

  constructor(
    policy: TimeoutPolicy,
    parent: ExecuteContext,
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
  ) {
    super();
    this.policy = policy;
    this.parent = parent;
    this.attempt = parent.attempt;
    this.resolve = resolve;
    this.reject = reject;
    // Listening to the caller (only when there is one) lets an abort end the call and free its deadline.
    if (parent.signal !== neverAbortedSignal) parent.signal.addEventListener('abort', this);
  }

  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    if (this.expiredWith) controller.abort(this.expiredWith);
    else if (this.parent.signal.aborted) controller.abort(abortReason(this.parent.signal));
    return controller.signal;
  }

  /** The caller aborted: the call ends now with its reason, and its deadline is dropped. */
  handleEvent(): void {
    const reason = abortReason(this.parent.signal);
    this.controller?.abort(reason);
    this.fail(reason);
  }

  succeed(value: T): void {
    if (this.finish()) this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.finish()) this.reject(error);
  }

  succeedBound(): (value: T) => void {
    return (value) => this.succeed(value);
  }

  failBound(): (error: unknown) => void {
    return (error) => this.fail(error);
  }

  override expire(): void {
    if (this.settled) return;
    this.settled = true;
    this.unlisten();
    const error = new TimeoutError(this.policy.timeoutMs);
    this.expiredWith = error;
    this.controller?.abort(error);
    this.policy.timedOut();
    this.reject(error);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.policy.lane.remove(this);
    this.unlisten();
    return true;
  }

  private unlisten(): void {
    if (this.parent.signal !== neverAbortedSignal) this.parent.signal.removeEventListener('abort', this);
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** Rejects with TimeoutError after `ms` and aborts `ctx.signal`, whether or not the work stops. */
export function timeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
