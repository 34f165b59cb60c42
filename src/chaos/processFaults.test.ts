import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, describe, it } from 'node:test';
import { InvalidOptionsError, manualClock } from '../policies/index.ts';
import {
  cpuPressure,
  isProcessSignalError,
  ProcessSignalError,
  killProcesses,
  memoryPressure,
  PAUSE_WATCHDOG_GRACE_MS,
  pauseProcesses,
} from './processFaults.ts';
import { until } from '../../test/support/waiting.ts';

const children: ChildProcess[] = [];

after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A child process that sleeps, once it is asleep (state S). */
async function sleeper(): Promise<ChildProcess & { pid: number }> {
  const child = spawn('sleep', ['120'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid;
  assert.ok(pid !== undefined);
  await until(() => stateOf(pid) === 'S', `process ${pid} asleep`, 5_000);
  return child as ChildProcess & { pid: number };
}

async function stopped(...pids: number[]): Promise<void> {
  await until(() => pids.every((pid) => stateOf(pid) === 'T'), `${pids.join(', ')} stopped`, 5_000);
}

/** The one-letter state of /proc/<pid>/stat: T when stopped, S when sleeping. */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
}

describe('killProcesses', () => {
  it('SIGKILLs every process by default and reports those already gone', async () => {
    const [first, second] = [await sleeper(), await sleeper()];
    const finished = await sleeper();
    finished.kill('SIGKILL');
    await exitOf(finished);
    const result = killProcesses([first.pid, second.pid, finished.pid]);
    assert.deepEqual(result, { signalled: [first.pid, second.pid], gone: [finished.pid] });
    assert.equal(await exitOf(first), 'SIGKILL');
    assert.equal(await exitOf(second), 'SIGKILL');
  });

  it('sends the signal it is given', async () => {
    const child = await sleeper();
    killProcesses([child.pid], 'SIGTERM');
    assert.equal(await exitOf(child), 'SIGTERM');
  });

  it('refuses process groups, init and anything that is not a pid, before signalling any', async () => {
    const child = await sleeper();
    assert.throws(
      () => killProcesses([child.pid, 0, -1, 1, 2.5, 'x' as never]),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        error.problems.length === 5 &&
        error.problems[0] === 'killProcesses.pids[1] must be a process id (an integer > 1), got 0',
    );
    assert.equal(stateOf(child.pid), 'S');
    assert.throws(() => killProcesses(5 as never), /killProcesses.pids must be an array/);
  });

  it('ProcessSignalError carries the pid, the signal and the cause, and its guard knows it', () => {
    // Tests run as root here, where EPERM cannot be provoked: the error is checked as built.
    const cause = Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    const error = new ProcessSignalError(4242, 'SIGSTOP', cause);
    assert.ok(isProcessSignalError(error));
    assert.equal(error.code, 'PROCESS_SIGNAL_FAILED');
    assert.deepEqual([error.pid, error.signal, error.cause], [4242, 'SIGSTOP', cause]);
    assert.equal(error.message, 'could not send SIGSTOP to process 4242: kill EPERM');
    assert.equal(isProcessSignalError(cause), false);
  });
});

describe('pauseProcesses', () => {
  it('stops the processes now and resumes them when the duration ends on the clock', async () => {
    const clock = manualClock();
    const [first, second] = [await sleeper(), await sleeper()];
    const pause = pauseProcesses([first.pid, second.pid], 5_000, { clock });
    await stopped(first.pid, second.pid);
    let ended = false;
    void pause.done.then(() => (ended = true));
    await clock.tickAsync(4_999);
    assert.equal(stateOf(first.pid), 'T');
    assert.equal(ended, false);
    await clock.tickAsync(1);
    assert.equal(ended, true);
    await until(() => stateOf(first.pid) === 'S' && stateOf(second.pid) === 'S', 'resumed', 5_000);
    assert.equal(clock.pendingTimers, 0);
  });

  it('stop() resumes at once, and is idempotent; processes already gone are skipped', async () => {
    const clock = manualClock();
    const child = await sleeper();
    const gone = await sleeper();
    gone.kill('SIGKILL');
    await exitOf(gone);
    const pause = pauseProcesses([child.pid, gone.pid], 60_000, { clock });
    await stopped(child.pid);
    pause.stop();
    pause.stop();
    await pause.done;
    await until(() => stateOf(child.pid) === 'S', 'resumed by stop()', 5_000);
    assert.equal(clock.pendingTimers, 0);
    await clock.tickAsync(60_000);
    assert.equal(stateOf(child.pid), 'S');
  });

  it('a stopped process still gets SIGKILL: a kill during a pause ends it', async () => {
    const child = await sleeper();
    const pause = pauseProcesses([child.pid], 60_000, { clock: manualClock() });
    killProcesses([child.pid]);
    assert.equal(await exitOf(child), 'SIGKILL');
    pause.stop();
    await pause.done;
  });

  it('the watchdog resumes the processes on its own when this process never does', async () => {
    // A clock that never moves stands for a runner that crashed: only the watchdog is left.
    const child = await sleeper();
    const began = Date.now();
    const pause = pauseProcesses([child.pid], 100, { clock: manualClock() });
    await stopped(child.pid);
    await until(() => stateOf(child.pid) === 'S', 'resumed by the watchdog', 10_000);
    assert.ok(
      Date.now() - began >= 100 + PAUSE_WATCHDOG_GRACE_MS - 50,
      'not before the pause plus its grace',
    );
    pause.stop();
    await pause.done;
  });

  it('without a watchdog, a real-clock pause still ends by itself', async () => {
    const child = await sleeper();
    const began = Date.now();
    const pause = pauseProcesses([child.pid], 150, { watchdog: false });
    await stopped(child.pid);
    await pause.done;
    assert.ok(Date.now() - began >= 140);
    await until(() => stateOf(child.pid) === 'S', 'resumed', 5_000);
  });

  it('refuses this process itself, bad pids and durations', () => {
    assert.throws(
      () => pauseProcesses([process.pid, -5], Number.POSITIVE_INFINITY),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'pauseProcesses.pids[1] must be a process id (an integer > 1), got -5',
          `pauseProcesses.pids must not include this process (${process.pid}): nothing would resume it`,
          'pauseProcesses.durationMs must be finite, got Infinity',
        ]);
        return true;
      },
    );
  });
});

describe('cpuPressure', () => {
  it('busy threads raise this process’s CPU time until stopped, then it stays flat', async () => {
    const clock = manualClock();
    const before = process.cpuUsage();
    const pressure = cpuPressure({ workers: 2, durationMs: 60_000, clock });
    try {
      // The main thread idles meanwhile, so CPU time can only come from the busy threads: on an idle
      // machine two of them pass 400 ms in about 200 ms; a machine busy with other work takes longer.
      await until(() => process.cpuUsage(before).user > 400_000, 'CPU time rising by 400 ms', 20_000);
    } finally {
      pressure.stop();
    }
    pressure.stop();
    await pressure.done;
    const afterStop = process.cpuUsage();
    await sleep(300);
    const idle = process.cpuUsage(afterStop);
    assert.ok(idle.user / 1000 < 150, `${idle.user / 1000} ms of user CPU after stop`);
    assert.equal(clock.pendingTimers, 0);
  });

  it('ends by itself after its duration', async () => {
    const clock = manualClock();
    const pressure = cpuPressure({ workers: 1, durationMs: 1_000, clock });
    try {
      let ended = false;
      void pressure.done.then(() => (ended = true));
      await clock.tickAsync(999);
      assert.equal(ended, false);
      await clock.tickAsync(1);
      await pressure.done;
      assert.equal(ended, true);
    } finally {
      pressure.stop();
    }
  });

  it('validates workers and duration', () => {
    assert.throws(
      () => cpuPressure({ workers: 0, durationMs: -1 }),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        error.problems.join('|') ===
          'cpuPressure.workers must be >= 1, got 0|cpuPressure.durationMs must be >= 0, got -1',
    );
  });
});

describe('memoryPressure', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const MB = 1024 * 1024;

  it('holds resident memory for its duration and gives it back once stopped', async () => {
    gc();
    const before = process.memoryUsage.rss();
    const pressure = memoryPressure({ mb: 256, durationMs: 60_000 });
    const during = process.memoryUsage.rss();
    assert.ok(during - before > 240 * MB, `rss rose by ${Math.round((during - before) / MB)} MB only`);
    pressure.stop();
    pressure.stop();
    await pressure.done;
    await until(
      () => {
        gc();
        return process.memoryUsage.rss() - before < 64 * MB;
      },
      'rss back near where it was',
      10_000,
    );
  });

  it('ends by itself after its duration on the clock', async () => {
    const clock = manualClock();
    const pressure = memoryPressure({ mb: 1, durationMs: 500, clock });
    assert.equal(clock.pendingTimers, 1);
    clock.advance(500);
    await pressure.done;
    assert.equal(clock.pendingTimers, 0);
  });

  it('validates the size', () => {
    assert.throws(
      () => memoryPressure({ mb: 1.5, durationMs: 10 }),
      /memoryPressure.mb must be an integer, got 1.5/,
    );
  });
});
