// Health probes of a replica (http, tcp, exec): one check, bounded by its timeout, never throwing.

import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { HealthProbe } from './configTypes.ts';

export interface ProbeResult {
  ok: boolean;
  /** Why, in a few words: `HTTP 200`, `timed out after 1000 ms`, `connect ECONNREFUSED …`. */
  detail: string;
  durationMs: number;
}

/** Where the replica listens; exec probes also run in its directory with its environment. */
export interface ProbeTarget {
  host: string;
  port: number;
  /** Working directory of an exec probe (the service's). */
  cwd?: string;
  /** Extra environment of an exec probe (the service's); PORT and HOST are always added. */
  env?: Readonly<Record<string, string>>;
}

/** A health body beyond this is not kept: the probe needs a status and a few top-level fields. */
const MAX_BODY_BYTES = 64 * 1024;
/** How much of an exec probe's output a failed result quotes. */
const MAX_OUTPUT_CHARS = 200;

/**
 * Runs one probe. It resolves (never rejects) with `ok: false` on any failure, including the
 * timeout and an abort through `signal`, so a caller needs no error handling of its own.
 */
export function probe(spec: HealthProbe, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const startedAt = performance.now();
  const finish = (ok: boolean, detail: string): ProbeResult => ({
    ok,
    detail,
    durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
  });
  if (signal?.aborted) return Promise.resolve(finish(false, 'aborted'));
  switch (spec.kind) {
    case 'http':
      return httpProbe(spec, target, finish, signal);
    case 'tcp':
      return tcpProbe(spec.timeoutMs, target, finish, signal);
    case 'exec':
      return execProbe(spec, target, finish, signal);
  }
}

type Finish = (ok: boolean, detail: string) => ProbeResult;

/**
 * Settles once: the first of the outcome, the timeout and the abort wins; `cleanup` releases the
 * socket or process whichever it was.
 */
function bounded(
  timeoutMs: number,
  finish: Finish,
  signal: AbortSignal | undefined,
  body: (settle: (ok: boolean, detail: string) => void) => () => void,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let cleanup: () => void = () => {};
    const settle = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup();
      resolve(finish(ok, detail));
    };
    const onAbort = () => settle(false, 'aborted');
    // A probe runs at most once per interval per replica, so a timer of its own costs nothing.
    const timer = setTimeout(() => settle(false, `timed out after ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = body(settle);
    if (settled) cleanup();
  });
}

function httpProbe(
  spec: Extract<HealthProbe, { kind: 'http' }>,
  target: ProbeTarget,
  finish: Finish,
  signal: AbortSignal | undefined,
): Promise<ProbeResult> {
  return bounded(spec.timeoutMs, finish, signal, (settle) => {
    // A fresh connection every time (no agent, no keep-alive): a pooled socket could hide that the
    // process stopped accepting, and a stopped process must fail the probe by its timeout.
    const req = request({
      host: target.host,
      port: target.port,
      path: spec.path,
      method: 'GET',
      agent: false,
      headers: { connection: 'close', accept: 'application/json, */*' },
    });
    req.on('error', (error) => settle(false, describeError(error)));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const [low, high] = spec.expectStatus;
      if (status < low || status > high) {
        res.resume();
        settle(false, `HTTP ${status} (expected ${low === high ? low : `${low}-${high}`})`);
        return;
      }
      if (!spec.expectJson) {
        res.resume();
        settle(true, `HTTP ${status}`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('error', (error) => settle(false, describeError(error)));
      res.on('end', () => {
        const mismatch = jsonMismatch(Buffer.concat(chunks).toString('utf8'), spec.expectJson!);
        settle(mismatch === undefined, mismatch ?? `HTTP ${status}, body as expected`);
      });
    });
    req.end();
    return () => req.destroy();
  });
}

/** Why the body does not carry the expected top-level fields; undefined when it does. */
function jsonMismatch(text: string, expected: Readonly<Record<string, unknown>>): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `body is not JSON: ${quote(text)}`;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return `body is not a JSON object: ${quote(text)}`;
  }
  for (const [field, value] of Object.entries(expected)) {
    const actual = (body as Record<string, unknown>)[field];
    if (!isDeepStrictEqual(actual, value)) {
      return `body field ${field} is ${actual === undefined ? 'missing' : JSON.stringify(actual)}, expected ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}

function tcpProbe(
  timeoutMs: number,
  target: ProbeTarget,
  finish: Finish,
  signal: AbortSignal | undefined,
): Promise<ProbeResult> {
  return bounded(timeoutMs, finish, signal, (settle) => {
    const socket = connect({ host: target.host, port: target.port });
    socket.on('connect', () => settle(true, `connected to ${target.host}:${target.port}`));
    socket.on('error', (error) => settle(false, describeError(error)));
    return () => socket.destroy();
  });
}

function execProbe(
  spec: Extract<HealthProbe, { kind: 'exec' }>,
  target: ProbeTarget,
  finish: Finish,
  signal: AbortSignal | undefined,
): Promise<ProbeResult> {
  return bounded(spec.timeoutMs, finish, signal, (settle) => {
    let output = '';
    // Run directly, never through a shell: the argv comes from the config file.
    const child = spawn(spec.argv[0]!, spec.argv.slice(1), {
      cwd: target.cwd,
      env: { ...process.env, ...target.env, PORT: String(target.port), HOST: target.host },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT_CHARS) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => settle(false, describeError(error)));
    // 'close', not 'exit': the output the command wrote before exiting has arrived by then.
    child.on('close', (code, exitSignal) => {
      const said = output.trim() === '' ? '' : `: ${quote(output.trim())}`;
      if (code === 0) settle(true, 'exit 0');
      else settle(false, `${code === null ? `killed by ${exitSignal}` : `exit ${code}`}${said}`);
    });
    // On timeout or abort the command is killed: a stuck probe must not pile up behind the next one.
    return () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
  });
}

function describeError(error: Error): string {
  return error.message || (error as NodeJS.ErrnoException).code || String(error);
}

function quote(text: string): string {
  const short = text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}…` : text;
  return JSON.stringify(short);
}
