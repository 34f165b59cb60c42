// Operating-system helpers of the supervisor: free ports, signals to a replica's process group,
// and reading /proc to tell whether a recorded pid is still the process rebound started.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * A port nothing listens on now and not in `avoid` (ports promised to something that has not bound
 * them yet): bind port 0, read the port the kernel chose, close; again if it is one to avoid.
 */
export async function freePort(host: string, avoid?: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await anyFreePort(host);
    if (!avoid?.has(port)) return port;
  }
  throw new Error(`no free port on ${host} outside the ${avoid!.size} reserved`);
}

function anyFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no free port on ${host}`))));
    });
  });
}

/**
 * Sends `signal` to the process group the replica leads (replicas are spawned detached, so they
 * lead their own group and whatever they start goes down with them), or to the process alone if
 * it leads no group. False when there was no such process.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') return false;
    }
  }
  return false;
}

/** True while `pid` is a live process (not a zombie waiting to be reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = processState(pid);
  return state !== 'Z' && state !== 'X';
}

/** The one-letter state of /proc/<pid>/stat (R, S, T, Z, …); undefined without /proc. */
function processState(pid: number): string | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  // `pid (comm) state …`: comm may hold spaces and parentheses, so read after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
}

/** The process's arguments from /proc/<pid>/cmdline; undefined without /proc or once it is gone. */
export function commandLineOf(pid: number): string[] | undefined {
  const text = readProc(pid, 'cmdline');
  if (text === undefined) return undefined;
  const words = text.split('\0');
  if (words.at(-1) === '') words.pop();
  return words;
}

/**
 * Whether a live process runs the recorded command: the same arguments, and an executable of the
 * same name (the kernel may show `node` where the config said `/usr/bin/node`, or the reverse).
 */
export function runsCommand(pid: number, argv: readonly string[]): boolean {
  const actual = commandLineOf(pid);
  if (actual === undefined || actual.length !== argv.length || argv.length === 0) return false;
  if (basename(actual[0]!) !== basename(argv[0]!)) return false;
  return actual.every((word, index) => index === 0 || word === argv[index]);
}

/** Resident memory of a process in bytes (VmRSS of /proc/<pid>/status); undefined when unknown. */
export function residentMemoryBytes(pid: number): number | undefined {
  const status = readProc(pid, 'status');
  const match = status === undefined ? null : /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined;
  }
}

/** Calls `line` with every complete line the stream writes (and the unterminated rest at its end). */
export function forwardLines(stream: Readable, line: (text: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop()!;
    for (const part of parts) line(part.endsWith('\r') ? part.slice(0, -1) : part);
  });
  stream.on('end', () => {
    if (pending !== '') line(pending);
    pending = '';
  });
  stream.on('error', () => {});
}
