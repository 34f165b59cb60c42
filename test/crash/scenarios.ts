// The crash scenarios the tests and the soak script run: SQLite (one executor killed, a fresh
// process recovers) and PostgreSQL (two executors on one database, one killed, the other finishes).

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Child, finishes, kill, randomBetween, spawnChild, verify, type Verdict } from './harness.ts';

export interface CrashRun extends Verdict {
  run: number;
  /** How long after its anchor (READY, or the first recorded step) each killed child was killed. */
  killedAfterMs: number[];
  anchor: 'ready' | 'first-record';
  /** Steps in the whole run: the kill landed mid-run when 0 < recordedBeforeKill < totalSteps. */
  totalSteps: number;
}

export interface SqliteCrashOptions {
  directory: string;
  run: number;
  /** Workflows the killed child runs concurrently. Default 4. */
  workflows?: number;
  /** Steps per workflow. Default 10. */
  steps?: number;
  /** The kill comes this long after the anchor, uniformly at random. Default [5, 150]. */
  killAfterMs?: readonly [number, number];
  /** Each step waits up to this long before and after its side effect. Default 12 (a workflow lasts ~150 ms). */
  stepDelayMs?: number;
  /** How long the recovering child may take. Default 60 s. */
  finishWithinMs?: number;
}

/**
 * One SQLite crash run: a child runs `workflows` workflows of `steps` steps on a fresh file and is
 * killed with SIGKILL after a random delay; every 5th run the first recovering child is killed too;
 * then a last child recovers and finishes everything. Every 3rd run the recovering children use the
 * killed one's executor id (a restart of the same executor); otherwise the dead pid is noticed.
 */
export async function sqliteCrashRun(options: SqliteCrashOptions): Promise<CrashRun> {
  const { directory, run } = options;
  const workflows = options.workflows ?? 4;
  const steps = options.steps ?? 10;
  const [minMs, maxMs] = options.killAfterMs ?? [5, 150];
  const storeUrl = `sqlite:${join(directory, `run-${run}.db`)}`;
  const log = join(directory, `run-${run}.log`);
  const ids = Array.from({ length: workflows }, (_, index) => `run-${run}-wf-${index}`);
  const executorId = run % 3 === 0 ? `executor-of-run-${run}` : undefined;
  const anchor = run % 2 === 0 ? 'ready' : 'first-record';
  const base = {
    storeUrl,
    ids,
    steps,
    log,
    stepDelayMs: options.stepDelayMs ?? 12,
    ...(executorId !== undefined && { executorId }),
  };

  const children: Child[] = [];
  const killed: Child[] = [];
  const killedAfterMs: number[] = [];
  const killLater = async (child: Child) => {
    await child.ready;
    if (anchor === 'first-record') await child.firstRecord;
    const delay = randomBetween(minMs, maxMs);
    await sleep(delay);
    killedAfterMs.push(delay);
    killed.push(child);
    await kill(child);
  };

  const victim = spawnChild(`run ${run} victim`, { ...base, role: 'run' });
  children.push(victim);
  await killLater(victim);
  if (run % 5 === 4) {
    const second = spawnChild(`run ${run} first recoverer`, { ...base, role: 'recover' });
    children.push(second);
    await killLater(second);
  }
  const recoverer = spawnChild(`run ${run} recoverer`, { ...base, role: 'recover' });
  children.push(recoverer);
  await finishes(recoverer, options.finishWithinMs ?? 60_000);

  const verdict = await verify({ storeUrl, ids, steps, log, children, killed });
  return { ...verdict, run, killedAfterMs, anchor, totalSteps: workflows * steps };
}

export interface PostgresCrashOptions {
  url: string;
  directory: string;
  run: number;
  /** Workflows each executor starts. Default 3. */
  workflows?: number;
  steps?: number;
  killAfterMs?: readonly [number, number];
  stepDelayMs?: number;
  /**
   * The killed executor claims another host, so the survivor cannot see its pid is dead and must
   * wait for its lease to lapse (as with an executor on another machine).
   */
  viaLease: boolean;
  /** Lease of both executors. Default 1_500 ms. */
  leaseMs?: number;
  finishWithinMs?: number;
}

/**
 * One PostgreSQL run with two executors (separate processes) on one database: each starts its own
 * workflows, one is killed with SIGKILL after a random delay, and the survivor's periodic recovery
 * takes the dead one's workflows over and finishes them.
 */
export async function postgresCrashRun(options: PostgresCrashOptions): Promise<CrashRun> {
  const { url, directory, run } = options;
  const workflows = options.workflows ?? 3;
  const steps = options.steps ?? 10;
  const [minMs, maxMs] = options.killAfterMs ?? [5, 150];
  const leaseMs = options.leaseMs ?? 1_500;
  const log = join(directory, `pg-run-${run}.log`);
  const prefix = `pg-${process.pid}-${run}`;
  const victimIds = Array.from({ length: workflows }, (_, index) => `${prefix}-victim-${index}`);
  const survivorIds = Array.from({ length: workflows }, (_, index) => `${prefix}-survivor-${index}`);
  const common = {
    storeUrl: url,
    steps,
    log,
    leaseMs,
    recoverEveryMs: 250,
    stepDelayMs: options.stepDelayMs ?? 12,
  };
  const anchor = run % 2 === 0 ? 'ready' : 'first-record';

  const victim = spawnChild(`pg run ${run} victim`, {
    ...common,
    role: 'run',
    ids: victimIds,
    ...(options.viaLease && { host: `another-machine-${prefix}` }),
  });
  const survivor = spawnChild(`pg run ${run} survivor`, {
    ...common,
    role: 'survive',
    ids: survivorIds,
    watch: victimIds,
  });
  await Promise.all([victim.ready, survivor.ready]);
  if (anchor === 'first-record') await victim.firstRecord;
  const delay = randomBetween(minMs, maxMs);
  await sleep(delay);
  await kill(victim);
  survivor.process.stdin.write('PEER-GONE\n');
  await finishes(survivor, options.finishWithinMs ?? 60_000);

  const verdict = await verify({
    storeUrl: url,
    ids: [...victimIds, ...survivorIds],
    steps,
    log,
    children: [victim, survivor],
    killed: [victim],
  });
  return { ...verdict, run, killedAfterMs: [delay], anchor, totalSteps: 2 * workflows * steps };
}

/** One line about a run, for test diagnostics and the soak script. */
export function describeRun(result: CrashRun): string {
  return (
    `run ${result.run}: killed ${result.killedAfterMs.map((ms) => `${ms} ms`).join(' and ')} after ` +
    `${result.anchor}, ${result.recordedBeforeKill}/${result.totalSteps} steps recorded before the kill, ` +
    `${result.executions} executions (${result.reruns} reruns of unrecorded steps)`
  );
}
