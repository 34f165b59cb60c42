// Runs one chaos experiment (SPEC 5): refuses when the target is not healthy, injects the method's
// faults in order while guards watch, always removes the faults and runs the rollbacks, measures
// the time to recovery and leaves a journal.

import { randomUUID } from 'node:crypto';
import {
  abortableDelay,
  type Clock,
  OptionProblems,
  systemClock,
  type TimerHandle,
} from '../policies/index.ts';
import type { RecordStore } from '../store/index.ts';
import {
  conditionHolds,
  describeCondition,
  describeStep,
  endActivity,
  isoTime,
  journalWriter,
  newJournal,
  snapshot,
  startActivity,
} from './experimentJournal.ts';
import { blastRadiusProblem, evaluateSteadyState, messageOf, unmetProbes } from './experimentChecks.ts';
import type {
  ActiveFault,
  Activity,
  ChaosTarget,
  Experiment,
  ExperimentProgress,
  Journal,
  MethodStep,
  SteadyStateResult,
} from './experimentTypes.ts';

export const EXPERIMENT_RUNNER_DEFAULTS = Object.freeze({
  /** How often `abortWhen` is checked. */
  guardIntervalMs: 100,
  /** A fault expires by itself this long after the run planned to remove it (see ChaosTarget). */
  faultExpiryMarginMs: 5_000,
  /** How often the steady state is probed while waiting for recovery. */
  recoveryPollMs: 100,
  /** How long recovery is awaited without an expectation. */
  recoveryTimeoutMs: 30_000,
  /** With `expect.recoveredWithinMs`, recovery is awaited this much longer so a late one is still measured. */
  lateRecoveryGraceMs: 5_000,
});

export interface RunExperimentOptions {
  /** Default `systemClock`. */
  clock?: Clock;
  /** Where journals are kept ('chaos-run' records): a Store, or just its records. */
  store?: { records: RecordStore };
  /** Aborting it interrupts the run, like the emergency stop: faults removed, rollbacks run. */
  signal?: AbortSignal;
  onProgress?: (progress: ExperimentProgress) => void;
  /** Default a random UUID. */
  id?: string;
  guardIntervalMs?: number;
  recoveryPollMs?: number;
  /**
   * How long to wait for the steady state after the last fault. Default: twice
   * `expect.recoveredWithinMs` plus 5 s, or 30 s without an expectation.
   */
  recoveryTimeoutMs?: number;
}

export interface ExperimentRun {
  readonly id: string;
  /** The journal as it is now (a copy). */
  journal(): Journal;
  /** Resolves with the final journal; never rejects. */
  readonly done: Promise<Journal>;
  /**
   * Ends the run `interrupted`: every active fault is removed at once (the promise resolves then),
   * then the rollbacks run. Answers false, doing nothing, once the run is past its faults or
   * already stopping.
   */
  interrupt(reason?: string): Promise<boolean>;
}

/** Runs the experiment to its end and answers its journal. */
export function runExperiment(
  experiment: Experiment,
  target: ChaosTarget,
  options: RunExperimentOptions = {},
): Promise<Journal> {
  return startExperiment(experiment, target, options).done;
}

interface LiveFault {
  readonly fault: ActiveFault;
  readonly activity: Activity;
}

/** Why the run is stopping early, once it is. */
interface Stop {
  status: 'aborted' | 'interrupted';
  reason: string;
}

/** Starts the run and answers a handle on it at once. */
export function startExperiment(
  experiment: Experiment,
  target: ChaosTarget,
  options: RunExperimentOptions = {},
): ExperimentRun {
  const problems = new OptionProblems();
  problems.clock('clock', options.clock);
  problems.func('onProgress', options.onProgress);
  problems.nonEmptyString('id', options.id);
  problems.number('guardIntervalMs', options.guardIntervalMs, { min: 1, finite: true, optional: true });
  problems.number('recoveryPollMs', options.recoveryPollMs, { min: 1, finite: true, optional: true });
  problems.number('recoveryTimeoutMs', options.recoveryTimeoutMs, { min: 0, finite: true, optional: true });
  problems.throwIfAny();

  const clock = options.clock ?? systemClock;
  const D = EXPERIMENT_RUNNER_DEFAULTS;
  const guardIntervalMs = options.guardIntervalMs ?? D.guardIntervalMs;
  const recoveryPollMs = options.recoveryPollMs ?? D.recoveryPollMs;
  const expectedMs = experiment.expect?.recoveredWithinMs;
  const recoveryTimeoutMs =
    options.recoveryTimeoutMs ??
    (expectedMs === undefined ? D.recoveryTimeoutMs : 2 * expectedMs + D.lateRecoveryGraceMs);
  const service = experiment.target;
  const id = options.id ?? randomUUID();
  const journal = newJournal(id, experiment, clock.now());
  const writer = journalWriter(options.store?.records, (error) =>
    emit(`could not store the journal: ${messageOf(error)}`, false),
  );

  const live = new Set<LiveFault>();
  const removals = new Set<Promise<void>>();
  const stopController = new AbortController();
  let stop: Stop | undefined;
  /** Past the faults: the emergency stop has nothing left to do. */
  let faultsOver = false;
  let guardTimer: TimerHandle | undefined;
  let removalFailed = false;

  function emit(message: string, persist = true): void {
    if (persist) void writer.write(journal);
    if (!options.onProgress) return;
    try {
      options.onProgress({ runId: id, message, journal: snapshot(journal) });
    } catch {
      // A listener's failure is not the experiment's.
    }
  }

  function removeFault(entry: LiveFault, status: Activity['status']): Promise<void> {
    if (!live.delete(entry)) return Promise.resolve();
    const removal = entry.fault.remove().then(
      () => endActivity(entry.activity, status, clock.now(), `${entry.fault.description}; removed`),
      (error: unknown) => {
        removalFailed = true;
        endActivity(
          entry.activity,
          'failed',
          clock.now(),
          `${entry.fault.description}; could not remove it: ${messageOf(error)}`,
        );
      },
    );
    removals.add(removal);
    void removal.finally(() => removals.delete(removal));
    return removal;
  }

  /** Removes every live fault at once; resolves when they, and any removal under way, are done. */
  async function removeAll(status: Activity['status']): Promise<void> {
    for (const entry of [...live]) void removeFault(entry, status);
    await Promise.all([...removals]);
  }

  /** Stops the run early; false when it is past its faults (or already stopped for another reason). */
  async function halt(status: Stop['status'], reason: string): Promise<boolean> {
    if (faultsOver) return false;
    const first = !stop;
    if (!stop) {
      stop = { status, reason };
      stopController.abort(new Error(reason));
      emit(status === 'aborted' ? `aborting: ${reason}` : `interrupted: ${reason}`);
    }
    await removeAll('stopped');
    return first;
  }

  function checkGuards(): void {
    guardTimer = undefined;
    if (stop || faultsOver) return;
    let metrics: Readonly<Record<string, number>>;
    try {
      metrics = target.metrics(service);
    } catch {
      metrics = {};
    }
    for (const condition of experiment.abortWhen) {
      if (conditionHolds(condition, metrics)) {
        const seen = metrics[condition.metric];
        void halt('aborted', `guard ${describeCondition(condition)} tripped (${condition.metric} ${seen})`);
        return;
      }
    }
    guardTimer = clock.setTimeout(checkGuards, guardIntervalMs);
  }

  function throwIfStopped(): void {
    if (stop) throw stopController.signal.reason;
  }

  /**
   * The step after which no fault remains, so recovery is watched from there on, during any waits
   * that follow; -1 when that is the end of the method (a fault held until then, or no fault).
   */
  const lastFaultStep = (() => {
    let last = -1;
    for (let index = 0; index < experiment.method.length; index++) {
      const step = experiment.method[index]!;
      if (step.kind !== 'fault') continue;
      if (step.durationMs === undefined && step.fault.kind !== 'kill') return -1;
      last = index;
    }
    return last;
  })();
  let lastFaultEnd = clock.now();
  let recovery: Promise<{ recoveredAt: number | null; result: SteadyStateResult }> | undefined;

  async function watchRecovery(from: number) {
    const deadline = from + recoveryTimeoutMs;
    emit('waiting for the steady state to hold again');
    for (;;) {
      throwIfStopped();
      const at = clock.now();
      const result = await evaluateSteadyState(target, service, experiment.steadyState);
      if (result.met) return { recoveredAt: at, result };
      if (clock.now() >= deadline) return { recoveredAt: null, result };
      await abortableDelay(recoveryPollMs, stopController.signal, clock);
    }
  }

  function startRecovery(): void {
    recovery = watchRecovery(lastFaultEnd);
    recovery.catch(() => {}); // awaited later; a stop rejects it first
  }

  async function runMethod(): Promise<void> {
    for (let index = 0; index < experiment.method.length; index++) {
      throwIfStopped();
      const step = experiment.method[index]!;
      if (step.kind === 'wait') {
        const activity = startActivity(journal.activities, `wait ${step.ms} ms`, clock.now());
        emit(activity.name);
        try {
          await abortableDelay(step.ms, stopController.signal, clock);
        } catch (error) {
          endActivity(activity, 'stopped', clock.now(), null);
          throw error;
        }
        endActivity(activity, 'succeeded', clock.now(), null);
      } else {
        const name = describeStep(step.fault, step.intensity, step.durationMs);
        const activity = startActivity(journal.activities, name, clock.now());
        emit(`injecting ${name}`);
        let fault: ActiveFault;
        try {
          const expiresInMs = plannedMs(experiment.method, index) + D.faultExpiryMarginMs;
          fault = await target.injectFault(service, step.fault, step.intensity, expiresInMs);
        } catch (error) {
          endActivity(activity, 'failed', clock.now(), `could not inject it: ${messageOf(error)}`);
          throw new Error(`could not inject ${name}: ${messageOf(error)}`, { cause: error });
        }
        if (step.fault.kind === 'kill') {
          // Instantaneous: nothing to remove, it ends when it is done.
          endActivity(activity, 'succeeded', clock.now(), fault.description);
          lastFaultEnd = clock.now();
        } else {
          const entry: LiveFault = { fault, activity };
          live.add(entry);
          // A stop while it was being injected has already removed the others: remove it too.
          if (stop) await removeFault(entry, 'stopped');
          throwIfStopped();
          emit(`injected ${fault.description}`);
          if (step.durationMs !== undefined) {
            await abortableDelay(step.durationMs, stopController.signal, clock);
            await removeFault(entry, 'succeeded');
            lastFaultEnd = clock.now();
            emit(`removed ${fault.description}`);
          }
        }
      }
      if (index === lastFaultStep && live.size === 0) startRecovery();
    }
  }

  async function runRollbacks(): Promise<void> {
    for (const rollback of experiment.rollbacks) {
      const activity = startActivity(journal.rollbacks, rollback.action, clock.now());
      emit(`rollback ${rollback.action}`);
      try {
        const output = await target.runAction(service, rollback.action, rollback.params);
        endActivity(activity, 'succeeded', clock.now(), output);
      } catch (error) {
        endActivity(activity, 'failed', clock.now(), messageOf(error));
      }
    }
  }

  function refuse(reason: string): void {
    faultsOver = true;
    journal.status = 'aborted';
    journal.reason = `refused to start: ${reason}`;
  }

  async function execute(): Promise<void> {
    emit(`started ${JSON.stringify(experiment.title)} against ${service}`);
    if (!target.services().includes(service)) return refuse(`there is no service ${JSON.stringify(service)}`);
    if (!experiment.allowDuringIncident && target.hasOpenIncident(service)) {
      return refuse(`an incident is open on ${service}`);
    }
    const radius = blastRadiusProblem(experiment, target.replicaPids(service).length);
    if (radius) return refuse(radius);
    const before = await evaluateSteadyState(target, service, experiment.steadyState);
    journal.steadyStateBefore = before;
    if (!before.met) return refuse(`the steady state does not hold: ${unmetProbes(before)}`);
    if (stop) {
      faultsOver = true;
      conclude(undefined);
      return;
    }
    emit('the steady state holds; running the method');

    let failure: string | undefined;
    if (experiment.abortWhen.length > 0) guardTimer = clock.setTimeout(checkGuards, guardIntervalMs);
    try {
      await runMethod();
      await removeAll('succeeded');
      if (!recovery) {
        lastFaultEnd = clock.now();
        startRecovery();
      }
      const outcome = await recovery!;
      journal.steadyStateAfter = outcome.result;
      if (outcome.recoveredAt !== null) journal.recoveryMs = Math.max(0, outcome.recoveredAt - lastFaultEnd);
    } catch (error) {
      if (!stop) failure = messageOf(error);
    } finally {
      faultsOver = true;
      if (guardTimer) clock.clearTimeout(guardTimer);
      await removeAll('stopped');
      await runRollbacks();
    }
    conclude(failure);
  }

  function conclude(failure: string | undefined): void {
    const expectation = journal.expectation;
    if (stop) {
      journal.status = stop.status;
      journal.reason = stop.reason;
      return;
    }
    if (failure) {
      journal.status = 'failed';
      journal.reason = failure;
      return;
    }
    const recovered = journal.steadyStateAfter?.met === true;
    expectation.met =
      recovered &&
      (expectation.recoveredWithinMs === null || journal.recoveryMs! <= expectation.recoveredWithinMs);
    if (removalFailed) {
      journal.status = 'failed';
      journal.reason = 'a fault could not be removed';
    } else if (!recovered) {
      journal.status = 'failed';
      journal.reason = `the steady state did not hold again within ${recoveryTimeoutMs} ms: ${unmetProbes(journal.steadyStateAfter!)}`;
    } else if (!expectation.met) {
      journal.status = 'failed';
      journal.reason = `recovered in ${journal.recoveryMs} ms, expected within ${expectation.recoveredWithinMs} ms`;
    } else {
      journal.status = 'completed';
    }
  }

  const onCallerAbort = () => void halt('interrupted', 'the caller aborted the run');
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (options.signal?.aborted) onCallerAbort();

  const done = execute()
    .catch((error: unknown) => {
      journal.status = 'failed';
      journal.reason = messageOf(error);
    })
    .then(async () => {
      options.signal?.removeEventListener('abort', onCallerAbort);
      journal.endedAt = isoTime(clock.now());
      emit(`ended ${journal.status}${journal.reason ? `: ${journal.reason}` : ''}`, false);
      await writer.write(journal);
      return snapshot(journal);
    });

  return {
    id,
    journal: () => snapshot(journal),
    done,
    interrupt: (reason = 'emergency stop') => halt('interrupted', reason),
  };
}

/** How long the fault step at `index` is meant to last: its duration, else the rest of the method. */
function plannedMs(method: readonly MethodStep[], index: number): number {
  const step = method[index]!;
  if (step.kind === 'fault' && step.durationMs !== undefined) return step.durationMs;
  let total = 0;
  for (const next of method.slice(index + 1)) {
    total += next.kind === 'wait' ? next.ms : (next.durationMs ?? 0);
  }
  return total;
}
