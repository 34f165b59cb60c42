// One shared deadline mechanism for every timeout on a clock: a single timer, armed for the earliest
// deadline, and per-duration FIFO lanes so that adding and removing a deadline is O(1) and a
// successful call creates no timer at all.

import { type Clock, systemClock, type TimerHandle } from './clock.ts';

/** A pending deadline; the subclass decides what expiry does. Linked into its lane while pending. */
export abstract class Deadline {
  deadlineAt = 0;
  /** @internal */ previous: Deadline | undefined = undefined;
  /** @internal */ next: Deadline | undefined = undefined;
  /** @internal */ lane: DeadlineLane | undefined = undefined;

  abstract expire(): void;
}

/**
 * Deadlines of one duration: since `now` never goes backwards, appending keeps the lane sorted, and
 * the head is always the first to expire.
 */
export class DeadlineLane {
  /** @internal */ head: Deadline | undefined = undefined;
  /** @internal */ tail: Deadline | undefined = undefined;
  readonly durationMs: number;
  private readonly scheduler: DeadlineScheduler;

  constructor(durationMs: number, clock: Clock = systemClock) {
    this.durationMs = durationMs;
    this.scheduler = DeadlineScheduler.for(clock);
  }

  /** Starts `deadline`'s countdown; it expires `durationMs` from now unless removed first. */
  add(deadline: Deadline): void {
    this.scheduler.add(this, deadline);
  }

  /** Stops the countdown; returns false if it had already expired or been removed. */
  remove(deadline: Deadline): boolean {
    if (deadline.lane !== this) return false;
    this.scheduler.remove(this, deadline);
    return true;
  }
}

class DeadlineScheduler {
  private static readonly byClock = new WeakMap<Clock, DeadlineScheduler>();

  static for(clock: Clock): DeadlineScheduler {
    let scheduler = DeadlineScheduler.byClock.get(clock);
    if (!scheduler) {
      scheduler = new DeadlineScheduler(clock);
      DeadlineScheduler.byClock.set(clock, scheduler);
    }
    return scheduler;
  }

  private readonly clock: Clock;
  private readonly lanes = new Set<DeadlineLane>();
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private pending = 0;
  private readonly onTimer = () => this.fire();

  private constructor(clock: Clock) {
    this.clock = clock;
  }

  add(lane: DeadlineLane, deadline: Deadline): void {
    const at = this.clock.now() + lane.durationMs;
    deadline.deadlineAt = at;
    deadline.lane = lane;
    deadline.next = undefined;
    deadline.previous = lane.tail;
    if (lane.tail) lane.tail.next = deadline;
    else {
      lane.head = deadline;
      this.lanes.add(lane);
    }
    lane.tail = deadline;

    if (this.pending++ === 0) this.timer?.ref?.();
    // The armed timer may be later than this deadline only when a shorter lane is involved.
    if (at < this.timerAt) this.arm(at);
  }

  remove(lane: DeadlineLane, deadline: Deadline): void {
    const { previous, next } = deadline;
    if (previous) previous.next = next;
    else lane.head = next;
    if (next) next.previous = previous;
    else lane.tail = previous;
    deadline.previous = deadline.next = deadline.lane = undefined;
    if (!lane.head) this.lanes.delete(lane);
    // The timer stays armed (it may fire early and find nothing due), but it no longer keeps the
    // process alive once nothing waits on it.
    if (--this.pending === 0) this.timer?.unref?.();
  }

  private arm(at: number): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(0, at - this.clock.now()));
    if (this.pending === 0) this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let earliest = Number.POSITIVE_INFINITY;
    for (const lane of this.lanes) {
      for (let head = lane.head; head && head.deadlineAt <= now; head = lane.head) {
        this.remove(lane, head);
        head.expire();
      }
      if (lane.head && lane.head.deadlineAt < earliest) earliest = lane.head.deadlineAt;
    }
    if (earliest !== Number.POSITIVE_INFINITY && earliest < this.timerAt) this.arm(earliest);
  }
}
