// What get() and list() answer about workflows: their records decoded for reading, steps included.

import type { StepRecord, WorkflowRecord, WorkflowStatus } from '../store/index.ts';
import { decodeValue, type SerializedError } from './serialize.ts';

export interface WorkflowStepInfo {
  position: number;
  name: string;
  status: 'succeeded' | 'failed';
  attempts: number;
  startedAt: number;
  /** For a sleep, the wake-up time. */
  endedAt: number;
  /** The step's error, when it failed. */
  error?: SerializedError;
}

export interface WorkflowSummary {
  id: string;
  name: string;
  status: WorkflowStatus;
  input: unknown;
  output?: unknown;
  error?: SerializedError;
  /** The executor running it (or that last ran it); null before anyone claimed it. */
  owner: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface WorkflowInfo extends WorkflowSummary {
  steps: WorkflowStepInfo[];
}

export interface ListOptions {
  status?: WorkflowStatus | readonly WorkflowStatus[];
  name?: string;
  limit?: number;
}

export function summaryOf(workflow: WorkflowRecord): WorkflowSummary {
  const summary: WorkflowSummary = {
    id: workflow.id,
    name: workflow.name,
    status: workflow.status,
    input: decodeLeniently(workflow.input),
    owner: workflow.owner,
    createdAt: workflow.createdAt,
    updatedAt: workflow.updatedAt,
  };
  if (workflow.output !== null) summary.output = decodeLeniently(workflow.output);
  if (workflow.error !== null) summary.error = parseError(workflow.error);
  return summary;
}

export function stepInfoOf(step: StepRecord): WorkflowStepInfo {
  const info: WorkflowStepInfo = {
    position: step.position,
    name: step.name,
    status: step.status,
    attempts: step.attempts,
    startedAt: step.startedAt,
    endedAt: step.endedAt,
  };
  if (step.status === 'failed') info.error = parseError(step.output);
  return info;
}

// get() and list() are for looking: a damaged value is shown as its text rather than failing the call.
function decodeLeniently(text: string): unknown {
  try {
    return decodeValue(text);
  } catch {
    return text;
  }
}

function parseError(text: string): SerializedError {
  try {
    return JSON.parse(text) as SerializedError;
  } catch {
    return { name: 'Error', message: text };
  }
}
