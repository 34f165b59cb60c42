// hedge(): when a call is slow, races extra copies of it and keeps the first success.

import { abortReason, childController, neverAbortedSignal } from './abort.ts';
import { type Clock, systemClock, type TimerHandle } from './clock.ts';
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

export interface HedgeOptions {
  /** How long an attempt may run before the next one starts beside it. */
  delayMs: number;
  /** Extra attempts at most (an integer >= 0; 0 turns hedging off). */
  maxHedges?: number;
  clock?: Clock;
}

export const HEDGE_DEFAULTS = Object.freeze({ maxHedges: 1 });

export interface HedgeEvent {
  /** 1 for the first extra attempt. */
  hedge: number;
  /** The `ctx.attempt` the hedge runs with. */
  attempt: number;
  /** Started because the running attempts were slower than `delayMs`, or because one failed. */
  reason: 'delay' | 'failure';
}

export interface HedgeStats {
  calls: number;
  /** Extra attempts started. */
  hedges: number;
  /** Calls answered by an extra attempt rather than the first. */
  hedgeWins: number;
}

/**
 * Races copies of a call. Each attempt runs with its own signal, a child of the caller's, so the
 * losers can be aborted when one succeeds without touching the caller's signal.
 *
 * - Attempt n (0 the first) sees `ctx.attempt + n`, so it can, for example, pick another replica.
 *   Under an enclosing retry the numbers of two tries may overlap.
 * - An attempt that fails while hedges remain starts the next one at once (as Polly does), and the
 *   delay before the following one counts from then.
 * - When every attempt has failed, the call rejects with the error of the last one to fail.
 * - Losers are aborted with an `AbortError` DOMException. The caller's abort (or an enclosing
 *   policy's) rejects the call at once with its reason and aborts every attempt with that reason.
 */
export class Hedge implements ComposablePolicy {
  readonly delayMs: number;
  readonly maxHedges: number;
  private readonly shared: HedgeShared;

  private readonly hedgeEmitter = new Emitter<HedgeEvent>();
  /** An extra attempt started. */
  readonly onHedge = this.hedgeEmitter.subscribe;

  constructor(options: HedgeOptions) {
    const problems = new OptionProblems();
    problems.number('hedge.delayMs', options?.delayMs, { min: 0 });
    problems.number('hedge.maxHedges', options?.maxHedges, { integer: true, min: 0, optional: true });
    if (options?.delayMs === Number.POSITIVE_INFINITY) problems.add('hedge.delayMs must be finite');
    if (options?.maxHedges === Number.POSITIVE_INFINITY) problems.add('hedge.maxHedges must be finite');
    problems.throwIfAny();
    this.delayMs = options.delayMs;
    this.maxHedges = options.maxHedges ?? HEDGE_DEFAULTS.maxHedges;
    this.shared = {
      delayMs: this.delayMs,
      maxHedges: this.maxHedges,
      clock: options.clock ?? systemClock,
      counts: { calls: 0, hedges: 0, hedgeWins: 0 },
      emitter: this.hedgeEmitter,
    };
  }

  execute<T>(fn: Operation<T>, signal?: AbortSignal): Promise<T> {
    return executeRoot(this, fn, signal);
  }

  [run]<T>(fn: Operation<T>, ctx: ExecuteContext): Promise<T> {
    this.shared.counts.calls++;
    if (this.maxHedges === 0) return invoke(fn, ctx);
    if (ctx.signal.aborted) return Promise.reject(abortReason(ctx.signal));
    return new HedgedCall(this.shared, fn, ctx).promise;
  }

  stats(): HedgeStats {
    return { ...this.shared.counts };
  }
}

/** What a Hedge hands each of its calls: settings, counters and the event emitter. */
interface HedgeShared {
  readonly delayMs: number;
  readonly maxHedges: number;
  readonly clock: Clock;
  readonly counts: HedgeStats;
  readonly emitter: Emitter<HedgeEvent>;
}

interface Attempt {
  readonly index: number;
  readonly controller: AbortController;
  readonly dispose: () => void;
  running: boolean;
}

/** One hedged call: its attempts, its single pending timer, and its outcome. */
class HedgedCall<T> {
  readonly promise: Promise<T>;
  private resolve!: (value: T) => void;
  private reject!: (error: unknown) => void;
  private readonly hedge: HedgeShared;
  private readonly fn: Operation<T>;
  private readonly ctx: ExecuteContext;
  private readonly attempts: Attempt[] = [];
  private running = 0;
  private settled = false;
  private timer: TimerHandle | undefined = undefined;

  constructor(hedge: HedgeShared, fn: Operation<T>, ctx: ExecuteContext) {
    this.hedge = hedge;
    this.fn = fn;
    this.ctx = ctx;
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Registered before any attempt's own link, so the caller's abort reaches this call first.
    if (ctx.signal !== neverAbortedSignal) ctx.signal.addEventListener('abort', this);
    this.start('delay');
  }

  /** The caller aborted: every running attempt is aborted with the caller's reason. */
  handleEvent(): void {
    if (this.settled) return;
    const reason = abortReason(this.ctx.signal);
    this.finish(reason);
    this.reject(reason);
  }

  private start(reason: HedgeEvent['reason']): void {
    const index = this.attempts.length;
    const { controller, dispose } = childController(this.ctx.signal);
    const attempt: Attempt = { index, controller, dispose, running: true };
    this.attempts.push(attempt);
    this.running++;
    const context: ExecuteContext = { signal: controller.signal, attempt: this.ctx.attempt + index };
    if (index > 0) {
      this.hedge.counts.hedges++;
      const emitter = this.hedge.emitter;
      if (emitter.active) emitter.emit({ hedge: index, attempt: context.attempt, reason });
    }
    invoke(this.fn, context).then(
      (value) => this.succeeded(attempt, value),
      (error) => this.failed(attempt, error),
    );
    if (index < this.hedge.maxHedges) {
      this.timer = this.hedge.clock.setTimeout(this.delayElapsed, this.hedge.delayMs);
    }
  }

  private readonly delayElapsed = (): void => {
    this.timer = undefined;
    if (!this.settled) this.start('delay');
  };

  private succeeded(attempt: Attempt, value: T): void {
    this.ended(attempt);
    if (this.settled) return;
    if (attempt.index > 0) this.hedge.counts.hedgeWins++;
    this.finish(new DOMException('another hedged attempt succeeded first', 'AbortError'));
    this.resolve(value);
  }

  private failed(attempt: Attempt, error: unknown): void {
    this.ended(attempt);
    if (this.settled) return;
    if (this.attempts.length <= this.hedge.maxHedges) {
      this.clearTimer();
      this.start('failure');
    } else if (this.running === 0) {
      this.finish(undefined);
      this.reject(error);
    }
  }

  private ended(attempt: Attempt): void {
    attempt.running = false;
    attempt.dispose();
    this.running--;
  }

  /** Settles: drops the timer and the caller's listener, aborts the attempts still running. */
  private finish(abortRunningWith: unknown): void {
    this.settled = true;
    this.clearTimer();
    if (this.ctx.signal !== neverAbortedSignal) this.ctx.signal.removeEventListener('abort', this);
    for (const attempt of this.attempts) {
      attempt.dispose();
      if (attempt.running) attempt.controller.abort(abortRunningWith);
    }
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.hedge.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** `hedge({ delayMs: 200, maxHedges: 2 })`: up to 3 attempts racing, each 200 ms after the last. */
export function hedge(options: HedgeOptions): Hedge {
  return new Hedge(options);
}
