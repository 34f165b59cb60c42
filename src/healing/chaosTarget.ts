// What chaos experiments run against inside `rebound up`: the ChaosTarget of rebound/chaos over the
// control plane's services: faults become gateway toxics, signals to replicas, or load beside them.

import {
  type ActiveFault,
  type ChaosTarget,
  cpuPressure,
  type FaultSpec,
  killProcesses,
  memoryPressure,
  pauseProcesses,
  type ToxicInput,
} from '../chaos/index.ts';
import { EXPERIMENT_ROLLBACK_ACTIONS } from './configTypes.ts';
import type { ControlPlane } from './controlPlaneTypes.ts';
import { isNotFoundError } from './errors.ts';
import type { Gateway } from './gateway.ts';
import type { HttpToxicInput } from './gatewayToxics.ts';

/** A toxic to add, less its name (each one gets its own); `Omit` over each member of the union. */
type UnnamedToxic<T = ToxicInput | HttpToxicInput> = T extends unknown ? Omit<T, 'name'> : never;

/** The rollback actions in words: "restart-service, start-service, stop-service or scale". */
const ROLLBACK_ACTIONS_TEXT = `${EXPERIMENT_ROLLBACK_ACTIONS.slice(0, -1).join(', ')} or ${EXPERIMENT_ROLLBACK_ACTIONS.at(-1)}`;

/** The longest a process fault may last, whatever the run planned. */
const PROCESS_FAULT_LIMIT_MS = 600_000;

export interface ControlPlaneChaosTargetOptions {
  plane: ControlPlane;
  gateways: ReadonlyMap<string, Gateway>;
  metrics(service: string): Readonly<Record<string, number>>;
  hasOpenIncident(service: string): boolean;
}

export function controlPlaneChaosTarget(options: ControlPlaneChaosTargetOptions): ChaosTarget {
  const { plane } = options;
  let toxics = 0;

  function gatewayOf(service: string): Gateway {
    const gateway = options.gateways.get(service);
    if (!gateway) throw new Error(`${service} has no gateway, where network faults are injected`);
    return gateway;
  }

  function healthyPids(service: string, count: number): number[] {
    const pids = plane
      .service(service)
      .replicas.filter((replica) => replica.state === 'healthy' && replica.pid !== undefined)
      .map((replica) => replica.pid!);
    if (pids.length < count)
      throw new Error(`${service} has ${pids.length} healthy replica(s), ${count} asked`);
    return pids.slice(0, count);
  }

  function toxic(service: string, input: UnnamedToxic, description: string): ActiveFault {
    const gateway = gatewayOf(service);
    const name = `chaos-${input.type}-${++toxics}`;
    gateway.addToxic({ ...input, name });
    return {
      description,
      remove: async () => {
        try {
          gateway.removeToxic(name);
        } catch (error) {
          if (!isNotFoundError(error)) throw error; // removed already (the toxics were reset)
        }
      },
    };
  }

  async function inject(
    service: string,
    fault: FaultSpec,
    intensity: number,
    expiresInMs: number,
  ): Promise<ActiveFault> {
    // Process faults outlive this process if it dies (a paused replica stays paused): bound them.
    const limitMs = Math.min(PROCESS_FAULT_LIMIT_MS, Math.max(1, Math.ceil(expiresInMs)));
    switch (fault.kind) {
      case 'kill': {
        const pids = healthyPids(service, fault.replicas);
        killProcesses(pids);
        return { description: `killed pid ${pids.join(', ')} of ${service}`, remove: async () => {} };
      }
      case 'pause': {
        const pids = healthyPids(service, fault.replicas);
        const paused = pauseProcesses(pids, limitMs);
        return {
          description: `paused pid ${pids.join(', ')} of ${service}`,
          remove: async () => paused.stop(),
        };
      }
      case 'cpu': {
        const load = cpuPressure({ workers: fault.workers, durationMs: limitMs });
        return {
          description: `${fault.workers} busy CPU worker(s) beside ${service}`,
          remove: async () => load.stop(),
        };
      }
      case 'memory': {
        const held = memoryPressure({ mb: fault.mb, durationMs: limitMs });
        return { description: `${fault.mb} MB held beside ${service}`, remove: async () => held.stop() };
      }
      case 'down':
        // Down for real: every replica stopped (its dependents see it go), started again on removal.
        await plane.stopService(service);
        return {
          description: `${service} stopped`,
          remove: async () => {
            await plane.startService(service);
          },
        };
      case 'latency':
        return toxic(
          service,
          {
            type: 'latency',
            stream: 'downstream',
            toxicity: intensity,
            attributes: { latency: fault.ms, jitter: fault.jitterMs },
          },
          `${fault.ms} ms (±${fault.jitterMs}) latency at ${service}'s gateway`,
        );
      case 'bandwidth':
        return toxic(
          service,
          { type: 'bandwidth', stream: 'downstream', toxicity: intensity, attributes: { rate: fault.rate } },
          `${fault.rate} KB/s at ${service}'s gateway`,
        );
      case 'reset-peer':
        return toxic(
          service,
          { type: 'reset_peer', stream: 'downstream', toxicity: intensity, attributes: { timeout: 0 } },
          `connections reset at ${service}'s gateway`,
        );
      case 'http-error':
        return toxic(
          service,
          { type: 'http-error', toxicity: intensity, attributes: { status: fault.status } },
          `${fault.status} answered for ${Math.round(intensity * 100)}% of requests at ${service}'s gateway`,
        );
      case 'fail-first':
        return toxic(
          service,
          { type: 'fail-first', toxicity: 1, attributes: { requests: fault.requests, status: fault.status } },
          `the first ${fault.requests} requests at ${service}'s gateway fail with ${fault.status}`,
        );
    }
  }

  return {
    services: () => plane.services().map((service) => service.name),
    metrics: (service) => options.metrics(service),
    hasOpenIncident: (service) => options.hasOpenIncident(service),
    replicaPids: (service) =>
      plane
        .service(service)
        .replicas.filter((replica) => replica.pid !== undefined)
        .map((replica) => replica.pid!),
    async request(service, path, timeoutMs) {
      const { host, port } = gatewayOf(service).address;
      const started = performance.now();
      try {
        const response = await fetch(`http://${host}:${port}${path}`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer();
        return { status: response.status, ms: performance.now() - started };
      } catch {
        return { status: 0, ms: performance.now() - started };
      }
    },
    injectFault: inject,
    async runAction(service, action, params) {
      switch (action) {
        case 'restart-service':
          return (await plane.restartService(service)).outcome;
        case 'start-service':
          return (await plane.startService(service)).outcome;
        case 'stop-service':
          return (await plane.stopService(service)).outcome;
        case 'scale':
          return (await plane.scaleService(service, Number(params.replicas))).outcome;
        default:
          throw new Error(`unknown rollback action ${JSON.stringify(action)}: use ${ROLLBACK_ACTIONS_TEXT}`);
      }
    },
  };
}
