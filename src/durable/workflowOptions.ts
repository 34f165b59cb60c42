// The workflow engine's options, their defaults, and the check made once when an engine is built.

import { type Clock, InvalidOptionsError, OptionProblems } from '../policies/index.ts';

export interface WorkflowEngineOptions {
  /** This executor's id in the store. Default `${hostname}:${pid}:${random}`: a new one per process. */
  executorId?: string;
  /** An executor whose heartbeat is older than this is gone and its workflows are taken over. Default 30 s. */
  leaseMs?: number;
  /** How often this executor records that it is alive. Default `leaseMs / 3`; must be below `leaseMs`. */
  heartbeatMs?: number;
  /**
   * How often the engine runs `recover()` by itself once it is in use (after its first start() or
   * recover()), so a surviving executor takes over a dead one's workflows without being told.
   * Default `leaseMs`; 0 turns it off.
   */
  recoverEveryMs?: number;
  /**
   * How often `result()` reads the store while another executor runs the workflow. Default 100 ms.
   * Always real time, also with an injected `clock` (it waits for other processes, not for time).
   */
  pollMs?: number;
  /**
   * This machine, in executor records: a dead owner on the same host is noticed from its pid at once.
   * Default the hostname, with the pid namespace on Linux (containers sharing a hostname differ).
   */
  host?: string;
  /** Default `systemClock`. Sleeps, step retries and timeouts, heartbeats and leases use it. */
  clock?: Clock;
}

/** heartbeatMs defaults to leaseMs / 3 and recoverEveryMs to leaseMs. */
export const WORKFLOWS_DEFAULTS = { leaseMs: 30_000, pollMs: 100 } as const;

/** Every problem with the options, in one InvalidOptionsError. */
export function validateWorkflowOptions(options: WorkflowEngineOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError([`workflows options must be an object, got ${String(options)}`]);
  }
  const problems = new OptionProblems();
  problems.nonEmptyString('workflows.executorId', options.executorId);
  problems.nonEmptyString('workflows.host', options.host);
  problems.number('workflows.leaseMs', options.leaseMs, { above: 0, finite: true, optional: true });
  problems.number('workflows.heartbeatMs', options.heartbeatMs, { above: 0, finite: true, optional: true });
  problems.number('workflows.recoverEveryMs', options.recoverEveryMs, { min: 0, optional: true });
  problems.number('workflows.pollMs', options.pollMs, { above: 0, finite: true, optional: true });
  const leaseMs = options.leaseMs ?? WORKFLOWS_DEFAULTS.leaseMs;
  if (typeof options.heartbeatMs === 'number' && options.heartbeatMs >= leaseMs) {
    problems.add(`workflows.heartbeatMs must be < leaseMs (${leaseMs}), got ${options.heartbeatMs}`);
  }
  problems.clock('workflows.clock', options.clock);
  problems.throwIfAny();
}

/** Arguments of register(): a non-empty name and a function. */
export function validateRegistration(name: unknown, fn: unknown): void {
  const problems = new OptionProblems();
  problems.nonEmptyString('register name', name, false);
  problems.func('register fn', fn, false);
  problems.throwIfAny();
}
