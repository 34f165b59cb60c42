// The workflow engine's options, their defaults, and the check made once when an engine is built.

import { type Clock, InvalidOptionsError } from '../policies/index.ts';

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
  const problems: string[] = [];
  for (const key of ['executorId', 'host'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      problems.push(`workflows.${key} must be a non-empty string, got ${describe(value)}`);
    }
  }
  checkNumber(problems, 'leaseMs', options.leaseMs, 'above', true);
  checkNumber(problems, 'heartbeatMs', options.heartbeatMs, 'above', true);
  checkNumber(problems, 'recoverEveryMs', options.recoverEveryMs, 'min', false);
  checkNumber(problems, 'pollMs', options.pollMs, 'above', true);
  const leaseMs = options.leaseMs ?? WORKFLOWS_DEFAULTS.leaseMs;
  if (typeof options.heartbeatMs === 'number' && options.heartbeatMs >= leaseMs) {
    problems.push(`workflows.heartbeatMs must be < leaseMs (${leaseMs}), got ${options.heartbeatMs}`);
  }
  const clock = options.clock as Partial<Record<keyof Clock, unknown>> | undefined | null;
  if (clock !== undefined) {
    if (typeof clock !== 'object' || clock === null) {
      problems.push(`workflows.clock must be a Clock, got ${describe(clock)}`);
    } else {
      for (const method of ['now', 'setTimeout', 'clearTimeout'] as const) {
        if (typeof clock[method] !== 'function') {
          problems.push(`workflows.clock.${method} must be a function, got ${describe(clock[method])}`);
        }
      }
    }
  }
  if (problems.length > 0) throw new InvalidOptionsError(problems);
}

/** Arguments of register(): a non-empty name and a function. */
export function validateRegistration(name: unknown, fn: unknown): void {
  const problems: string[] = [];
  if (typeof name !== 'string' || name === '') {
    problems.push(`register name must be a non-empty string, got ${describe(name)}`);
  }
  if (typeof fn !== 'function') problems.push(`register fn must be a function, got ${describe(fn)}`);
  if (problems.length > 0) throw new InvalidOptionsError(problems);
}

function checkNumber(
  problems: string[],
  key: string,
  value: unknown,
  rule: 'above' | 'min',
  finite: boolean,
): void {
  if (value === undefined) return;
  const path = `workflows.${key}`;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    problems.push(`${path} must be a number, got ${describe(value)}`);
  } else if (finite && !Number.isFinite(value)) {
    problems.push(`${path} must be finite, got ${value}`);
  } else if (rule === 'above' && value <= 0) {
    problems.push(`${path} must be > 0, got ${value}`);
  } else if (rule === 'min' && value < 0) {
    problems.push(`${path} must be >= 0, got ${value}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return String(value);
}
