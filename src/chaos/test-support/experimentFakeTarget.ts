// A scripted ChaosTarget for the experiment tests: metrics, answers and incidents set by the test,
// every injection, removal and action recorded with the clock's time.

import type { Clock } from '../../policies/index.ts';
import type { ActiveFault, ChaosTarget, FaultSpec } from '../experimentTypes.ts';

export interface FakeTargetState {
  services: string[];
  metrics: Record<string, number>;
  /** What a request through the gateway answers now. */
  status: () => number;
  incident: boolean;
  pids: number[];
  /** Faults currently in place, by kind. */
  active: Set<string>;
  /** `expiresInMs`: how long the run let the fault live unremoved. */
  injected: { kind: string; intensity: number; at: number; expiresInMs: number }[];
  removed: { kind: string; at: number }[];
  actions: { action: string; params: Record<string, unknown>; at: number }[];
  /** Actions that throw. */
  failingActions: Set<string>;
  /** Fault kinds whose injection throws. */
  failingFaults: Set<string>;
  /** Milliseconds (of the clock) an injection takes. */
  injectDelayMs: number;
  /** Called after each injection, e.g. to make the service answer 503 after a kill. */
  onInject?: (fault: FaultSpec) => void;
}

export function fakeTarget(clock: Clock, initial: Partial<FakeTargetState> = {}) {
  const state: FakeTargetState = {
    services: ['payment-api'],
    metrics: { latency_p99: 50, error_rate: 0 },
    status: () => 200,
    incident: false,
    pids: [101, 102],
    active: new Set(),
    injected: [],
    removed: [],
    actions: [],
    failingActions: new Set(),
    failingFaults: new Set(),
    injectDelayMs: 0,
    ...initial,
  };
  const target: ChaosTarget = {
    services: () => state.services,
    metrics: () => state.metrics,
    request: async () => ({ status: state.status(), ms: 3 }),
    hasOpenIncident: () => state.incident,
    replicaPids: () => state.pids,
    async injectFault(_service, fault, intensity, expiresInMs): Promise<ActiveFault> {
      if (state.injectDelayMs > 0) {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, state.injectDelayMs));
      }
      if (state.failingFaults.has(fault.kind)) throw new Error(`cannot inject ${fault.kind}`);
      state.injected.push({ kind: fault.kind, intensity, at: clock.now(), expiresInMs });
      if (fault.kind !== 'kill') state.active.add(fault.kind);
      state.onInject?.(fault);
      return {
        description: `${fault.kind} on payment-api`,
        remove: async () => {
          state.active.delete(fault.kind);
          state.removed.push({ kind: fault.kind, at: clock.now() });
        },
      };
    },
    async runAction(_service, action, params) {
      state.actions.push({ action, params, at: clock.now() });
      if (state.failingActions.has(action)) throw new Error(`${action} failed`);
      return `${action} done`;
    },
  };
  return { target, state };
}

/** Moves a manual clock on in small steps until the promise settles (at most `limitMs`). */
export async function settle<T>(
  promise: Promise<T>,
  clock: { tickAsync(ms: number): Promise<void> },
  limitMs = 120_000,
  stepMs = 10,
): Promise<T> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let elapsed = 0; !settled && elapsed < limitMs; elapsed += stepMs) await clock.tickAsync(stepMs);
  if (!settled) throw new Error(`still pending after ${limitMs} ms of clock time`);
  return promise;
}
