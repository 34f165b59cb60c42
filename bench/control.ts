// Control-loop benchmark (issue 7): a simulated service under step, ramp, spike and noisy loads,
// scaled by rebound's autoscaler with its defaults and by Kubernetes' HPA rule with its defaults, on
// the same traces. Deterministic and in simulated time (one tick per second, seeded noise): the
// figures are the same on every run and every machine.

import { type AutoscalerOptions, autoscaler } from 'rebound/control';
import { seeded } from '../test/support/seeded.ts';
import { machine, table } from './harness.ts';

/** Requests per second one replica serves at utilization 1. */
const CAPACITY = 10;
const TARGET = 0.7;
/** Utilization within ±10% of the target counts as settled; above the band counts as overloaded. */
const BAND = 0.1;
/** Seconds from a replica's start until it serves (the same for both controllers). */
const START_UP_S = 10;
/** HPA's sync period; rebound decides at the same interval. */
const INTERVAL_S = 15;
const DURATION_S = 900;
/** Mid-way between two decisions, so neither controller sees a change the second it happens. */
const CHANGE_S = 67;
const MIN_REPLICAS = 1;
const MAX_REPLICAS = 100;

/** Decides a replica count at each sync from the current count and the utilization of ready replicas. */
type Decide = (replicas: number, utilization: number, atMs: number) => number;

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
  replicaSeconds: number;
  secondsAboveTarget: number;
  /** Replicas at the end of the trace. */
  finalReplicas: number;
}

const need = (load: number) => Math.ceil(load / (TARGET * CAPACITY) - 1e-9);

function noisy(nominal: (t: number) => number, seed: number): (t: number) => number {
  const random = seeded(seed);
  const noise = Array.from({ length: DURATION_S }, () => 1 + (random() * 2 - 1) * 0.05);
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

function rebound(options: Partial<AutoscalerOptions> = {}): Decide {
  const scaler = autoscaler({ target: TARGET, min: MIN_REPLICAS, max: MAX_REPLICAS, ...options });
  return (replicas, value, atMs) => scaler.recommend({ replicas, value, atMs });
}

/**
 * Kubernetes' HPA with its defaults (autoscaling/v2): desired = ceil(current × value / target)
 * unless |value / target − 1| <= 0.1; scale down only to the highest recommendation of the last
 * 300 s; scale up by at most max(4 pods, 100%) per 15 s period; scale down by up to 100% per 15 s.
 */
function hpa(): Decide {
  const recommendations: { replicas: number; atMs: number }[] = [];
  return (replicas, value, atMs) => {
    const ratio = value / TARGET;
    let desired = Math.abs(ratio - 1) <= 0.1 ? replicas : Math.ceil(replicas * ratio - 1e-9);
    desired = Math.min(MAX_REPLICAS, Math.max(MIN_REPLICAS, desired));
    recommendations.push({ replicas: desired, atMs });
    while (recommendations[0]!.atMs <= atMs - 300_000) recommendations.shift();
    if (desired < replicas) desired = Math.min(replicas, Math.max(...recommendations.map((r) => r.replicas)));
    return Math.min(desired, Math.max(replicas + 4, replicas * 2));
  };
}

function simulate(trace: Trace, decide: Decide): Run {
  // One entry per replica: the second it starts serving. New replicas go last; a scale-down
  // removes the newest first (those still starting, as Kubernetes does).
  const readyAt: number[] = Array.from({ length: need(trace.nominal(0)) }, () => 0);
  const replicasAt: number[] = [];
  const utilizationAt: number[] = [];
  let replicaSeconds = 0;
  let secondsAboveTarget = 0;
  for (let t = 0; t < DURATION_S; t++) {
    const ready = readyAt.filter((at) => at <= t).length;
    const utilization = ready === 0 ? Number.POSITIVE_INFINITY : trace.load(t) / (ready * CAPACITY);
    if (t % INTERVAL_S === 0) {
      const desired = decide(readyAt.length, utilization, t * 1000);
      while (readyAt.length < desired) readyAt.push(t + START_UP_S);
      readyAt.length = desired;
    }
    replicasAt.push(readyAt.length);
    utilizationAt.push(utilization);
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
  let changesAfterSettling: number | undefined;
  if (settledAt !== undefined) {
    changesAfterSettling = 0;
    for (let t = settledAt + 1; t < DURATION_S; t++)
      if (replicasAt[t] !== replicasAt[t - 1]) changesAfterSettling++;
  }
  return {
    settling: settledAt === undefined ? undefined : settledAt - trace.changeAt,
    overshoot: Math.max(0, Math.max(...replicasAt) - peakNeed),
    changesAfterSettling,
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
    `decisions every ${INTERVAL_S} s, load changes at ${CHANGE_S} s, ${DURATION_S} s per trace, ` +
    `replicas ${MIN_REPLICAS}-${MAX_REPLICAS}, starting at the initial load's need\n`,
);
const rows: (string | number)[][] = [];
for (const { trace, ours, theirs } of results) {
  rows.push(
    [
      trace.name,
      'settling time',
      seconds(ours.settling),
      seconds(theirs.settling),
      ratio(ours.settling, theirs.settling),
    ],
    ['', 'overshoot (replicas)', ours.overshoot, theirs.overshoot, ratio(ours.overshoot, theirs.overshoot)],
    [
      '',
      'changes after settling',
      count(ours.changesAfterSettling),
      count(theirs.changesAfterSettling),
      ratio(ours.changesAfterSettling, theirs.changesAfterSettling),
    ],
    [
      '',
      'replica-seconds',
      ours.replicaSeconds,
      theirs.replicaSeconds,
      ratio(ours.replicaSeconds, theirs.replicaSeconds),
    ],
    [
      '',
      `seconds above target (> ${(TARGET * (1 + BAND)).toFixed(2)})`,
      ours.secondsAboveTarget,
      theirs.secondsAboveTarget,
      ratio(ours.secondsAboveTarget, theirs.secondsAboveTarget),
    ],
    [
      '',
      'replicas at the end',
      ours.finalReplicas,
      theirs.finalReplicas,
      ratio(ours.finalReplicas, theirs.finalReplicas),
    ],
  );
}
console.log(table(['trace', 'measure', 'rebound', 'HPA', 'rebound/HPA'], rows));

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
  `- no more replica-seconds than HPA: ${verdict(moreReplicaSeconds.length === 0)}` +
    (moreReplicaSeconds.length > 0
      ? ` (more on: ${moreReplicaSeconds.map((r) => r.trace.name).join(', ')})`
      : ''),
);
console.log(
  `- zero changes after settling under ±5% noise: ${verdict(flapping.length === 0)}` +
    (flapping.length > 0 ? ` (changes on: ${flapping.map((r) => r.trace.name).join(', ')})` : ''),
);

// What the step's settling time is made of, and what other step limits would give (options of the
// same autoscaler, not its defaults): evidence for what the defaults would need to change.
const variants: [string, Decide][] = [
  ['rebound defaults (maxStep 20%, min 1)', rebound()],
  [
    "rebound maxStep { percent: 100, min: 4 } (HPA's scale-up policy)",
    rebound({ maxStep: { percent: 100, min: 4 } }),
  ],
  ['rebound maxStep { percent: 1000 } (no practical limit)', rebound({ maxStep: { percent: 1000 } })],
  ['HPA defaults', hpa()],
];
const floor = Math.ceil(CHANGE_S / INTERVAL_S) * INTERVAL_S - CHANGE_S + START_UP_S;
console.log(`\nstep trace, settling time by step limit (floor: next decision + start-up = ${floor} s):`);
console.log(
  table(
    ['controller', 'settling', 'replica-seconds', 'overshoot'],
    variants.map(([name, decide]) => {
      const run = simulate(traces[0]!, decide);
      return [name, seconds(run.settling), run.replicaSeconds, run.overshoot];
    }),
  ),
);
