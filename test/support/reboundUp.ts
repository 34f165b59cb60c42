// `rebound up` as a user runs it, for the end-to-end tests: a real child process on a config file
// written to a temp directory, talked to over its HTTP API, stopped with a signal.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { ReplicaView, ServiceView } from '../../src/healing/controlPlaneTypes.ts';
import { freePort as freePortOn } from '../../src/healing/processes.ts';
import { until } from './waiting.ts';

export const root = resolve(import.meta.dirname, '..', '..');

/** A free loopback port (bound, then released: good enough on a test machine). */
export const freePort = (): Promise<number> => freePortOn('127.0.0.1');

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export interface RunningRebound {
  readonly url: string;
  readonly child: ChildProcess;
  readonly directory: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  api<T = any>(
    path: string,
    init?: { method?: string; body?: unknown; token?: string },
  ): Promise<ApiAnswer<T>>;
  /** SIGTERM (or the given signal) and the exit code; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Removes the temp directory (after stop). */
  cleanup(): void;
}

const started: RunningRebound[] = [];

/**
 * Stops every `rebound up` this test process started (SIGTERM: each stops its replicas; a SIGKILL
 * would leave them behind) and removes their temp directories; for `after(stopStarted)`.
 */
export async function stopStarted(): Promise<void> {
  for (const rebound of started.splice(0)) {
    await rebound.stop('SIGTERM');
    rebound.cleanup();
  }
}

export interface ReboundUpOptions {
  /** Reuse a directory (and so its store) of an earlier run. */
  directory?: string;
  /** Placeholders replaced in the config: `${PORT}` → the API port, `${DIR}` → the temp directory. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** Writes `config` (with `${DIR}` and `${API_PORT}` filled in) and runs `rebound up` on it. */
export async function reboundUp(config: string, options: ReboundUpOptions = {}): Promise<RunningRebound> {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'rebound-up-'));
  const apiPort = await freePort();
  const file = join(directory, 'rebound.yaml');
  writeFileSync(file, config.replaceAll('${DIR}', directory).replaceAll('${API_PORT}', String(apiPort)));
  const child = spawn(
    process.execPath,
    ['--conditions=source', join(root, 'src/cli/main.ts'), 'up', '--config', file],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // `node` in a service's command is this Node, as under npm scripts.
      env: {
        ...process.env,
        ...options.env,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
      },
    },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  await until(
    () => output.includes('dashboard and API at') || exitCode !== undefined,
    'rebound up to start',
    options.startTimeoutMs ?? 20_000,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- output ---\n${output}`);
  });
  if (exitCode !== undefined) throw new Error(`rebound up exited with ${exitCode}:\n${output}`);
  const url = /dashboard and API at (\S+)/.exec(output)![1]!;

  const rebound: RunningRebound = {
    url,
    child,
    directory,
    output: () => output,
    async api(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      const response = await fetch(`${url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON (/metrics): the text itself.
      }
      return { status: response.status, body: body as any };
    },
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    cleanup() {
      if (!options.directory) rmSync(directory, { recursive: true, force: true });
    },
  };
  started.push(rebound);
  return rebound;
}

/** A service's replicas as the API lists them. */
export async function replicas(rebound: RunningRebound, service: string): Promise<ReplicaView[]> {
  const { status, body } = await rebound.api<ServiceView>(`/api/services/${service}`);
  assert.equal(status, 200, `GET /api/services/${service}`);
  return body.replicas;
}

/** The pids of a service's healthy replicas. */
export async function healthyPids(rebound: RunningRebound, service: string): Promise<number[]> {
  return (await replicas(rebound, service)).filter((r) => r.state === 'healthy' && r.pid).map((r) => r.pid!);
}

/** Waits until `service` is healthy, or every service when none is named. */
export async function untilHealthy(
  rebound: RunningRebound,
  service?: string,
  timeoutMs = 15_000,
): Promise<void> {
  await until(
    async () => {
      if (service !== undefined) {
        return (await rebound.api<ServiceView>(`/api/services/${service}`)).body.state === 'healthy';
      }
      const { services } = (await rebound.api<{ services: ServiceView[] }>('/api/services')).body;
      return services.every((view) => view.state === 'healthy');
    },
    service === undefined ? 'every service healthy' : `${service} healthy`,
    timeoutMs,
  );
}

/** Runs the `rebound` CLI (from source) as a user would; resolves with its exit code and output. */
export function runCli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', join(root, 'src/cli/main.ts'), ...args], {
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
