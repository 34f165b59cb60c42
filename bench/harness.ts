// Side-by-side micro-benchmarks: cases run in interleaved rounds in one process, and each case's
// median round is reported, so a noisy moment hurts every contender alike.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export interface Case {
  name: string;
  run: () => Promise<unknown>;
}

export interface Measured {
  name: string;
  nsPerCall: number;
}

export async function measure(
  cases: Case[],
  options: { calls?: number; rounds?: number } = {},
): Promise<Measured[]> {
  const calls = options.calls ?? 100_000;
  const rounds = options.rounds ?? 7;
  for (const c of cases) await loop(c.run, Math.min(calls, 20_000)); // warm up every contender first
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      const start = process.hrtime.bigint();
      await loop(c.run, calls);
      samples.get(c.name)!.push(Number(process.hrtime.bigint() - start) / calls);
    }
  }
  return cases.map((c) => ({ name: c.name, nsPerCall: median(samples.get(c.name)!) }));
}

async function loop(run: () => Promise<unknown>, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) await run();
}

/** The middle value (the upper one of an even count); NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Heap bytes retained per object made by `make`, measured over `count` live objects. */
export function heapBytesPerObject(make: () => unknown, count: number): number {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run with --expose-gc (npm run bench does)');
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) kept[i] = make();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (kept.length !== count) throw new Error('unreachable');
  return (after - before) / count;
}

/** Counts timers created by `setTimeout` while `body` runs. */
export async function countTimers(body: () => Promise<void>): Promise<number> {
  const original = globalThis.setTimeout;
  let created = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    created++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    await body();
  } finally {
    globalThis.setTimeout = original;
  }
  return created;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const lines = [headers, headers.map(() => '---'), ...rows.map((r) => r.map(String))];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export const format = {
  ns: (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} µs` : `${n.toFixed(0)} ns`),
  ratio: (n: number) => `${n >= 10 ? n.toFixed(0) : n.toFixed(2)}x`,
};

export interface Child<T> {
  /** What the child printed on its first line, as JSON (the ports it listens on). */
  readonly ready: T;
  readonly pid: number;
  stop(): void;
}

/**
 * Starts the bench file `file` again as a child process, `--child <args>`, and resolves once it
 * prints its first line: JSON saying it is ready.
 */
export function startChild<T>(file: string, args: readonly string[], nodeOptions: readonly string[] = []) {
  const childProcess = spawn(
    process.execPath,
    [...nodeOptions, '--conditions=source', file, '--child', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise<Child<T>>((resolve, reject) => {
    let output = '';
    childProcess.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code} before listening`)));
    childProcess.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) {
        resolve({
          ready: JSON.parse(line) as T,
          pid: childProcess.pid!,
          stop: () => stopProcess(childProcess),
        });
      }
    });
  });
}

/** SIGTERM, unless the process has ended already. */
export function stopProcess(childProcess: ChildProcess): void {
  if (childProcess.exitCode === null && childProcess.signalCode === null) childProcess.kill('SIGTERM');
}

/** User + system CPU time of a process, in clock ticks (1/100 s); 0 when it cannot be read (not Linux). */
export function cpuTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
