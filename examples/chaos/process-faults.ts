// Process faults on running processes (a replica's pids): kill, pause for a while, and CPU and
// memory pressure beside them. Every fault but a kill ends by itself; `stop()` ends it early.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuPressure, killProcesses, memoryPressure, pauseProcesses } from 'rebound/chaos';

/** Three stand-in replicas: processes that idle until they are told otherwise. */
const replicas: ChildProcess[] = Array.from({ length: 3 }, () =>
  spawn(process.execPath, ['-e', 'setInterval(() => {}, 1_000)'], { stdio: 'ignore' }),
);
const pids = replicas.map((replica) => replica.pid!);

/** Linux's view of a process: S sleeping, R running, T stopped. */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0]!;
}

/** Waits until Linux shows the process in `state` (signals take effect when it is next scheduled). */
async function until(pid: number, state: (value: string) => boolean): Promise<void> {
  for (let waited = 0; !state(stateOf(pid)); waited += 10) {
    assert.ok(waited < 5_000, `process ${pid} still in state ${stateOf(pid)}`);
    await sleep(10);
  }
}

// Kill one replica (SIGKILL unless told otherwise).
const exited = new Promise((resolve) => replicas[0]!.once('exit', (_code, signal) => resolve(signal)));
assert.deepEqual(killProcesses([pids[0]!]), { signalled: [pids[0]], gone: [] });
assert.equal(await exited, 'SIGKILL');
console.log(`killed replica ${pids[0]}: it exited with SIGKILL`);

// Pause another for 300 ms: SIGSTOP now, SIGCONT when the time is up.
const pause = pauseProcesses([pids[1]!], 300);
await until(pids[1]!, (state) => state === 'T');
console.log(`paused replica ${pids[1]}: state ${stateOf(pids[1]!)} (stopped)`);
await pause.done;
await until(pids[1]!, (state) => state !== 'T');
console.log(`after 300 ms it runs again: state ${stateOf(pids[1]!)}`);

// Two busy threads for up to 10 s: this process's CPU time rises by up to two cores' worth while
// its main thread idles. Stopped once 500 ms of CPU are used (about 250 ms on an idle machine).
const before = process.cpuUsage();
const started = Date.now();
const cpu = cpuPressure({ workers: 2, durationMs: 10_000 });
while (process.cpuUsage(before).user < 500_000) await sleep(10);
cpu.stop();
await cpu.done;
console.log(`cpu pressure, 2 workers: 500 ms of CPU used in ${Date.now() - started} ms of wall time`);

// 128 MiB held and resident until stop() (or the end of its 10 s).
const rssBefore = process.memoryUsage.rss();
const memory = memoryPressure({ mb: 128, durationMs: 10_000 });
const grownMb = Math.round((process.memoryUsage.rss() - rssBefore) / 1024 / 1024);
assert.ok(grownMb >= 120);
memory.stop();
await memory.done;
console.log(`memory pressure of 128 MiB: rss grew by ${grownMb} MiB, released at stop()`);

killProcesses(pids.slice(1));
