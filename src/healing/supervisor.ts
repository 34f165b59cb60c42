// Runs every service's replicas as real child processes: the supervisor `rebound up` builds on.

import { freemem } from 'node:os';
import { type Clock, Emitter, OptionProblems, type Subscribe, systemClock } from '../policies/index.ts';
import type { ServiceConfig } from './configTypes.ts';
import type { ReplicaView } from './controlPlaneTypes.ts';
import { ConflictError, UnknownServiceError } from './errors.ts';
import { STARTUP_GRACE_MS } from './healthChecker.ts';
import { isAlive, runsCommand, signalGroup } from './processes.ts';
import { ReplicaRecords } from './replicaRecords.ts';
import type { SupervisorContext } from './replicaSet.ts';
import { ServiceSupervisor } from './serviceSupervisor.ts';
import type { SupervisorEvent, SupervisorOptions, Upstream } from './supervisorTypes.ts';

export type { SupervisorEvent, SupervisorOptions, Upstream } from './supervisorTypes.ts';

/** Grace for a left-behind replica whose service is no longer in the config. */
const ORPHAN_GRACE_MS = 10_000;
/** How often a left-behind process (not our child: no exit event) is checked for being gone. */
const ORPHAN_POLL_MS = 20;

/**
 * Starts, watches and restarts replicas (see ServiceSupervisor for one service's rules) and
 * cleans up after itself: replicas are recorded in the store while they run, so a start after
 * rebound was killed (`kill -9` leaves its children running) finds them. It stops them rather than
 * adopting them: a process that is not our child gives no exit event and its output cannot be
 * read, so it could not be supervised; replacing it costs one start. If rebound exits without
 * `stop()` (an uncaught error), a `process.on('exit')` handler SIGKILLs every replica.
 */
const NO_PORTS: ReadonlySet<number> = new Set();

export class Supervisor {
  private readonly clock: Clock;
  private readonly records: ReplicaRecords;
  private readonly context: SupervisorContext;
  private readonly services = new Map<string, ServiceSupervisor>();
  private readonly eventEmitter = new Emitter<SupervisorEvent>();
  private readonly upstreamsEmitter = new Emitter<{ service: string }>();
  private readonly children = new Set<number>();
  private readonly log: (line: string) => void;
  private orphansChecked = false;
  private stopping: Promise<void> | undefined;

  readonly onEvent: Subscribe<SupervisorEvent> = this.eventEmitter.subscribe;
  /** The set of healthy replicas of `service` changed: read `upstreams(service)` again. */
  readonly onUpstreamsChange: Subscribe<{ service: string }> = this.upstreamsEmitter.subscribe;

  constructor(options: SupervisorOptions) {
    const problems = new OptionProblems();
    const records = (options.store as unknown as { records?: Record<string, unknown> } | undefined)?.records;
    if (typeof records !== 'object' || records === null) {
      problems.add('supervisor.store must be a Store (with records)');
    } else {
      for (const method of ['put', 'list', 'delete'])
        problems.func(`supervisor.store.records.${method}`, records[method], false);
    }
    problems.clock('supervisor.clock', options.clock);
    problems.func('supervisor.canRestart', options.canRestart);
    problems.nonEmptyString('supervisor.host', options.host);
    problems.func('supervisor.log', options.log);
    problems.func('supervisor.freeMemory', options.freeMemory);
    problems.number('supervisor.startupGraceMs', options.startupGraceMs, { min: 0, optional: true });
    problems.throwIfAny();

    this.clock = options.clock ?? systemClock;
    const log = options.log;
    this.log = log ? (line) => log(line) : () => {};
    this.records = new ReplicaRecords(options.store.records, (error) =>
      this.log(`[supervisor] could not write a replica record: ${String(error)}`),
    );
    this.context = {
      clock: this.clock,
      host: options.host ?? '127.0.0.1',
      canRestart: options.canRestart,
      freeMemory: options.freeMemory ?? freemem,
      startupGraceMs: options.startupGraceMs ?? STARTUP_GRACE_MS,
      reservedPorts: options.reservedPorts ?? (() => NO_PORTS),
      records: this.records,
      log: this.log,
      emit: (event) => this.eventEmitter.emit(event),
      upstreamsChanged: (service) => this.upstreamsEmitter.emit({ service }),
      children: this.children,
    };
  }

  /**
   * Stops the replicas a previous run left behind (first call only), then starts `count` replicas
   * of each service. Callers pass dependencies first: a service starts once the services it
   * depends on pass their probes (or give up, within their startup budget); services that do not
   * depend on each other start together. Resolves when every service has settled; a service that
   * does not come up is logged, not thrown (it is supervised all the same). Services already
   * supervised are refused.
   */
  async start(services: readonly ServiceConfig[]): Promise<void> {
    if (this.stopping) throw new ConflictError('the supervisor is stopped');
    const known = services.filter((service) => this.services.has(service.name));
    if (known.length > 0) {
      throw new ConflictError(`already supervised: ${known.map((service) => service.name).join(', ')}`);
    }
    if (!this.orphansChecked) {
      this.orphansChecked = true;
      process.on('exit', this.killChildren);
      await this.stopOrphans(services);
    }
    const settled = new Map<string, Promise<void>>();
    for (const config of services) {
      const service = new ServiceSupervisor(config, this.context);
      this.services.set(config.name, service);
      const dependencies = config.dependsOn.flatMap((name) => settled.get(name) ?? []);
      settled.set(
        config.name,
        Promise.all(dependencies).then(async () => {
          if (this.stopping) return;
          await service.start().catch((error: unknown) => this.log(`[${service.name}] ${String(error)}`));
        }),
      );
    }
    await Promise.all(settled.values());
  }

  replicas(service: string): ReplicaView[] {
    return this.service(service).replicas();
  }

  /** The replicas that pass their probe: what the gateway balances over (same array until it changes). */
  upstreams(service: string): Upstream[] {
    return this.service(service).upstreams;
  }

  isCritical(service: string): boolean {
    return this.service(service).isCritical;
  }

  revision(service: string): number {
    return this.service(service).revision;
  }

  /** Rolling restart: each replica replaced by a new one that passes before the old one stops. */
  restart(service: string): Promise<void> {
    return this.call(service, (s) => s.restart());
  }

  /** Graceful stop of every replica; no restarts until startService or restart. */
  stopService(service: string): Promise<void> {
    return this.call(service, (s) => s.stopAll());
  }

  /** Back to its replica count; clears critical. */
  startService(service: string): Promise<void> {
    return this.call(service, (s) => s.startAll());
  }

  /**
   * Adds replicas (resolving once they pass, or with `waitReady: false` once they are started) or
   * removes the surplus gracefully.
   */
  scale(service: string, count: number, options: { waitReady?: boolean } = {}): Promise<void> {
    return this.call(service, (s) => s.scale(count, options));
  }

  /** Replaces every replica with the new config, one at a time; the previous config is kept for rollback(). */
  rollout(config: ServiceConfig): Promise<void> {
    return this.call(config.name, (s) => s.rollout(config));
  }

  /** Rolls out the previous config; false when there is none. */
  rollback(service: string): Promise<boolean> {
    return this.call(service, (s) => s.rollback());
  }

  /** Stops a service for good and forgets it (a service removed from the config). */
  async removeService(service: string): Promise<void> {
    const supervisor = this.service(service);
    await supervisor.close();
    this.services.delete(service);
  }

  /** Stops everything gracefully (SIGTERM, SIGKILL after stopGraceMs) and waits for every exit. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.services.values()].map((service) => service.close()));
      await this.records.flush();
      process.off('exit', this.killChildren);
    })();
    return this.stopping;
  }

  private service(name: string): ServiceSupervisor {
    const service = this.services.get(name);
    if (!service) throw new UnknownServiceError(name);
    return service;
  }

  private call<T>(name: string, operation: (service: ServiceSupervisor) => Promise<T>): Promise<T> {
    try {
      return operation(this.service(name));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Synchronous, for process.on('exit'): no replica may outlive rebound. */
  private readonly killChildren = (): void => {
    for (const pid of this.children) signalGroup(pid, 'SIGKILL');
  };

  private async stopOrphans(services: readonly ServiceConfig[]): Promise<void> {
    let recorded: Awaited<ReturnType<ReplicaRecords['list']>>;
    try {
      recorded = await this.records.list();
    } catch (error) {
      this.log(`[supervisor] could not read the replica records: ${String(error)}`);
      return;
    }
    await Promise.all(
      recorded.map(async ({ id, data }) => {
        // Only a live process still running the recorded command is ours: a pid may have been reused.
        if (data && isAlive(data.pid) && runsCommand(data.pid, data.argv)) {
          const graceMs =
            services.find((service) => service.name === data.service)?.stopGraceMs ?? ORPHAN_GRACE_MS;
          this.log(`[${data.service}] stopping pid ${data.pid} (${data.id}), left behind by an earlier run`);
          await this.stopOrphan(data.pid, graceMs);
          this.eventEmitter.emit({ type: 'orphan-stopped', service: data.service, pid: data.pid });
        }
        await this.records.delete(id).catch((error: unknown) => this.log(`[supervisor] ${String(error)}`));
      }),
    );
  }

  private async stopOrphan(pid: number, graceMs: number): Promise<void> {
    signalGroup(pid, 'SIGTERM');
    signalGroup(pid, 'SIGCONT');
    if (await this.gone(pid, graceMs)) return;
    signalGroup(pid, 'SIGKILL');
    if (!(await this.gone(pid, ORPHAN_GRACE_MS))) this.log(`[supervisor] pid ${pid} survived SIGKILL`);
  }

  /** Polls until `pid` is gone (true) or `withinMs` passed (false). */
  private gone(pid: number, withinMs: number): Promise<boolean> {
    const deadline = this.clock.now() + withinMs;
    return new Promise((resolve) => {
      const check = () => {
        if (!isAlive(pid)) resolve(true);
        else if (this.clock.now() >= deadline) resolve(false);
        else this.clock.setTimeout(check, ORPHAN_POLL_MS);
      };
      check();
    });
  }
}
