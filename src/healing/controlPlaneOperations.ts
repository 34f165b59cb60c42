// What operators do through the API and the CLI: restart, stop, start and scale a service (each an
// attempt with source 'operator'), and reload the config with a rollout of every changed service.

import { AlertGate } from './alertGate.ts';
import { singleActionAttempt } from './attemptOutcome.ts';
import { loadConfig } from './config.ts';
import type { ReboundConfig } from './configTypes.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import { dependsOnOf } from './controlPlaneStates.ts';
import type { AttemptView } from './controlPlaneTypes.ts';
import { ConflictError, InvalidRequestError } from './errors.ts';
import { iso } from './incidents.ts';

export interface ControlPlaneOperationsOptions extends Pick<
  ControlPlaneContext,
  'config' | 'clock' | 'supervisor' | 'incidents' | 'engine' | 'known' | 'updateState' | 'recordAttempt'
> {
  setConfig: (config: ReboundConfig) => void;
  /** The file `reload()` re-reads; without it reload is refused. */
  configPath?: string;
  /** Services an operator stopped. */
  stopped: Set<string>;
  /** How many replicas each service should run. */
  desired: Map<string, number>;
  /** When each service's current revision was rolled out (epoch ms). */
  rolledOutAt: Map<string, number>;
}

export class ControlPlaneOperations {
  readonly #options: ControlPlaneOperationsOptions;

  constructor(options: ControlPlaneOperationsOptions) {
    this.#options = options;
  }

  async #operator(
    name: string,
    type: AttemptView['actions'][number]['type'],
    run: () => Promise<string>,
  ): Promise<AttemptView> {
    const { clock } = this.#options;
    this.#options.known(name);
    const startedAt = clock.now();
    let status: 'succeeded' | 'failed';
    let message: string;
    try {
      message = await run();
      status = 'succeeded';
    } catch (error) {
      message = (error as Error).message;
      status = 'failed';
    }
    const attempt = singleActionAttempt(
      {
        id: `op-${crypto.randomUUID()}`,
        source: 'operator',
        policy: null,
        service: name,
        trigger: { source: 'operator', metrics: {}, conditions: [] },
        outcome: `${type} by an operator ${status}: ${message}`,
      },
      { type, status, message, startedAt: iso(startedAt), endedAt: iso(clock.now()) },
    );
    this.#options.incidents.note(name, 'action', attempt.outcome, {
      data: { attempt: attempt.id, source: 'operator', type, status },
    });
    await this.#options.recordAttempt(attempt);
    this.#options.updateState(name);
    return attempt;
  }

  restartService(name: string): Promise<AttemptView> {
    const { supervisor, stopped, desired } = this.#options;
    return this.#operator(name, 'restart-service', async () => {
      stopped.delete(name);
      if (supervisor.replicas(name).length === 0) await supervisor.startService(name);
      else await supervisor.restart(name);
      return `restarted ${desired.get(name)} replica(s)`;
    });
  }

  stopService(name: string): Promise<AttemptView> {
    const { supervisor, stopped } = this.#options;
    return this.#operator(name, 'stop-service', async () => {
      stopped.add(name);
      await supervisor.stopService(name);
      return 'every replica stopped';
    });
  }

  startService(name: string): Promise<AttemptView> {
    const { supervisor, stopped, desired } = this.#options;
    return this.#operator(name, 'start-service', async () => {
      stopped.delete(name);
      await supervisor.startService(name);
      return `started ${desired.get(name)} replica(s)`;
    });
  }

  scaleService(name: string, replicas: number): Promise<AttemptView> {
    const { supervisor, desired } = this.#options;
    const { min, max } = this.#options.known(name).replicas;
    if (!Number.isInteger(replicas) || replicas < min || replicas > max) {
      throw new InvalidRequestError(
        `replicas must be an integer from ${min} to ${max} for ${name}, got ${replicas}`,
        {
          min,
          max,
        },
      );
    }
    return this.#operator(name, 'scale', async () => {
      const from = desired.get(name) ?? 0;
      desired.set(name, replicas);
      await supervisor.scale(name, replicas);
      return `scaled from ${from} to ${replicas} replicas`;
    });
  }

  async reload(): Promise<{ changed: string[] }> {
    const { config, setConfig, supervisor, incidents } = this.#options;
    const path = this.#options.configPath;
    if (!path) throw new InvalidRequestError('rebound up was started without a config file to reload');
    const next = await loadConfig(path);
    const before = Object.keys(config().services).sort().join(',');
    const after = Object.keys(next.services).sort().join(',');
    if (before !== after) {
      throw new InvalidRequestError(
        'adding or removing services needs a restart of rebound up; nothing was changed',
        {
          before: before.split(','),
          after: after.split(','),
        },
      );
    }
    const changed: string[] = [];
    const previous = config();
    // Services one at a time, dependencies first; the config switches only once every rollout
    // worked, so a failed one leaves the rest of the previous config (and its policies) in force.
    for (const service of AlertGate.order(dependsOnOf(previous)).map((name) => next.services[name]!)) {
      const old = previous.services[service.name]!;
      if (
        old.command !== service.command ||
        JSON.stringify(old.env) !== JSON.stringify(service.env) ||
        old.cwd !== service.cwd
      ) {
        try {
          await supervisor.rollout(service);
        } catch (error) {
          const done = changed.length > 0 ? `; already rolled out: ${changed.join(', ')}` : '';
          throw new ConflictError(
            `rollout of ${service.name} failed and its previous revision keeps running: ${(error as Error).message}${done}`,
          );
        }
        const current = config();
        setConfig({ ...current, services: { ...current.services, [service.name]: service } });
        this.#options.rolledOutAt.set(service.name, this.#options.clock.now());
        changed.push(`services.${service.name}`);
        incidents.note(service.name, 'action', `rolled out revision ${supervisor.revision(service.name)}`, {
          data: { revision: supervisor.revision(service.name) },
        });
      }
      if (old.replicas.count !== service.replicas.count) {
        await supervisor.scale(service.name, service.replicas.count);
        this.#options.desired.set(service.name, service.replicas.count);
        changed.push(`services.${service.name}.replicas`);
      }
    }
    setConfig(next);
    if (
      JSON.stringify([previous.policies, previous.limits, previous.permissions]) !==
      JSON.stringify([next.policies, next.limits, next.permissions])
    ) {
      this.#options.engine().updatePolicies(next.policies, next.limits, next.permissions);
      changed.push('policies');
    }
    return { changed };
  }
}
