// Time as a dependency: policies read `now()` and schedule through a Clock so tests can drive time.

export interface Clock {
  /** Milliseconds since the epoch (monotonic enough for intervals; injected in tests). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** What `Clock.setTimeout` returns; `ref`/`unref` are optional so fake clocks need not implement them. */
export interface TimerHandle {
  ref?(): unknown;
  unref?(): unknown;
}

export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface ManualClock extends Clock {
  /** Moves time forward, firing every timer that falls due, in order, with `now()` at its due time. */
  advance(ms: number): void;
  /** Moves time forward like `advance`, letting promise callbacks run between timers. */
  tickAsync(ms: number): Promise<void>;
  /** Number of timers scheduled and not yet fired or cleared. */
  readonly pendingTimers: number;
}

interface ManualTimer extends TimerHandle {
  dueAt: number;
  sequence: number;
  callback: () => void;
  cleared: boolean;
}

/** A clock that only moves when told to: for deterministic tests of time-dependent behaviour. */
export function manualClock(startMs = 0): ManualClock {
  let now = startMs;
  let sequence = 0;
  let timers: ManualTimer[] = [];

  const nextDue = (until: number): ManualTimer | undefined => {
    let next: ManualTimer | undefined;
    for (const timer of timers) {
      if (timer.cleared || timer.dueAt > until) continue;
      if (
        !next ||
        timer.dueAt < next.dueAt ||
        (timer.dueAt === next.dueAt && timer.sequence < next.sequence)
      ) {
        next = timer;
      }
    }
    return next;
  };
  const fire = (timer: ManualTimer) => {
    timer.cleared = true;
    timers = timers.filter((t) => !t.cleared);
    now = Math.max(now, timer.dueAt);
    timer.callback();
  };

  return {
    now: () => now,
    setTimeout(callback, ms) {
      const timer: ManualTimer = {
        dueAt: now + Math.max(0, ms),
        sequence: sequence++,
        callback,
        cleared: false,
        ref: () => timer,
        unref: () => timer,
      };
      timers.push(timer);
      return timer;
    },
    clearTimeout(handle) {
      const timer = handle as ManualTimer;
      if (!timer || timer.cleared) return;
      timer.cleared = true;
      timers = timers.filter((t) => !t.cleared);
    },
    advance(ms) {
      const until = now + ms;
      for (let timer = nextDue(until); timer; timer = nextDue(until)) fire(timer);
      now = until;
    },
    async tickAsync(ms) {
      const until = now + ms;
      await flushMicrotasks();
      for (let timer = nextDue(until); timer; timer = nextDue(until)) {
        fire(timer);
        await flushMicrotasks();
      }
      now = until;
      await flushMicrotasks();
    },
    get pendingTimers() {
      return timers.length;
    },
  };
}

async function flushMicrotasks(): Promise<void> {
  // A macrotask boundary lets every queued promise reaction (and their follow-ups) run.
  await new Promise<void>((resolve) => setImmediate(resolve));
}
