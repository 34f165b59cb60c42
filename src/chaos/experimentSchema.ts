// The experiment file (SPEC 5), YAML or JSON: parsed and validated with every problem reported at
// once, each with its path (`method.1.fault.latency.ms: must be >= 0, got -5`).

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ReboundError, hasErrorCode } from '../policies/index.ts';
import {
  type Experiment,
  FAULT_KINDS,
  type FaultSpec,
  type MethodStep,
  PROBE_OPS,
  type RollbackAction,
  type SteadyStateProbe,
} from './experimentTypes.ts';
import { issueMessages, type PathSegment } from './zodProblems.ts';

export const EXPERIMENT_DEFAULTS = Object.freeze({
  expectStatus: Object.freeze([200, 399]) as readonly [number, number],
  /** Kubernetes' probe timeoutSeconds. */
  httpTimeoutMs: 1_000,
  intensity: 1,
  replicas: 1,
  httpErrorStatus: 500,
  failFirstStatus: 503,
});

export interface ExperimentProblem {
  /** Dotted path of the field, e.g. `method.0.fault.kill.replicas`; `''` for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** Every problem of an experiment file at once. */
export class ExperimentError extends ReboundError {
  readonly source: string;
  readonly problems: readonly ExperimentProblem[];

  constructor(source: string, problems: readonly ExperimentProblem[]) {
    super(
      'EXPERIMENT_INVALID',
      problems
        .map((problem) => `${source}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`)
        .join('\n'),
    );
    this.source = source;
    this.problems = problems;
  }
}

export const isExperimentError = (error: unknown): error is ExperimentError =>
  hasErrorCode(error, 'EXPERIMENT_INVALID');

export interface ParseExperimentOptions {
  /** Named in messages; default `'experiment'`. */
  source?: string;
  /** The action names rollbacks may use (the control plane's); any kebab-case name when omitted. */
  actions?: readonly string[];
}

/** Parses YAML or JSON text (JSON is YAML); throws ExperimentError listing every problem. */
export function parseExperiment(text: string, options: ParseExperimentOptions = {}): Experiment {
  return validateExperiment(readExperimentDocument(text, options), options);
}

/**
 * Reads YAML or JSON text into the document as written, not yet validated (what the API is sent);
 * throws ExperimentError on a syntax error.
 */
export function readExperimentDocument(text: string, options: { source?: string } = {}): unknown {
  try {
    return parseYaml(text, { prettyErrors: false });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new ExperimentError(options.source ?? 'experiment', [
      { path: '', message: `YAML syntax error: ${message}` },
    ]);
  }
}

/** Validates an already-parsed experiment (a JSON request body); throws ExperimentError. */
export function validateExperiment(value: unknown, options: ParseExperimentOptions = {}): Experiment {
  const source = options.source ?? 'experiment';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const message =
      value == null ? 'is empty: expected a mapping with title, target and method' : 'must be a mapping';
    throw new ExperimentError(source, [{ path: '', message }]);
  }
  const result = experimentSchema.safeParse(value, { reportInput: true });
  if (!result.success) throw new ExperimentError(source, result.error.issues.flatMap(toProblems));
  const experiment = result.data;
  const problems = crossCheck(experiment, options.actions);
  if (problems.length > 0) throw new ExperimentError(source, problems);
  return experiment;
}

const integer = () => z.number().int();
const duration = () => integer().min(0);
const text = () => z.string().min(1);
const statusCode = () => integer().min(100).max(599);
/** `down:` with nothing after it is YAML null: read it as `{}`. */
const emptyAsObject = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

const metricCondition = z.strictObject({
  metric: z
    .string()
    .regex(/^[A-Za-z_:][A-Za-z0-9_:]*$/, { message: 'must be a metric name such as latency_p99' }),
  op: z.enum(PROBE_OPS),
  value: z.number(),
});

const httpProbe = z.strictObject({
  http: z.strictObject({
    path: z.string().startsWith('/', { message: "must start with '/'" }),
    expectStatus: z
      .union([statusCode(), z.tuple([statusCode(), statusCode()])], {
        error: 'must be a status code or [low, high]',
      })
      .default(() => [...EXPERIMENT_DEFAULTS.expectStatus] as [number, number]),
    timeoutMs: integer().min(1).default(EXPERIMENT_DEFAULTS.httpTimeoutMs),
  }),
});

/**
 * A mapping recognised by one of its keys (`{ http: … }` or `{ metric, … }`): the problems are the
 * chosen branch's, not a union's "matched nothing".
 */
function byKey<T>(
  expected: string,
  branches: readonly { key: string; schema: z.ZodType; build: (value: never) => T }[],
) {
  return z.unknown().transform((value, context): T => {
    const fail = (message: string): T => {
      context.addIssue({ code: 'custom', message, input: value });
      return z.NEVER;
    };
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return fail(`must be ${expected}`);
    const branch = branches.find((candidate) => candidate.key in value);
    if (!branch) return fail(`must be ${expected}`);
    const parsed = branch.schema.safeParse(value, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        for (const problem of toProblems(issue)) {
          context.addIssue({ code: 'custom', message: problem.message, path: problem.segments });
        }
      }
      return z.NEVER;
    }
    return branch.build(parsed.data as never);
  });
}

const probe = byKey<SteadyStateProbe>('{ http: { path } } or { metric, op, value }', [
  {
    key: 'http',
    schema: httpProbe,
    build: (value: z.output<typeof httpProbe>) => ({ kind: 'http', ...value.http }),
  },
  {
    key: 'metric',
    schema: metricCondition,
    build: (value: z.output<typeof metricCondition>) => ({ kind: 'metric', ...value }),
  },
]);

const replicas = z.strictObject({ replicas: integer().min(1).default(EXPERIMENT_DEFAULTS.replicas) });
const faultSchemas = {
  kill: emptyAsObject(replicas),
  pause: emptyAsObject(replicas),
  latency: z.strictObject({ ms: duration(), jitterMs: duration().default(0) }),
  'http-error': emptyAsObject(
    z.strictObject({ status: statusCode().default(EXPERIMENT_DEFAULTS.httpErrorStatus) }),
  ),
  'fail-first': z.strictObject({
    requests: integer().min(1),
    status: statusCode().default(EXPERIMENT_DEFAULTS.failFirstStatus),
  }),
  down: emptyAsObject(z.strictObject({})),
  bandwidth: z.strictObject({ rate: integer().min(0) }),
  'reset-peer': emptyAsObject(z.strictObject({})),
  cpu: z.strictObject({ workers: integer().min(1) }),
  memory: z.strictObject({ mb: integer().min(1) }),
} satisfies Record<(typeof FAULT_KINDS)[number], z.ZodType>;

const fault = z.record(z.string(), z.unknown()).transform((value, context): FaultSpec => {
  const keys = Object.keys(value);
  const known = `one of ${FAULT_KINDS.join(', ')}`;
  if (keys.length !== 1) {
    context.addIssue({
      code: 'custom',
      message: `must name one fault (${known}), got ${keys.length === 0 ? 'none' : keys.join(', ')}`,
      input: value,
    });
    return z.NEVER;
  }
  const kind = keys[0]!;
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
    context.addIssue({
      code: 'custom',
      message: `is not a known fault, expected ${known}`,
      path: [kind],
      input: value,
    });
    return z.NEVER;
  }
  const parsed = faultSchemas[kind as keyof typeof faultSchemas].safeParse(value[kind], {
    reportInput: true,
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const problem of toProblems(issue)) {
        context.addIssue({ code: 'custom', message: problem.message, path: [kind, ...problem.segments] });
      }
    }
    return z.NEVER;
  }
  return { kind, ...(parsed.data as object) } as FaultSpec;
});

const faultStep = z.strictObject({
  fault,
  durationMs: integer().min(1).optional(),
  intensity: z.number().min(0).max(1).default(EXPERIMENT_DEFAULTS.intensity),
});
const waitStep = z.strictObject({ wait: duration() });

const step = byKey<MethodStep>('{ fault: { <kind>: {…} }, durationMs?, intensity? } or { wait: ms }', [
  {
    key: 'fault',
    schema: faultStep,
    build: (value: z.output<typeof faultStep>) => ({
      kind: 'fault',
      fault: value.fault,
      intensity: value.intensity,
      ...(value.durationMs === undefined ? {} : { durationMs: value.durationMs }),
    }),
  },
  {
    key: 'wait',
    schema: waitStep,
    build: (value: z.output<typeof waitStep>) => ({ kind: 'wait', ms: value.wait }),
  },
]);

/** `restart-service`, or `{ scale-up: { by: 2 } }`. */
const rollback = z.unknown().transform((value, context): RollbackAction => {
  const fail = (message: string, path: string[] = []): RollbackAction => {
    context.addIssue({ code: 'custom', message, path, input: value });
    return z.NEVER;
  };
  let action: string;
  let params: unknown;
  if (typeof value === 'string') [action, params] = [value, {}];
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length !== 1)
      return fail(`must be an action name or a mapping with one action, got ${keys.length} keys`);
    action = keys[0]!;
    params = (value as Record<string, unknown>)[action] ?? {};
  } else return fail('must be an action name or { <action>: { params } }');
  if (!/^[a-z][a-z0-9-]*$/.test(action)) return fail('must be an action name such as restart-service');
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return fail('parameters must be a mapping', typeof value === 'string' ? [] : [action]);
  }
  return { action, params: params as Record<string, unknown> };
});

const experimentSchema = z.strictObject({
  title: text(),
  description: z.string().optional(),
  target: text(),
  steadyState: z.array(probe).default([]),
  method: z.array(step).min(1),
  rollbacks: z.array(rollback).default([]),
  abortWhen: z.array(metricCondition).default([]),
  expect: z.strictObject({ recoveredWithinMs: duration() }).optional(),
  allowDuringIncident: z.boolean().default(false),
  blastRadius: z
    .strictObject({
      maxReplicas: integer().min(0).optional(),
      maxPercent: z.number().min(0).max(100).optional(),
    })
    .optional(),
});

interface LocatedProblem extends ExperimentProblem {
  readonly segments: PathSegment[];
}

/** The faults `intensity` applies to, as their toxicity; the others happen whole or not at all. */
const TOXICITY_FAULTS: readonly FaultSpec['kind'][] = ['latency', 'http-error', 'bandwidth', 'reset-peer'];

/** What the schema cannot say: rules across fields. */
function crossCheck(experiment: Experiment, actions: readonly string[] | undefined): ExperimentProblem[] {
  const problems: ExperimentProblem[] = [];
  experiment.method.forEach((step, index) => {
    if (step.kind !== 'fault') return;
    const fault = step.fault;
    if (step.intensity !== 1 && !TOXICITY_FAULTS.includes(fault.kind)) {
      problems.push({
        path: `method.${index}.intensity`,
        message: `a ${fault.kind} fault has no toxicity (intensity is for ${TOXICITY_FAULTS.join(', ')}), got ${step.intensity}`,
      });
    }
    if (fault.kind === 'kill' && step.durationMs !== undefined) {
      problems.push({
        path: `method.${index}.durationMs`,
        message: 'a kill is instantaneous and has no duration; add a { wait: ms } step after it',
      });
    }
    const limit = experiment.blastRadius?.maxReplicas;
    if ((fault.kind === 'kill' || fault.kind === 'pause') && limit !== undefined && fault.replicas > limit) {
      problems.push({
        path: `method.${index}.fault.${fault.kind}.replicas`,
        message: `exceeds blastRadius.maxReplicas (${limit}), got ${fault.replicas}`,
      });
    }
  });
  if (actions) {
    experiment.rollbacks.forEach((rollback, index) => {
      if (!actions.includes(rollback.action)) {
        problems.push({
          path: `rollbacks.${index}`,
          message: `unknown action ${JSON.stringify(rollback.action)}, expected one of ${actions.join(', ')}`,
        });
      }
    });
  }
  return problems;
}

/** A zod issue as experiment problems: "must be >= 0, got -1"; an unknown field becomes one problem each. */
function toProblems(issue: z.core.$ZodIssue): LocatedProblem[] {
  return issueMessages(issue).map(({ path, message }) => ({
    path: path.join('.'),
    segments: [...path],
    message,
  }));
}
