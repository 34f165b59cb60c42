// The runs of a control plane: starts experiments, answers their journals (live or stored), and
// the emergency stop that removes every active fault of every run at once.

import { randomUUID } from 'node:crypto';
import { type Clock, OptionProblems, ReboundError, systemClock, hasErrorCode } from '../policies/index.ts';
import type { RecordStore } from '../store/index.ts';
import { CHAOS_RUN_RECORD_KIND, fromRecord, isoTime, toRecord } from './experimentJournal.ts';
import { type ExperimentRun, type RunExperimentOptions, startExperiment } from './experimentRunner.ts';
import type { ChaosTarget, Experiment, ExperimentProgress, Journal } from './experimentTypes.ts';

/** Finished runs kept in memory when there is no store. */
const KEPT_WITHOUT_STORE = 100;

export interface ChaosRunsOptions {
  target: ChaosTarget;
  /** Journals are kept as 'chaos-run' records there, so they outlive the process. */
  store?: { records: RecordStore };
  /** Default `systemClock`. */
  clock?: Clock;
  onProgress?: (progress: ExperimentProgress) => void;
  /** Default random UUIDs. */
  newId?: () => string;
  /** Passed on to each run. */
  run?: Pick<RunExperimentOptions, 'guardIntervalMs' | 'recoveryPollMs' | 'recoveryTimeoutMs'>;
}

export interface ChaosRunFilter {
  target?: string;
  /** At most this many, the newest. */
  limit?: number;
}

export interface ChaosRuns {
  /** Starts a run; throws ChaosRunConflictError while another one runs against the same target. */
  start(experiment: Experiment): { id: string };
  /** The live journal of a running run, else the stored one. */
  get(id: string): Promise<Journal | undefined>;
  /** Newest first. */
  list(filter?: ChaosRunFilter): Promise<Journal[]>;
  /** Resolves with the final journal of a run started here and still known; undefined otherwise. */
  done(id: string): Promise<Journal> | undefined;
  /**
   * The emergency stop: every active fault of every run is removed at once (resolved when they
   * are) and each running run ends `interrupted` once its rollbacks have run.
   */
  stopAll(reason?: string): Promise<{ interrupted: string[] }>;
  /** Marks the journals a previous process left `running` as interrupted; answers how many. */
  recover(): Promise<number>;
}

/** Another experiment is already running against this target: two would blur each other's verdict. */
export class ChaosRunConflictError extends ReboundError {
  readonly target: string;
  readonly runId: string;

  constructor(target: string, runId: string) {
    super('CHAOS_RUN_CONFLICT', `experiment ${runId} is already running against ${target}`);
    this.target = target;
    this.runId = runId;
  }
}

export const isChaosRunConflictError = (error: unknown): error is ChaosRunConflictError =>
  hasErrorCode(error, 'CHAOS_RUN_CONFLICT');

export function chaosRuns(options: ChaosRunsOptions): ChaosRuns {
  const problems = new OptionProblems();
  if (typeof options?.target !== 'object' || options.target === null)
    problems.add('target must be a ChaosTarget');
  problems.clock('clock', options?.clock);
  problems.func('onProgress', options?.onProgress);
  problems.func('newId', options?.newId);
  problems.throwIfAny();

  const clock = options.clock ?? systemClock;
  const records = options.store?.records;
  const newId = options.newId ?? randomUUID;
  const running = new Map<string, ExperimentRun>();
  /** Finished runs when there is no store (bounded), and every run's final journal until stored. */
  const finished = new Map<string, Promise<Journal>>();

  function start(experiment: Experiment): { id: string } {
    for (const run of running.values()) {
      if (run.journal().target === experiment.target)
        throw new ChaosRunConflictError(experiment.target, run.id);
    }
    const id = newId();
    const run = startExperiment(experiment, options.target, {
      ...options.run,
      id,
      clock,
      store: options.store,
      onProgress: options.onProgress,
    });
    running.set(id, run);
    finished.set(id, run.done);
    void run.done.then(() => {
      running.delete(id);
      // With a store the journal is read back from it; without, the newest few are kept here.
      if (records) finished.delete(id);
      else if (finished.size > KEPT_WITHOUT_STORE) finished.delete(finished.keys().next().value!);
    });
    return { id };
  }

  async function get(id: string): Promise<Journal | undefined> {
    const run = running.get(id);
    if (run) return run.journal();
    // Ended: its final journal, until it is read back from the store instead.
    const kept = finished.get(id);
    if (kept) return kept;
    const record = records ? await records.get(CHAOS_RUN_RECORD_KIND, id) : undefined;
    return record ? fromRecord(record) : undefined;
  }

  async function list(filter: ChaosRunFilter = {}): Promise<Journal[]> {
    const byId = new Map<string, Journal>();
    if (records) {
      const stored = await records.list(CHAOS_RUN_RECORD_KIND, {
        ...(filter.target === undefined ? {} : { service: filter.target }),
        ...(filter.limit === undefined ? {} : { limit: filter.limit }),
      });
      for (const record of stored) byId.set(record.id, fromRecord(record));
    }
    for (const [id, journal] of finished) if (!running.has(id)) byId.set(id, await journal);
    // Live state wins over what was last written.
    for (const [id, run] of running) byId.set(id, run.journal());
    let journals = [...byId.values()];
    if (filter.target !== undefined)
      journals = journals.filter((journal) => journal.target === filter.target);
    journals.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
    return filter.limit === undefined ? journals : journals.slice(0, filter.limit);
  }

  async function stopAll(reason = 'emergency stop'): Promise<{ interrupted: string[] }> {
    const runs = [...running.values()];
    const stopped = await Promise.all(runs.map((run) => run.interrupt(reason)));
    return { interrupted: runs.filter((_, index) => stopped[index]).map((run) => run.id) };
  }

  async function recover(): Promise<number> {
    if (!records) return 0;
    let count = 0;
    for (const record of await records.list(CHAOS_RUN_RECORD_KIND)) {
      if (running.has(record.id)) continue;
      const journal = fromRecord(record);
      if (journal.status !== 'running') continue;
      journal.status = 'interrupted';
      journal.reason = 'the control plane stopped during the run';
      journal.endedAt = isoTime(clock.now());
      await records.put(toRecord(journal));
      count++;
    }
    return count;
  }

  return {
    start,
    get,
    list,
    done: (id) => finished.get(id),
    stopAll,
    recover,
  };
}
