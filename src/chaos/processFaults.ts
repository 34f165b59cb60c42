// Process faults: kill processes, pause them (SIGSTOP, then SIGCONT), put the host under CPU or
// memory pressure; every fault but a kill ends by itself after its duration.

import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { type Clock, OptionProblems, ReboundError, systemClock, hasErrorCode } from '../policies/index.ts';

/** A running fault. */
export interface ProcessFault {
  /** Resolves once the fault has ended: at the end of its duration, or at `stop()`. */
  readonly done: Promise<void>;
  /** Ends the fault now; calling it again, or after the fault has ended, does nothing. */
  stop(): void;
}

export interface KillResult {
  /** The processes the signal was delivered to. */
  signalled: number[];
  /** The processes that no longer existed. */
  gone: number[];
}

export interface PauseOptions {
  /** Default `systemClock`. */
  clock?: Clock;
  /**
   * A detached shell that sends SIGCONT itself `PAUSE_WATCHDOG_GRACE_MS` after the pause should
   * have ended, so a pause outlives no crash of this process. Default true.
   */
  watchdog?: boolean;
}

export interface CpuPressureOptions {
  /** Busy threads, each keeping one core at 100%. */
  workers: number;
  durationMs: number;
  /** Default `systemClock`. */
  clock?: Clock;
}

export interface MemoryPressureOptions {
  /** Mebibytes held, every page written so they are resident. */
  mb: number;
  durationMs: number;
  /** Default `systemClock`. */
  clock?: Clock;
}

export const PAUSE_WATCHDOG_GRACE_MS = 1_000;

/** setTimeout's own limit: a longer duration would fire at once. */
const MAX_DURATION_MS = 2_147_483_647;

/** Chunks this large are mmapped by the allocator, so freeing them gives the memory back at once. */
const MEMORY_CHUNK_MB = 64;

/** A process could not be signalled (other than because it is gone): most often EPERM. */
export class ProcessSignalError extends ReboundError {
  readonly pid: number;
  readonly signal: NodeJS.Signals;

  constructor(pid: number, signal: NodeJS.Signals, cause: unknown) {
    super(
      'PROCESS_SIGNAL_FAILED',
      `could not send ${signal} to process ${pid}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.pid = pid;
    this.signal = signal;
  }
}

export const isProcessSignalError = (error: unknown): error is ProcessSignalError =>
  hasErrorCode(error, 'PROCESS_SIGNAL_FAILED');

/** Sends `signal` (default SIGKILL) to each process; a process already gone is reported, not an error. */
export function killProcesses(pids: readonly number[], signal: NodeJS.Signals = 'SIGKILL'): KillResult {
  const problems = new OptionProblems();
  checkPids(problems, 'killProcesses.pids', pids);
  problems.nonEmptyString('killProcesses.signal', signal, false);
  problems.throwIfAny();
  const result: KillResult = { signalled: [], gone: [] };
  for (const pid of pids) (send(pid, signal) ? result.signalled : result.gone).push(pid);
  return result;
}

/**
 * Stops each process (SIGSTOP) now and resumes it (SIGCONT) after `durationMs` on the clock, or at
 * `stop()`. Processes already gone are skipped; if one cannot be stopped, those already stopped are
 * resumed and the error is thrown.
 */
export function pauseProcesses(
  pids: readonly number[],
  durationMs: number,
  options: PauseOptions = {},
): ProcessFault {
  const problems = new OptionProblems();
  checkPids(problems, 'pauseProcesses.pids', pids);
  if (Array.isArray(pids) && pids.includes(process.pid)) {
    problems.add(
      `pauseProcesses.pids must not include this process (${process.pid}): nothing would resume it`,
    );
  }
  checkDuration(problems, 'pauseProcesses.durationMs', durationMs);
  problems.clock('pauseProcesses.clock', options.clock);
  problems.throwIfAny();
  const clock = options.clock ?? systemClock;

  // The watchdog first: a crash between the SIGSTOP and its start would leave nobody to resume them.
  const watchdog =
    options.watchdog !== false && pids.length > 0 ? startWatchdog(pids, durationMs) : undefined;
  const stopped: number[] = [];
  try {
    for (const pid of pids) if (send(pid, 'SIGSTOP')) stopped.push(pid);
  } catch (error) {
    resume(stopped);
    endWatchdog(watchdog);
    throw error;
  }
  return boundedFault(clock, durationMs, () => {
    resume(stopped);
    endWatchdog(watchdog);
  });
}

/** Keeps `workers` threads busy for `durationMs`, raising this process's CPU use by as many cores. */
export function cpuPressure(options: CpuPressureOptions): ProcessFault {
  const problems = new OptionProblems();
  problems.number('cpuPressure.workers', options?.workers, { min: 1, integer: true, finite: true });
  checkDuration(problems, 'cpuPressure.durationMs', options?.durationMs);
  problems.clock('cpuPressure.clock', options?.clock);
  problems.throwIfAny();

  const threads: Worker[] = [];
  for (let index = 0; index < options.workers; index++) {
    const worker = new Worker('for (;;) {}', { eval: true, name: `rebound cpu pressure ${index + 1}` });
    // terminate() is how the thread ends; it is not a failure worth a crash.
    worker.on('error', () => {});
    threads.push(worker);
  }
  const exited = Promise.all(threads.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
  const fault = boundedFault(options.clock ?? systemClock, options.durationMs, () => {
    for (const worker of threads) void worker.terminate();
  });
  // `done` waits for the threads to be gone, so the CPU is free once it resolves.
  return { done: fault.done.then(() => exited).then(() => undefined), stop: fault.stop };
}

/** Holds `mb` mebibytes, written so they are resident, for `durationMs`; they are released at the end. */
export function memoryPressure(options: MemoryPressureOptions): ProcessFault {
  const problems = new OptionProblems();
  problems.number('memoryPressure.mb', options?.mb, { min: 1, integer: true, finite: true });
  checkDuration(problems, 'memoryPressure.durationMs', options?.durationMs);
  problems.clock('memoryPressure.clock', options?.clock);
  problems.throwIfAny();

  const held: Buffer[] = [];
  for (let left = options.mb; left > 0; left -= MEMORY_CHUNK_MB) {
    // Outside the V8 heap, so the pressure is on the host, not on this process's heap limit.
    const chunk = Buffer.allocUnsafeSlow(Math.min(left, MEMORY_CHUNK_MB) * 1024 * 1024);
    chunk.fill(0xa5);
    held.push(chunk);
  }
  return boundedFault(options.clock ?? systemClock, options.durationMs, () => {
    // Dropping the references lets the next collection free the memory.
    held.length = 0;
  });
}

/** A fault that `end` finishes, once: after `durationMs` on the clock, or at `stop()`. */
function boundedFault(clock: Clock, durationMs: number, end: () => void): ProcessFault {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let ended = false;
  const stop = (): void => {
    if (ended) return;
    ended = true;
    clock.clearTimeout(timer);
    try {
      end();
    } finally {
      finish();
    }
  };
  const timer = clock.setTimeout(stop, durationMs);
  return { done, stop };
}

/** Sends a signal; false when the process is gone. */
function send(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new ProcessSignalError(pid, signal, error);
  }
}

function resume(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Gone meanwhile: nothing left to resume.
    }
  }
}

/** A shell in its own process group that resumes the processes after the pause plus a grace period. */
function startWatchdog(pids: readonly number[], durationMs: number): number | undefined {
  const seconds = ((durationMs + PAUSE_WATCHDOG_GRACE_MS) / 1000).toFixed(3);
  const child = spawn('/bin/sh', ['-c', `sleep ${seconds}; kill -CONT ${pids.join(' ')} 2>/dev/null`], {
    detached: true,
    stdio: 'ignore',
  });
  // A missing shell leaves the pause bounded by this process alone: not a reason to fail it.
  child.on('error', () => {});
  child.unref();
  return child.pid;
}

function endWatchdog(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already done.
  }
}

function checkPids(problems: OptionProblems, path: string, pids: unknown): void {
  if (!Array.isArray(pids)) {
    problems.add(`${path} must be an array of process ids, got ${String(pids)}`);
    return;
  }
  pids.forEach((pid: unknown, index) => {
    // 0 and negative ids name process groups, 1 is init: never a target.
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1) {
      problems.add(`${path}[${index}] must be a process id (an integer > 1), got ${String(pid)}`);
    }
  });
}

function checkDuration(problems: OptionProblems, path: string, value: unknown): void {
  problems.number(path, value, { min: 0, max: MAX_DURATION_MS, finite: true });
}
