// The journal of a run: how activities are named and recorded, and how journals are kept as the
// store's 'chaos-run' records.

import type { RecordStore, StoredRecord } from '../store/index.ts';
import type {
  Activity,
  Experiment,
  FaultSpec,
  Journal,
  MetricCondition,
  ProbeOp,
  SteadyStateProbe,
} from './experimentTypes.ts';

export const CHAOS_RUN_RECORD_KIND = 'chaos-run';

const SYMBOLS: Readonly<Record<ProbeOp, string>> = {
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  eq: '==',
  neq: '!=',
};

export const isoTime = (ms: number): string => new Date(ms).toISOString();

export function newJournal(id: string, experiment: Experiment, startedAt: number): Journal {
  return {
    id,
    title: experiment.title,
    target: experiment.target,
    status: 'running',
    reason: null,
    startedAt: isoTime(startedAt),
    endedAt: null,
    steadyStateBefore: null,
    steadyStateAfter: null,
    activities: [],
    rollbacks: [],
    recoveryMs: null,
    expectation: { recoveredWithinMs: experiment.expect?.recoveredWithinMs ?? null, met: null },
  };
}

/** A deep copy, so that a caller holding it never sees the run change it. */
export function snapshot(journal: Journal): Journal {
  return structuredClone(journal);
}

export function startActivity(list: Activity[], name: string, at: number): Activity {
  const activity: Activity = { name, status: 'running', start: isoTime(at), end: null, output: null };
  list.push(activity);
  return activity;
}

export function endActivity(
  activity: Activity,
  status: Activity['status'],
  at: number,
  output: string | null,
): void {
  activity.status = status;
  activity.end = isoTime(at);
  activity.output = output;
}

/** `latency 500 ms ± 50 ms`, `kill 2 replicas`, … */
function describeFault(fault: FaultSpec): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  switch (fault.kind) {
    case 'kill':
    case 'pause':
      return `${fault.kind} ${plural(fault.replicas, 'replica')}`;
    case 'latency':
      return `latency ${fault.ms} ms${fault.jitterMs > 0 ? ` ± ${fault.jitterMs} ms` : ''}`;
    case 'http-error':
      return `http-error ${fault.status}`;
    case 'fail-first':
      return `fail-first ${plural(fault.requests, 'request')} with ${fault.status}`;
    case 'bandwidth':
      return `bandwidth ${fault.rate} KB/s`;
    case 'cpu':
      return `cpu ${plural(fault.workers, 'worker')}`;
    case 'memory':
      return `memory ${fault.mb} MB`;
    case 'down':
    case 'reset-peer':
      return fault.kind;
  }
}

export function describeStep(fault: FaultSpec, intensity: number, durationMs: number | undefined): string {
  const parts = [describeFault(fault)];
  if (intensity !== 1) parts.push(`at intensity ${intensity}`);
  if (durationMs !== undefined) parts.push(`for ${durationMs} ms`);
  return parts.join(' ');
}

/** `latency_p99 < 200`; `format` writes the value (default: as JavaScript prints it). */
export function describeCondition(
  condition: MetricCondition,
  format: (value: number) => string = String,
): string {
  return `${condition.metric} ${SYMBOLS[condition.op]} ${format(condition.value)}`;
}

export function describeProbe(probe: SteadyStateProbe): string {
  if (probe.kind === 'metric') return describeCondition(probe);
  const expected =
    typeof probe.expectStatus === 'number'
      ? String(probe.expectStatus)
      : `${probe.expectStatus[0]}-${probe.expectStatus[1]}`;
  return `GET ${probe.path} answers ${expected}`;
}

/** Whether the condition holds; a missing metric never does (no data is not evidence). */
export function conditionHolds(
  condition: MetricCondition,
  metrics: Readonly<Record<string, number>>,
): boolean {
  const measured = metrics[condition.metric];
  if (typeof measured !== 'number' || Number.isNaN(measured)) return false;
  switch (condition.op) {
    case 'gt':
      return measured > condition.value;
    case 'gte':
      return measured >= condition.value;
    case 'lt':
      return measured < condition.value;
    case 'lte':
      return measured <= condition.value;
    case 'eq':
      return measured === condition.value;
    case 'neq':
      return measured !== condition.value;
  }
}

export function toRecord(journal: Journal): StoredRecord {
  return {
    kind: CHAOS_RUN_RECORD_KIND,
    id: journal.id,
    service: journal.target,
    at: Date.parse(journal.startedAt),
    data: JSON.stringify(journal),
  };
}

export function fromRecord(record: StoredRecord): Journal {
  return JSON.parse(record.data) as Journal;
}

/**
 * Writes a run's journal each time it changes, one write at a time and in order, so an older
 * state never overwrites a newer one. A failed write is reported, never thrown into the run.
 */
export function journalWriter(
  records: RecordStore | undefined,
  onError: (error: unknown) => void,
): { write(journal: Journal): Promise<void> } {
  let last: Promise<void> = Promise.resolve();
  return {
    write(journal) {
      if (!records) return Promise.resolve();
      const record = toRecord(journal);
      last = last.then(() => records.put(record)).catch(onError);
      return last;
    },
  };
}
