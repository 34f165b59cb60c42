// bulkhead(): caps how many calls run at once, holding the overflow in a bounded FIFO queue.

import { abortReason, neverAbortedSignal } from './abort.ts';
import { type Clock, systemClock, type TimerHandle } from './clock.ts';
import { BulkheadRejectedError } from './errors.ts';
import { Emitter } from './events.ts';
import { OptionProblems } from './options.ts';
import {
  type ComposablePolicy,
  type ExecuteContext,
  executeRoot,
  invoke,
  type Operation,
  run,
} from './policy.ts';

export interface BulkheadOptions {
  /** Calls allowed to run at the same time (an integer >= 1). */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot, served in arrival order; further calls are rejected at once. */
  maxQueue?: number;
  /** Longest time a call may wait in the queue; by default it waits until a slot frees or its caller aborts. */
  queueTimeoutMs?: number;
  clock?: Clock;
}

export const BULKHEAD_DEFAULTS = Object.freeze({ maxQueue: 0 });

export interface BulkheadStats {
  /** Calls running now. */
  active: number;
  /** Calls waiting for a slot now. */
  queued: number;
  /** Calls refused because the queue was full or their wait timed out (a caller's abort is not counted). */
  rejected: number;
  /** Calls that started running. */
  executed: number;
}

export interface BulkheadRejectedEvent {
  reason: 'full' | 'queue-timeout';
  active: number;
  queued: number;
}

/**
 * A call waiting for a slot: one node of the queue's doubly linked list, so a caller's abort
 * removes it in O(1). It is its own abort listener (`handleEvent`), which spares a closure.
 */
class QueuedCall {
  readonly queue: WaitQueue;
  readonly fn: Operation<unknown>;
  readonly ctx: ExecuteContext;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  previous: QueuedCall | undefined = undefined;
  next: QueuedCall | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
  waiting = true;

  constructor(
    queue: WaitQueue,
    fn: Operation<unknown>,
    ctx: ExecuteContext,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ) {
    this.queue = queue;
    this.fn = fn;
    this.ctx = ctx;
    this.resolve = resolve;
    this.reject = reject;
  }

  /** The caller aborted while waiting: leave the queue at once with the signal's reason. */
  handleEvent(): void {
    if (this.queue.remove(this)) this.reject(abortReason(this.ctx.signal));
  }
}

/** FIFO of waiting calls; removing a call also drops its timer and abort listener. */
class WaitQueue {
  size = 0;
  private head: QueuedCall | undefined = undefined;
  private tail: QueuedCall | undefined = undefined;
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  push(call: QueuedCall): void {
    call.previous = this.tail;
    if (this.tail === undefined) this.head = call;
    else this.tail.next = call;
    this.tail = call;
    this.size++;
    const signal = call.ctx.signal;
    if (signal !== neverAbortedSignal) signal.addEventListener('abort', call);
  }

  shift(): QueuedCall | undefined {
    const call = this.head;
    if (call !== undefined) this.remove(call);
    return call;
  }

  /** Returns false when the call had already left the queue. */
  remove(call: QueuedCall): boolean {
    if (!call.waiting) return false;
    call.waiting = false;
    const { previous, next } = call;
    if (previous === undefined) this.head = next;
    else previous.next = next;
    if (next === undefined) this.tail = previous;
    else next.previous = previous;
    call.previous = undefined;
    call.next = undefined;
    this.size--;
    if (call.timer !== undefined) {
      this.clock.clearTimeout(call.timer);
      call.timer = undefined;
    }
    const signal = call.ctx.signal;
    if (signal !== neverAbortedSignal) signal.removeEventListener('abort', call);
    return true;
  }
}

export class Bulkhead implements ComposablePolicy {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
  private readonly clock: Clock;
  private readonly queue: WaitQueue;
  private active = 0;
  private rejected = 0;
  private executed = 0;

  private readonly released = (): void => this.release();

  private readonly rejectedEmitter = new Emitter<BulkheadRejectedEvent>();
  /** A call was refused: the queue was full, or its wait timed out. */
  readonly onRejected = this.rejectedEmitter.subscribe;

  constructor(options: BulkheadOptions) {
    const problems = new OptionProblems();
    problems.number('bulkhead.maxConcurrent', options?.maxConcurrent, { integer: true, min: 1 });
    problems.number('bulkhead.maxQueue', options?.maxQueue, { integer: true, min: 0, optional: true });
    problems.number('bulkhead.queueTimeoutMs', options?.queueTimeoutMs, { min: 0, optional: true });
    problems.throwIfAny();
    this.maxConcurrent = options.maxConcurrent;
    this.maxQueue = options.maxQueue ?? BULKHEAD_DEFAULTS.maxQueue;
    this.queueTimeoutMs = options.queueTimeoutMs;
    this.clock = options.clock ?? systemClock;
    this.queue = new WaitQueue(this.clock);
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    if (this.active < this.maxConcurrent) return this.runNow(fn, ctx);
    if (this.queue.size < this.maxQueue) return this.enqueue(fn, ctx);
    return this.refuse('full');
  }

  stats(): BulkheadStats {
    return { active: this.active, queued: this.queue.size, rejected: this.rejected, executed: this.executed };
  }

  private runNow<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    this.active++;
    this.executed++;
    // The caller gets fn's own promise; the slot is released by one handler shared by every call,
    // which runs before the caller's continuation since it was attached first.
    const result = invoke(fn, ctx);
    result.then(this.released, this.released);
    return result;
  }

  private release(): void {
    this.active--;
    const next = this.queue.shift();
    if (next === undefined) return;
    // Started here, synchronously, so the freed slot goes to the head of the queue and not to a
    // call that arrives before a promise callback could run.
    this.runNow(next.fn, next.ctx).then(next.resolve, next.reject);
  }

  private enqueue<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    const signal = ctx.signal;
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise<T>((resolve, reject) => {
      const call = new QueuedCall(this.queue, fn, ctx, resolve as (value: unknown) => void, reject);
      this.queue.push(call);
      if (this.queueTimeoutMs !== undefined) {
        call.timer = this.clock.setTimeout(() => this.expire(call), this.queueTimeoutMs);
      }
    });
  }

  private expire(call: QueuedCall): void {
    call.timer = undefined;
    if (this.queue.remove(call)) call.reject(this.refusal('queue-timeout'));
  }

  private refuse<T>(reason: 'full'): Promise<T> {
    return Promise.reject(this.refusal(reason));
  }

  private refusal(reason: 'full' | 'queue-timeout'): BulkheadRejectedError {
    this.rejected++;
    if (this.rejectedEmitter.active) {
      this.rejectedEmitter.emit({ reason, active: this.active, queued: this.queue.size });
    }
    return new BulkheadRejectedError(this.maxConcurrent, this.maxQueue, reason);
  }
}

/** Limits concurrency: `bulkhead({ maxConcurrent: 10, maxQueue: 100, queueTimeoutMs: 5_000 })`. */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new Bulkhead(options);
}
