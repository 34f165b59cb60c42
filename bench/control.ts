// Control-loop benchmark (issue 7): a simulated service under step, ramp, spike and noisy loads,
// scaled by rebound's autoscaler with its defaults (deciding at `rebound up`'s default interval, told
// which replicas are ready) and by Kubernetes' HPA rule with its defaults (every 15 s), on the same
// traces. Deterministic and in simulated time (one tick per second, seeded noise): the
// figures are the same on every run and every machine.

import { type AutoscalerOptions, autoscaler } from 'rebound/control';
import { CONFIG_DEFAULTS } from 'rebound/healing';
import { seeded } from '../test/support/seeded.ts';
import { machine, table } from './harness.ts';

/** Requests per second one replica serves at utilization 1. */
const CAPACITY = 10;
const TARGET = 0.7;
/** Utilization within ±10% of the target counts as settled; above the band counts as overloaded. */
const BAND = 0.1;
/** Seconds from a replica's start until it serves (the same for both controllers). */
const START_UP_S = 10;
/** HPA's sync period. */
const HPA_INTERVAL_S = 15;
/** rebound's default `autoscale.intervalMs`, what `rebound up` decides at. */
const REBOUND_INTERVAL_S = CONFIG_DEFAULTS.autoscale.intervalMs / 1000;
const DURATION_S = 900;
/** Mid-way between two HPA syncs, so HPA does not see the change the second it happens. */
const CHANGE_S = 67;
const MIN_REPLICAS = 1;
const MAX_REPLICAS = 100;

if (!Number.isInteger(REBOUND_INTERVAL_S)) throw new Error('the simulation ticks by whole seconds');

/** What a controller is told at a decision. */
interface Reading {
  /** Replicas started, those not serving yet included. */
  replicas: number;
  /** Replicas serving. */
  ready: number;
  /** Utilization of the ready replicas (now, or the load averaged over the interval). */
  value: number;
  atMs: number;
}

interface Controller {
  /** Seconds between decisions. */
  intervalS: number;
  /** The value is the load averaged over the interval, per ready replica (what `rebound up` reads). */
  averaged: boolean;
  /** Decides only when every started replica serves (a scale that waits for its replicas to pass). */
  waitsForReady?: boolean;
  decide: (reading: Reading) => number;
}

interface Trace {
  name: string;
  /** Load in requests per second at second `t`. */
  load: (t: number) => number;
  /** The load without its noise, for the replicas it needs. */
  nominal: (t: number) => number;
  /** When the load starts to change; settling time is measured from here. */
  changeAt: number;
  /** True when the goal "zero changes after settling" applies. */
  noisy: boolean;
}

interface Run {
  /** Seconds from the change until utilization stays within the band; undefined if it never does. */
  settling: number | undefined;
  /** Most replicas at once beyond what the highest nominal load needs at the target. */
  overshoot: number;
  changesAfterSettling: number | undefined;
  /** Changes of the replica count over the whole trace. */
  changes: number;
  replicaSeconds: number;
  secondsAboveTarget: number;
  /** Replicas at the end of the trace. */
  finalReplicas: number;
}

const need = (load: number) => Math.ceil(load / (TARGET * CAPACITY) - 1e-9);

function noisy(nominal: (t: number) => number, seed: number, amplitude = 0.05): (t: number) => number {
  const random = seeded(seed);
  const noise = Array.from({ length: DURATION_S }, () => 1 + (random() * 2 - 1) * amplitude);
  return (t) => nominal(t) * noise[t]!;
}

const step = (t: number) => (t < CHANGE_S ? 100 : 400);
const ramp = (t: number) => 100 + 300 * Math.min(1, Math.max(0, (t - CHANGE_S) / 300));
const spike = (t: number) => (t >= CHANGE_S && t < CHANGE_S + 30 ? 400 : 100);
const constant = () => 300;

const traces: Trace[] = [
  { name: 'step 100 → 400 req/s', load: step, nominal: step, changeAt: CHANGE_S, noisy: false },
  { name: 'ramp 100 → 400 req/s over 300 s', load: ramp, nominal: ramp, changeAt: CHANGE_S, noisy: false },
  { name: 'spike 100 → 400 req/s for 30 s', load: spike, nominal: spike, changeAt: CHANGE_S, noisy: false },
  { name: 'noisy 300 req/s ±5%', load: noisy(constant, 7), nominal: constant, changeAt: 0, noisy: true },
  {
    name: 'noisy step 100 → 400 req/s ±5%',
    load: noisy(step, 11),
    nominal: step,
    changeAt: CHANGE_S,
    noisy: true,
  },
];
/** Noise wider than the tolerance band (not one of the issue's traces): what a short interval costs. */
const wideNoise: Trace = {
  name: 'noisy 300 req/s ±20%',
  load: noisy(constant, 13, 0.2),
  nominal: constant,
  changeAt: 0,
  noisy: true,
};

/** rebound's autoscaler with its defaults (or `options`), told the ready replicas, at `intervalS`. */
function rebound(
  options: Partial<AutoscalerOptions> = {},
  how: { intervalS?: number; ready?: boolean; waitsForReady?: boolean } = {},
): Controller {
  const scaler = autoscaler({ target: TARGET, min: MIN_REPLICAS, max: MAX_REPLICAS, ...options });
  const withReady = how.ready ?? true;
  return {
    intervalS: how.intervalS ?? REBOUND_INTERVAL_S,
    averaged: true,
    waitsForReady: how.waitsForReady ?? false,
    decide: ({ replicas, ready, value, atMs }) =>
      scaler.recommend(withReady ? { replicas, ready, value, atMs } : { replicas, value, atMs }),
  };
}

/**
 * Kubernetes' HPA with its defaults (autoscaling/v2), every 15 s on the utilization of the ready
 * pods at that second: desired = ceil(current × value / target) unless |value / target − 1| <= 0.1;
 * scale down only to the highest recommendation of the last 300 s; scale up by at most max(4 pods,
 * 100%) per 15 s period; scale down by up to 100% per 15 s.
 */
function hpa(): Controller {
  const recommendations: { replicas: number; atMs: number }[] = [];
  return {
    intervalS: HPA_INTERVAL_S,
    averaged: false,
    decide: ({ replicas, value, atMs }) => {
      const ratio = value / TARGET;
      let desired = Math.abs(ratio - 1) <= 0.1 ? replicas : Math.ceil(replicas * ratio - 1e-9);
      desired = Math.min(MAX_REPLICAS, Math.max(MIN_REPLICAS, desired));
      recommendations.push({ replicas: desired, atMs });
      while (recommendations[0]!.atMs <= atMs - 300_000) recommendations.shift();
      if (desired < replicas)
        desired = Math.min(replicas, Math.max(...recommendations.map((r) => r.replicas)));
      return Math.min(desired, Math.max(replicas + 4, replicas * 2));
    },
  };
}

function simulate(trace: Trace, controller: Controller): Run {
  // One entry per replica: the second it starts serving. New replicas go last; a scale-down
  // removes the newest first (those still starting, as Kubernetes and rebound's supervisor do).
  const readyAt: number[] = Array.from({ length: need(trace.nominal(0)) }, () => 0);
  const replicasAt: number[] = [];
  const utilizationAt: number[] = [];
  const loadAt: number[] = [];
  let replicaSeconds = 0;
  let secondsAboveTarget = 0;
  for (let t = 0; t < DURATION_S; t++) {
    const ready = readyAt.filter((at) => at <= t).length;
    const load = trace.load(t);
    const utilization = ready === 0 ? Number.POSITIVE_INFINITY : load / (ready * CAPACITY);
    utilizationAt.push(utilization);
    loadAt.push(load);
    const waiting = controller.waitsForReady === true && ready < readyAt.length;
    if (t % controller.intervalS === 0 && ready > 0 && !waiting) {
      // Averaged: the load over the interval per replica ready now, as `rebound up` averages the
      // gateway's in-flight requests and divides by the replicas serving at the decision.
      const seen = controller.averaged ? loadAt.slice(-controller.intervalS) : [load];
      const value = seen.reduce((sum, l) => sum + l, 0) / seen.length / (ready * CAPACITY);
      const desired = controller.decide({ replicas: readyAt.length, ready, value, atMs: t * 1000 });
      while (readyAt.length < desired) readyAt.push(t + START_UP_S);
      readyAt.length = desired;
    }
    replicasAt.push(readyAt.length);
    replicaSeconds += readyAt.length;
    if (utilization > TARGET * (1 + BAND)) secondsAboveTarget++;
  }

  let lastOutside = -1;
  utilizationAt.forEach((u, t) => {
    if (Math.abs(u / TARGET - 1) > BAND + 1e-9) lastOutside = t;
  });
  const settledAt = lastOutside === DURATION_S - 1 ? undefined : Math.max(trace.changeAt, lastOutside + 1);
  let peakNeed = 0;
  for (let t = 0; t < DURATION_S; t++) peakNeed = Math.max(peakNeed, need(trace.nominal(t)));
  const changesFrom = (from: number) => {
    let changes = 0;
    for (let t = from + 1; t < DURATION_S; t++) if (replicasAt[t] !== replicasAt[t - 1]) changes++;
    return changes;
  };
  return {
    settling: settledAt === undefined ? undefined : settledAt - trace.changeAt,
    overshoot: Math.max(0, Math.max(...replicasAt) - peakNeed),
    changesAfterSettling: settledAt === undefined ? undefined : changesFrom(settledAt),
    changes: changesFrom(0),
    replicaSeconds,
    secondsAboveTarget,
    finalReplicas: replicasAt[DURATION_S - 1]!,
  };
}

const seconds = (n: number | undefined) => (n === undefined ? 'never' : `${n} s`);
const count = (n: number | undefined) => (n === undefined ? '—' : String(n));
function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return '—';
  if (b === 0) return a === 0 ? '1.00' : '∞';
  return (a / b).toFixed(2);
}

const results = traces.map((trace) => ({
  trace,
  ours: simulate(trace, rebound()),
  theirs: simulate(trace, hpa()),
}));

console.log(`control loops: ${machine()}`);
console.log(
  `simulated: ${CAPACITY} req/s per replica, target utilization ${TARGET}, start-up ${START_UP_S} s, ` +
    `rebound decides every ${REBOUND_INTERVAL_S} s (its default intervalMs, on the utilization of the ` +
    `ready replicas averaged over the interval, told how many are ready), HPA every ${HPA_INTERVAL_S} s ` +
    `(its sync period, on the utilization at that second), load changes at ${CHANGE_S} s, ` +
    `${DURATION_S} s per trace, replicas ${MIN_REPLICAS}-${MAX_REPLICAS}, starting at the initial load's need\n`,
);
/** The measures compared on each trace: label, the field of a Run, how its value is written. */
const measures: [string, keyof Run, (n: number | undefined) => string][] = [
  ['settling time', 'settling', seconds],
  ['overshoot (replicas)', 'overshoot', count],
  ['changes after settling', 'changesAfterSettling', count],
  ['replica-seconds', 'replicaSeconds', count],
  [`seconds above target (> ${(TARGET * (1 + BAND)).toFixed(2)})`, 'secondsAboveTarget', count],
  ['replicas at the end', 'finalReplicas', count],
];
const rows = results.flatMap(({ trace, ours, theirs }) =>
  measures.map(([label, key, write], index) => [
    index === 0 ? trace.name : '',
    label,
    write(ours[key]),
    write(theirs[key]),
    ratio(ours[key], theirs[key]),
  ]),
);
console.log(table(['trace', 'measure', 'rebound', 'HPA', 'rebound/HPA'], rows));

const total = (runs: Run[]) => runs.reduce((sum, run) => sum + run.replicaSeconds, 0);
const oursTotal = total(results.map((r) => r.ours));
const theirsTotal = total(results.map((r) => r.theirs));
console.log(
  `\nreplica-seconds over all five traces: rebound ${oursTotal}, HPA ${theirsTotal} ` +
    `(rebound/HPA ${ratio(oursTotal, theirsTotal)})`,
);

const stepResult = results[0]!;
const speedup =
  stepResult.ours.settling && stepResult.theirs.settling
    ? stepResult.theirs.settling / stepResult.ours.settling
    : 0;
const moreReplicaSeconds = results.filter((r) => r.ours.replicaSeconds > r.theirs.replicaSeconds);
const flapping = results.filter((r) => r.trace.noisy && r.ours.changesAfterSettling !== 0);
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
console.log('\ngoals (issue 7):');
console.log(
  `- settle at least 2x faster than HPA on the step: ${speedup.toFixed(2)}x ` +
    `(${seconds(stepResult.ours.settling)} vs ${seconds(stepResult.theirs.settling)}): ${verdict(speedup >= 2)}`,
);
console.log(
  `- no more replica-seconds than HPA: ${verdict(moreReplicaSeconds.length === 0)} trace by trace` +
    (moreReplicaSeconds.length > 0
      ? ` (more on: ${moreReplicaSeconds
          .map((r) => `${r.trace.name} +${r.ours.replicaSeconds - r.theirs.replicaSeconds}`)
          .join(', ')})`
      : '') +
    `; ${verdict(oursTotal <= theirsTotal)} over all traces (${oursTotal} vs ${theirsTotal})`,
);
console.log(
  `- zero changes after settling under ±5% noise: ${verdict(flapping.length === 0)}` +
    (flapping.length > 0 ? ` (changes on: ${flapping.map((r) => r.trace.name).join(', ')})` : ''),
);

// Evidence for the default interval: the same autoscaler with its defaults at other intervals, on
// the step (speed), over all traces (cost) and on noise wider than the tolerance band (flapping).
const intervals = [1, 2, 3, 5, 10, 15];
const hpaStep = stepResult.theirs.settling!;
const hpaWide = simulate(wideNoise, hpa());
console.log(
  `\nrebound's decision interval (its defaults otherwise; HPA: step ${hpaStep} s, ` +
    `${theirsTotal} replica-seconds, ${hpaWide.changes} changes and ${hpaWide.replicaSeconds} ` +
    `replica-seconds on ${wideNoise.name}):`,
);
console.log(
  table(
    [
      'intervalMs',
      'step settling',
      'HPA/rebound',
      'replica-seconds, 5 traces',
      'changes after settling, ±5% traces',
      `changes on ${wideNoise.name}`,
      'its replica-seconds',
    ],
    intervals.map((intervalS) => {
      const runs = traces.map((trace) => simulate(trace, rebound({}, { intervalS })));
      const wide = simulate(wideNoise, rebound({}, { intervalS }));
      const settling = runs[0]!.settling;
      return [
        intervalS * 1000 + (intervalS === REBOUND_INTERVAL_S ? ' (default)' : ''),
        seconds(settling),
        settling ? (hpaStep / settling).toFixed(2) : '—',
        total(runs),
        runs.filter((_, i) => traces[i]!.noisy).reduce((sum, r) => sum + (r.changesAfterSettling ?? 0), 0),
        wide.changes,
        wide.replicaSeconds,
      ];
    }),
  ),
);

// What the step's settling time is made of: dead-time awareness, the step limit, and a controller
// that waits for its replicas before deciding again (options of the same autoscaler, not defaults).
const variants: [string, Controller][] = [
  [`rebound defaults, every ${REBOUND_INTERVAL_S} s, told ready`, rebound()],
  [`rebound defaults, every ${REBOUND_INTERVAL_S} s, not told ready`, rebound({}, { ready: false })],
  [
    `rebound defaults, every ${REBOUND_INTERVAL_S} s, waiting until its replicas serve (rebound up before)`,
    rebound({}, { waitsForReady: true }),
  ],
  [
    `rebound maxStep { percent: 100, min: 4 } (HPA's scale-up policy), every ${REBOUND_INTERVAL_S} s`,
    rebound({ maxStep: { percent: 100, min: 4 } }),
  ],
  [
    `rebound maxStep { percent: 1000 } (no practical limit), every ${REBOUND_INTERVAL_S} s`,
    rebound({ maxStep: { percent: 1000 } }),
  ],
  ['rebound defaults, every 15 s (the previous default)', rebound({}, { intervalS: 15 })],
  ['HPA defaults, every 15 s', hpa()],
];
const floor = START_UP_S;
console.log(
  `\nstep trace by controller (floor: a decision the second the load changes + start-up = ${floor} s):`,
);
console.log(
  table(
    ['controller', 'settling', 'replica-seconds', 'overshoot'],
    variants.map(([name, controller]) => {
      const run = simulate(traces[0]!, controller);
      return [name, seconds(run.settling), run.replicaSeconds, run.overshoot];
    }),
  ),
);
