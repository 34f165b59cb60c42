// What a run checks: the steady-state probes (is the target healthy, probe by probe, as the journal
// records it) and the blast radius (may the method touch that many replicas).

import { conditionHolds, describeProbe } from './experimentJournal.ts';
import type {
  ChaosTarget,
  Experiment,
  ProbeResult,
  SteadyStateProbe,
  SteadyStateResult,
} from './experimentTypes.ts';

/** Runs every probe (HTTP ones concurrently); met when each one is. No probe at all is met. */
export async function evaluateSteadyState(
  target: ChaosTarget,
  service: string,
  probes: readonly SteadyStateProbe[],
): Promise<SteadyStateResult> {
  const results = await Promise.all(probes.map((probe) => evaluateProbe(target, service, probe)));
  return { met: results.every((result) => result.met), probes: results };
}

async function evaluateProbe(
  target: ChaosTarget,
  service: string,
  probe: SteadyStateProbe,
): Promise<ProbeResult> {
  const name = describeProbe(probe);
  try {
    if (probe.kind === 'metric') {
      const value = target.metrics(service)[probe.metric];
      if (typeof value !== 'number' || Number.isNaN(value)) {
        return { name, met: false, output: { error: `no ${probe.metric} measured yet` } };
      }
      return { name, met: conditionHolds(probe, { [probe.metric]: value }), output: { value } };
    }
    const answer = await target.request(service, probe.path, probe.timeoutMs);
    const expected = probe.expectStatus;
    const met =
      typeof expected === 'number'
        ? answer.status === expected
        : answer.status >= expected[0] && answer.status <= expected[1];
    return { name, met, output: { status: answer.status, ms: answer.ms } };
  } catch (error) {
    return { name, met: false, output: { error: messageOf(error) } };
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `GET / answers 200, latency_p99 < 200`: the probes that did not hold. */
export function unmetProbes(result: SteadyStateResult): string {
  return result.probes
    .filter((probe) => !probe.met)
    .map((probe) => {
      const output = probe.output;
      const seen =
        'error' in output
          ? String(output.error)
          : 'status' in output
            ? `got ${String(output.status)}`
            : `got ${String(output.value)}`;
      return `${probe.name} (${seen})`;
    })
    .join(', ');
}

/** Why a kill or pause would touch more replicas than the blast radius allows, if it would. */
export function blastRadiusProblem(experiment: Experiment, replicaCount: number): string | undefined {
  const radius = experiment.blastRadius;
  if (!radius) return undefined;
  for (const step of experiment.method) {
    if (step.kind !== 'fault' || (step.fault.kind !== 'kill' && step.fault.kind !== 'pause')) continue;
    const wanted = step.fault.replicas;
    if (radius.maxReplicas !== undefined && wanted > radius.maxReplicas) {
      return `${step.fault.kind} of ${wanted} replicas exceeds blastRadius.maxReplicas ${radius.maxReplicas}`;
    }
    if (radius.maxPercent !== undefined) {
      const allowed = Math.floor((replicaCount * radius.maxPercent) / 100);
      if (wanted > allowed) {
        return `${step.fault.kind} of ${wanted} of ${replicaCount} replicas exceeds blastRadius.maxPercent ${radius.maxPercent}% (at most ${allowed})`;
      }
    }
  }
  return undefined;
}
