// The kill -9 crash harness for durable workflows: spawns workflowChild.ts processes, kills them with
// SIGKILL at random points, lets another process finish the work, then checks the store against what
// the children reported: no recorded step lost, none run again after it was recorded, all finished.

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type StepRecord, type Store } from '../../src/store/index.ts';
import type { ChildConfig, CrashOutput } from './workflowChild.ts';

const CHILD = join(import.meta.dirname, 'workflowChild.ts');

export interface Child {
  readonly name: string;
  readonly process: ChildProcessWithoutNullStreams;
  /** Step records the child reported durable, in the order reported. */
  readonly reported: StepRecord[];
  /** Resolves once the child printed READY. */
  readonly ready: Promise<void>;
  /** Resolves when the first step record is reported. */
  readonly firstRecord: Promise<void>;
  /** Exit code and signal, once it exited (its stdout fully read). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  done: boolean;
  stderr: string;
}

export function spawnChild(name: string, config: ChildConfig): Child {
  const child = spawn(process.execPath, ['--conditions=source', CHILD, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let markReady!: () => void;
  let markFirst!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const firstRecord = new Promise<void>((resolve) => (markFirst = resolve));
  const state: Child = {
    name,
    process: child,
    reported: [],
    ready,
    firstRecord,
    done: false,
    stderr: '',
    exited: undefined as never,
  };
  let buffered = '';
  const onLine = (line: string) => {
    if (line === 'READY') markReady();
    else if (line.startsWith('R ')) {
      state.reported.push(JSON.parse(line.slice(2)) as StepRecord);
      markFirst();
    } else if (line.startsWith('DONE ')) state.done = true;
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (state.stderr += chunk));
  // Never let a write to a dead child's stdin crash the parent.
  child.stdin.on('error', () => undefined);
  (state as { exited: Child['exited'] }).exited = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      // A child that dies before READY must not leave its waiters hanging.
      markReady();
      markFirst();
      resolve({ code, signal });
    });
  });
  return state;
}

export function randomBetween(min: number, max: number, random: () => number = Math.random): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Waits for the child to finish on its own, within `timeoutMs`, and asserts it succeeded. */
export async function finishes(child: Child, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    child.exited,
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.process.kill('SIGKILL');
    await child.exited;
    assert.fail(`${child.name} did not finish within ${timeoutMs} ms; stderr:\n${child.stderr}`);
  }
  assert.equal(
    outcome.code,
    0,
    `${child.name} exited with ${outcome.code ?? outcome.signal}; stderr:\n${child.stderr}`,
  );
  assert.ok(child.done, `${child.name} exited without DONE`);
}

export async function kill(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

export interface Verdict {
  /** Workflows checked. */
  workflows: number;
  /** Step executions in the side-effect log. */
  executions: number;
  /** Executions beyond one per step: steps that ran, were killed before their record committed, and ran again. */
  reruns: number;
  /** Steps the killed process(es) had recorded. */
  recordedBeforeKill: number;
}

const checksum = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Checks the store after every child exited: each workflow succeeded with `steps` recorded steps and
 * the tokens of those steps as output; every step a child reported is stored unchanged; and for every
 * step the recorded token is the last execution of that step in the side-effect log.
 */
export async function verify(options: {
  storeUrl: string;
  ids: readonly string[];
  steps: number;
  log: string;
  children: readonly Child[];
  killed: readonly Child[];
}): Promise<Verdict> {
  const executions = new Map<string, string[]>();
  let total = 0;
  for (const line of readFileSync(options.log, 'utf8').split('\n')) {
    if (line === '') continue;
    const [workflowId, position, token, extra] = line.split(' ');
    assert.ok(
      workflowId && position && token && extra === undefined,
      `malformed log line ${JSON.stringify(line)}`,
    );
    const key = `${workflowId}#${position}`;
    executions.set(key, [...(executions.get(key) ?? []), token]);
    total++;
  }

  const store: Store = await openStore(options.storeUrl);
  try {
    const stored = new Map<string, StepRecord>();
    for (const id of options.ids) {
      const workflow = await store.workflows.get(id);
      assert.ok(workflow, `workflow ${id} was never created`);
      assert.equal(workflow.status, 'succeeded', `workflow ${id} is ${workflow.status}: ${workflow.error}`);
      const steps = await store.workflows.steps(id);
      assert.deepEqual(
        steps.map((step) => [step.position, step.name, step.status]),
        Array.from({ length: options.steps }, (_, position) => [position, `step-${position}`, 'succeeded']),
        `steps of ${id}`,
      );
      const tokens: string[] = [];
      for (const step of steps) {
        assert.equal(step.checksum, checksum(step.output), `checksum of ${id}#${step.position}`);
        const output = JSON.parse(step.output) as CrashOutput;
        assert.equal(output.position, step.position);
        tokens.push(output.token);
        const key = `${id}#${step.position}`;
        stored.set(key, step);
        const ran = executions.get(key) ?? [];
        assert.ok(ran.includes(output.token), `${key}: recorded token ${output.token} never executed`);
        assert.equal(
          ran.at(-1),
          output.token,
          `${key} ran again after it was recorded: executions ${ran.join(', ')}, recorded ${output.token}`,
        );
      }
      assert.deepEqual(JSON.parse(workflow.output ?? 'null'), tokens, `output of ${id}`);
    }

    for (const child of options.children) {
      for (const reported of child.reported) {
        const key = `${reported.workflowId}#${reported.position}`;
        const step = stored.get(key);
        assert.ok(step, `${child.name} reported ${key} recorded, but the store has no such step`);
        assert.equal(step.output, reported.output, `${key}: the stored output differs from the reported one`);
        assert.equal(step.checksum, reported.checksum, `${key}: checksum differs`);
        assert.equal(step.name, reported.name);
      }
    }
    return {
      workflows: options.ids.length,
      executions: total,
      reruns: total - options.ids.length * options.steps,
      recordedBeforeKill: options.killed.reduce((sum, child) => sum + child.reported.length, 0),
    };
  } finally {
    await store.close();
  }
}

export function runId(): string {
  return randomBytes(4).toString('hex');
}

/** Runs `tasks` with at most `limit` in flight; rejects with the first failure after all settled. */
export async function inParallel<T>(limit: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: PromiseSettledResult<T>[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await tasks[index]!() };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}
