// The built-in healing actions (SPEC 4.2): what `restart-service`, `scale-up`, `failover`, … do to
// the supervisor and the gateways, including recovery chosen by failure type.

import { execFile } from 'node:child_process';
import type { ActionConfig, ReboundConfig } from './configTypes.ts';
import type { Gateway } from './gateway.ts';
import type { ActionOutcome, Actuator } from './policyEngine.ts';
import type { Supervisor } from './supervisor.ts';

export interface BuiltInActionsOptions {
  config: () => ReboundConfig;
  supervisor: Supervisor;
  gateways: ReadonlyMap<string, Gateway>;
  /** Dependencies of the service that are down now (a restart would not help while they are). */
  downDependencies(service: string): string[];
  /** When the service's current revision was rolled out (epoch ms); undefined: never, or rolled back since. */
  rolledOutAt(service: string): number | undefined;
  /** Told after a rollback, so that a later restart is a restart, not a roll forward to the bad release. */
  rolledBack(service: string): void;
  /** Pages on-call for the attempt (held back while the attempt may still heal the service). */
  page(service: string, policy: string, attemptId: string): Promise<void> | void;
  /** Replicas desired now. */
  replicaCount(service: string): number;
  /** Records a new desired count (after scaling). */
  setReplicaCount(service: string, count: number): void;
  now(): number;
  log(line: string): void;
}

/**
 * A latency or error regression within this long of a rollout is blamed on the rollout: the
 * restart a policy asks for becomes a rollback to the previous revision.
 */
export const ROLLOUT_SUSPECT_MS = 600_000;

const ok = (message: string): ActionOutcome => ({ ok: true, message });
const failed = (message: string): ActionOutcome => ({ ok: false, message });

export function builtInActions(options: BuiltInActionsOptions): Actuator {
  const { supervisor } = options;

  async function restart(service: string): Promise<ActionOutcome> {
    const down = options.downDependencies(service);
    if (down.length > 0) {
      // A failing dependency is healed by waiting for it, not by restarting its dependents.
      return failed(`not restarted: its dependency ${down.join(', ')} is down; waiting for it to recover`);
    }
    const rolledOutAt = options.rolledOutAt(service);
    if (rolledOutAt !== undefined && options.now() - rolledOutAt < ROLLOUT_SUSPECT_MS) {
      const from = supervisor.revision(service);
      if (await supervisor.rollback(service)) {
        options.rolledBack(service);
        return ok(
          `rolled back the rollout of revision ${from} (revision ${supervisor.revision(service)} runs the previous config): the regression followed that rollout`,
        );
      }
    }
    await supervisor.restart(service);
    return ok(`restarted ${options.replicaCount(service)} replica(s) one at a time`);
  }

  async function scale(service: string, by: number): Promise<ActionOutcome> {
    const { min, max } = options.config().services[service]!.replicas;
    const current = options.replicaCount(service);
    const wanted = Math.min(max, Math.max(min, current + by));
    if (wanted === current) {
      return failed(`already at ${by > 0 ? `max (${max})` : `min (${min})`} replicas`);
    }
    await supervisor.scale(service, wanted);
    options.setReplicaCount(service, wanted);
    return ok(`scaled from ${current} to ${wanted} replicas`);
  }

  function gatewayOf(service: string): Gateway | undefined {
    return options.gateways.get(service);
  }

  return {
    async run(action: ActionConfig, context): Promise<ActionOutcome> {
      const { service } = context;
      switch (action.type) {
        case 'restart-service':
          return restart(service);
        case 'scale-up':
          return scale(service, action.by);
        case 'scale-down':
          return scale(service, -action.by);
        case 'enable-circuit-breaker': {
          const gateway = gatewayOf(service);
          if (!gateway) return failed('the service has no gateway, so no breaker to enable');
          gateway.setBreakerEnabled(true);
          return ok('circuit breaker enabled at the gateway');
        }
        case 'fallback-mode': {
          const gateway = gatewayOf(service);
          if (!gateway) return failed('the service has no gateway to answer the fallback');
          if (!options.config().services[service]!.fallback) {
            return failed('the service has no fallback configured');
          }
          gateway.setFallbackMode(true);
          return ok('gateway answers with the fallback response');
        }
        case 'failover': {
          const gateway = gatewayOf(service);
          const target = action.target ?? options.config().services[service]!.failover?.target;
          if (!gateway) return failed('the service has no gateway to fail over');
          if (!target) return failed('no failover target configured');
          const targetGateway = gatewayOf(target);
          if (!targetGateway) return failed(`failover target ${target} has no gateway`);
          if (supervisor.upstreams(target).length === 0) {
            return failed(`failover target ${target} has no healthy replica`);
          }
          gateway.setFailover({ service: target, ...targetGateway.address });
          return ok(`traffic failed over to ${target}; fails back once ${service} is healthy`);
        }
        case 'rollback-deployment': {
          const from = supervisor.revision(service);
          if (!(await supervisor.rollback(service))) return failed('no previous revision to roll back to');
          options.rolledBack(service);
          return ok(
            `rolled back the rollout of revision ${from} (revision ${supervisor.revision(service)} runs the previous config)`,
          );
        }
        case 'alert-oncall':
          await options.page(service, context.policy, context.attemptId);
          return ok('on-call paged (held back while the healing may still work)');
        case 'exec':
          return runCommand(action.argv, action.timeoutMs, service);
      }
    },
  };
}

/** Runs a configured command directly (never through a shell) with SERVICE in its environment. */
function runCommand(argv: readonly string[], timeoutMs: number, service: string): Promise<ActionOutcome> {
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutMs, env: { ...process.env, SERVICE: service }, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim().slice(-500);
        if (error)
          resolve(failed(`${argv[0]} failed: ${error.message.split('\n')[0]}${output ? `: ${output}` : ''}`));
        else resolve(ok(`${argv[0]} succeeded${output ? `: ${output}` : ''}`));
      },
    );
  });
}
