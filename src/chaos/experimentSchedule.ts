// Experiments run on a schedule (an interval or a cron pattern) through a control plane's runs: one
// timer for every schedule, an occurrence skipped (and said so) while another run holds the target.

import { Cron } from 'croner';
import { type Clock, OptionProblems, type TimerHandle, systemClock } from '../policies/index.ts';
import { messageOf } from './experimentChecks.ts';
import { isoTime } from './experimentJournal.ts';
import { type ChaosRuns, isChaosRunConflictError } from './experimentRuns.ts';
import type { Experiment } from './experimentTypes.ts';

/** The shortest interval a schedule may have: chaos every few milliseconds is a mistake, not a test. */
export const SCHEDULE_MIN_EVERY_MS = 1_000;

/** Node's timers hold at most 2^31 - 1 ms; a later occurrence is reached by re-arming. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export interface ExperimentSchedule {
  /** Unique among the schedules; named in events and logs. */
  name: string;
  experiment: Experiment;
  /** Milliseconds between runs (>= SCHEDULE_MIN_EVERY_MS); give this or `cron`. */
  every?: number;
  /** A cron pattern in croner's syntax: 5 fields, or 6 with seconds first. */
  cron?: string;
  /** IANA time zone of `cron`; default the machine's local time. */
  timezone?: string;
  /** Default true; a disabled schedule is listed but never runs. */
  enabled?: boolean;
}

export interface ScheduleEvent {
  schedule: string;
  kind: 'started' | 'skipped';
  /** The run started. */
  runId?: string;
  /** Why the occurrence was skipped. */
  reason?: string;
}

export interface ExperimentSchedulerOptions {
  runs: ChaosRuns;
  schedules: readonly ExperimentSchedule[];
  /** Default `systemClock`. */
  clock?: Clock;
  onEvent?: (event: ScheduleEvent) => void;
}

/** What `list()` shows of a schedule; times are ISO 8601. */
export interface ScheduleView {
  name: string;
  title: string;
  target: string;
  every: number | null;
  cron: string | null;
  timezone: string | null;
  enabled: boolean;
  /** Null while the scheduler is stopped, and for a disabled schedule. */
  nextRunAt: string | null;
  lastRun: {
    /** The run started; null when the occurrence was skipped. */
    id: string | null;
    at: string;
    outcome: 'started' | 'skipped';
    reason: string | null;
  } | null;
}

export interface ExperimentScheduler {
  /** Arms the schedules: an interval's first run is `every` ms from now, a cron's at its next match. */
  start(): void;
  /** Clears the timer; runs already started go on (the runs' own stopAll ends them). */
  stop(): void;
  list(): ScheduleView[];
}

/** The stricter of the experiment's own blast radius and `limit`, field by field. */
export function withBlastRadius(
  experiment: Experiment,
  limit: { maxReplicas?: number; maxPercent?: number } | undefined,
): Experiment {
  if (!limit || (limit.maxReplicas === undefined && limit.maxPercent === undefined)) return experiment;
  const own = experiment.blastRadius ?? {};
  const stricter = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.min(a, b);
  const maxReplicas = stricter(own.maxReplicas, limit.maxReplicas);
  const maxPercent = stricter(own.maxPercent, limit.maxPercent);
  return {
    ...experiment,
    blastRadius: {
      ...(maxReplicas === undefined ? {} : { maxReplicas }),
      ...(maxPercent === undefined ? {} : { maxPercent }),
    },
  };
}

/**
 * Why a cron pattern (with its time zone) cannot be scheduled, if it cannot: croner's own message
 * for a bad pattern or zone, or a pattern that never matches.
 */
export function cronProblem(pattern: string, timezone?: string): string | undefined {
  try {
    const cron = new Cron(pattern, { paused: true, ...(timezone === undefined ? {} : { timezone }) });
    if (cron.nextRun() === null) return 'never matches a date';
    return undefined;
  } catch (error) {
    return messageOf(error).replace(/^Cron\w*: /, '');
  }
}

/** Why a time zone is not one this machine knows, if it is not. */
export function timezoneProblem(timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return undefined;
  } catch {
    return `unknown time zone ${JSON.stringify(timezone)}, expected an IANA name such as Europe/Paris or UTC`;
  }
}

interface Entry {
  readonly schedule: ExperimentSchedule;
  readonly cron: Cron | undefined;
  readonly enabled: boolean;
  nextAt: number | undefined;
  lastRun: ScheduleView['lastRun'];
}

export function experimentScheduler(options: ExperimentSchedulerOptions): ExperimentScheduler {
  validate(options);
  const clock = options.clock ?? systemClock;
  const entries: Entry[] = options.schedules.map((schedule) => ({
    schedule,
    cron:
      schedule.cron === undefined
        ? undefined
        : new Cron(schedule.cron, {
            paused: true,
            ...(schedule.timezone === undefined ? {} : { timezone: schedule.timezone }),
          }),
    enabled: schedule.enabled ?? true,
    nextAt: undefined,
    lastRun: null,
  }));
  let started = false;
  let timer: TimerHandle | undefined;

  /** The first occurrence strictly after `after`, for a cron; undefined when there is none. */
  const nextCron = (entry: Entry, after: number) => entry.cron!.nextRun(new Date(after))?.getTime();

  function arm(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    let earliest: number | undefined;
    for (const entry of entries) {
      if (entry.nextAt !== undefined && (earliest === undefined || entry.nextAt < earliest))
        earliest = entry.nextAt;
    }
    if (earliest === undefined) return;
    const delay = Math.min(Math.max(0, earliest - clock.now()), LONGEST_TIMER_MS);
    timer = clock.setTimeout(fire, delay);
    timer.unref?.();
  }

  function fire(): void {
    timer = undefined;
    if (!started) return;
    const now = clock.now();
    for (const entry of entries) {
      const due = entry.nextAt;
      // A timer that fires early (or a capped one) finds nothing due and is only re-armed.
      if (due === undefined || due > now) continue;
      const every = entry.schedule.every;
      // From the due time, not from now: no drift. Periods missed while the process was busy are
      // skipped, not run in a burst.
      entry.nextAt =
        every === undefined
          ? nextCron(entry, Math.max(now, due))
          : due + every * (Math.floor((now - due) / every) + 1);
      runOnce(entry, now);
      // A listener may have stopped the scheduler.
      if (!started) return;
    }
    arm();
  }

  function runOnce(entry: Entry, now: number): void {
    const name = entry.schedule.name;
    let event: ScheduleEvent;
    try {
      const { id } = options.runs.start(entry.schedule.experiment);
      entry.lastRun = { id, at: isoTime(now), outcome: 'started', reason: null };
      event = { schedule: name, kind: 'started', runId: id };
    } catch (error) {
      const reason = isChaosRunConflictError(error)
        ? `another run (${error.runId}) is in progress on ${error.target}`
        : `the run could not start: ${messageOf(error)}`;
      entry.lastRun = { id: null, at: isoTime(now), outcome: 'skipped', reason };
      event = { schedule: name, kind: 'skipped', reason };
    }
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure must not stop the schedules: nothing is thrown out of a timer.
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      const now = clock.now();
      for (const entry of entries) {
        if (!entry.enabled) continue;
        const every = entry.schedule.every;
        entry.nextAt = every === undefined ? nextCron(entry, now) : now + every;
      }
      arm();
    },
    stop() {
      started = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      for (const entry of entries) entry.nextAt = undefined;
    },
    list: () =>
      entries.map(({ schedule, enabled, nextAt, lastRun }) => ({
        name: schedule.name,
        title: schedule.experiment.title,
        target: schedule.experiment.target,
        every: schedule.every ?? null,
        cron: schedule.cron ?? null,
        timezone: schedule.timezone ?? null,
        enabled,
        nextRunAt: nextAt === undefined ? null : isoTime(nextAt),
        lastRun: lastRun && { ...lastRun },
      })),
  };
}

function validate(options: ExperimentSchedulerOptions): void {
  const problems = new OptionProblems();
  if (typeof options?.runs?.start !== 'function') problems.add('runs must be ChaosRuns (with start)');
  problems.clock('clock', options?.clock);
  problems.func('onEvent', options?.onEvent);
  if (!Array.isArray(options?.schedules)) {
    problems.add('schedules must be an array');
    problems.throwIfAny();
  }
  const names = new Map<string, number>();
  options.schedules.forEach((schedule, index) => {
    const at = `schedules[${index}]`;
    if (typeof schedule !== 'object' || schedule === null) {
      problems.add(`${at} must be a schedule`);
      return;
    }
    problems.nonEmptyString(`${at}.name`, schedule.name, false);
    if (typeof schedule.name === 'string') {
      const first = names.get(schedule.name);
      if (first !== undefined) problems.add(`${at}.name duplicates the name of schedules[${first}]`);
      else names.set(schedule.name, index);
    }
    const experiment = schedule.experiment as Partial<Experiment> | undefined;
    if (typeof experiment !== 'object' || experiment === null || typeof experiment.target !== 'string') {
      problems.add(`${at}.experiment must be a parsed Experiment`);
    }
    if ((schedule.every === undefined) === (schedule.cron === undefined)) {
      problems.add(`${at} must have exactly one of every and cron`);
    }
    problems.number(`${at}.every`, schedule.every, {
      integer: true,
      min: SCHEDULE_MIN_EVERY_MS,
      finite: true,
      optional: true,
    });
    let timezoneKnown = schedule.timezone === undefined;
    if (schedule.timezone !== undefined) {
      if (schedule.cron === undefined) problems.add(`${at}.timezone applies only to a cron schedule`);
      const problem =
        typeof schedule.timezone === 'string' ? timezoneProblem(schedule.timezone) : 'must be a string';
      if (problem) problems.add(`${at}.timezone: ${problem}`);
      else timezoneKnown = true;
    }
    if (schedule.cron !== undefined) {
      if (typeof schedule.cron !== 'string') problems.add(`${at}.cron must be a string`);
      else if (timezoneKnown) {
        // With a zone this machine does not know, the pattern cannot be checked: one problem is enough.
        const problem = cronProblem(schedule.cron, schedule.timezone);
        if (problem) problems.add(`${at}.cron: ${problem}`);
      }
    }
    if (schedule.enabled !== undefined && typeof schedule.enabled !== 'boolean') {
      problems.add(`${at}.enabled must be a boolean`);
    }
  });
  problems.throwIfAny();
}
