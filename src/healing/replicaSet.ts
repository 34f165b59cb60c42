// The replicas of one service kept alive: spawned, probed, taken out of rotation when they fail,
// and restarted within the restart budget after a crash or a hang (restartBackoff.ts has the rules).

import { type ChildProcess, spawn } from 'node:child_process';
import type { Clock } from '../policies/index.ts';
import type { ServiceConfig } from './configTypes.ts';
import type { ReplicaView } from './controlPlaneTypes.ts';
import { ConflictError } from './errors.ts';
import { HealthChecker, startupBudgetMs } from './healthChecker.ts';
import { forwardLines, freePort, residentMemoryBytes, signalGroup } from './processes.ts';
import { Replica, type ReplicaProcess } from './replica.ts';
import type { ReplicaRecords } from './replicaRecords.ts';
import { memoryHold, memoryNote } from './resources.ts';
import { MIN_UPTIME_MS, RestartBudget, restartDelayMs } from './restartBackoff.ts';
import { ReplicaStartError } from './supervisorErrors.ts';
import type { SupervisorEvent, Upstream } from './supervisorTypes.ts';

/** A held restart (dependency down, memory short) is asked about again this often. */
export const HOLD_RECHECK_MS = 500;

/** What every service's supervisor shares with the others. */
export interface SupervisorContext {
  readonly clock: Clock;
  readonly host: string;
  readonly canRestart: ((service: string) => string | undefined) | undefined;
  readonly freeMemory: () => number;
  readonly startupGraceMs: number;
  /** Ports the config gives to others (API, gateways, fault proxies): never a replica's. */
  readonly reservedPorts: () => ReadonlySet<number>;
  readonly records: ReplicaRecords;
  log(line: string): void;
  emit(event: SupervisorEvent): void;
  upstreamsChanged(service: string): void;
  /** Live processes, SIGKILLed should rebound exit without stopping them. */
  readonly children: Set<number>;
}

/**
 * The replica mechanics ServiceSupervisor's operations build on. A replica that has passed its
 * probe once is restarted automatically when it exits or hangs; a `candidate` (started by an
 * operation) that fails before passing is removed instead, and the operation is told why.
 */
export class ReplicaSet {
  readonly name: string;
  protected readonly context: SupervisorContext;
  /** The config new replicas run. */
  protected config: ServiceConfig;
  protected currentRevision = 1;
  protected list: Replica[] = [];
  private nextOrdinal = 1;
  protected critical = false;
  /** Stopped by an operator (or by close): nothing is restarted until started again. */
  protected halted = false;
  protected closed = false;
  private readonly budget = new RestartBudget();
  private healthy: Upstream[] = [];

  constructor(config: ServiceConfig, context: SupervisorContext) {
    this.name = config.name;
    this.config = config;
    this.context = context;
  }

  get revision(): number {
    return this.currentRevision;
  }

  get isCritical(): boolean {
    return this.critical;
  }

  /** The replicas passing their probe; the same array until that set changes. */
  get upstreams(): Upstream[] {
    return this.healthy;
  }

  replicas(): ReplicaView[] {
    return this.list.map((replica) => replica.view());
  }

  /** Replicas stopped (critical) or waiting to restart are started now. */
  protected revive(): Replica[] {
    const revived: Replica[] = [];
    for (const replica of this.list) {
      if (replica.state !== 'stopped' && replica.state !== 'backoff') continue;
      this.cancelTimer(replica);
      replica.heldReason = undefined;
      replica.rearm();
      replica.moveTo('starting');
      void this.launch(replica);
      revived.push(replica);
    }
    return revived;
  }

  /** An operator or a policy took over: the restart budget and the backoff start afresh. */
  protected forgiveFailures(): void {
    this.critical = false;
    this.budget.reset();
    for (const replica of this.list) replica.quickFailures = 0;
  }

  /** How long a new replica may take to pass before it is given up on. */
  private readyTimeoutMs(replica: Replica): number {
    const health = replica.config.health;
    return startupBudgetMs(health, this.context.startupGraceMs) + health.probe.timeoutMs + 1_000;
  }

  /** Waits for every replica to pass; rejects with the first that cannot within its time. */
  protected async allReady(replicas: readonly Replica[]): Promise<void> {
    await Promise.all(replicas.map((replica) => this.ready(replica, false)));
  }

  protected candidateReady(replica: Replica): Promise<void> {
    return this.ready(replica, true);
  }

  private ready(replica: Replica, candidate: boolean): Promise<void> {
    const timeoutMs = this.readyTimeoutMs(replica);
    return new Promise<void>((resolve, reject) => {
      const timer = this.context.clock.setTimeout(() => {
        const reason = `did not become healthy within ${timeoutMs} ms`;
        if (candidate) this.failCandidate(replica, reason);
        else reject(new ReplicaStartError(this.name, replica.id, reason));
      }, timeoutMs);
      replica.ready.then(
        () => {
          this.context.clock.clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          this.context.clock.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  // -------------------------------------------------------------------------------------------
  // Replicas

  protected add(config: ServiceConfig, revision: number, candidate: boolean): Replica {
    if (this.closed) throw new ConflictError(`${this.name} is being stopped with the supervisor`);
    const replica = new Replica(`r${this.nextOrdinal++}`, config, revision, candidate);
    this.list.push(replica);
    void this.launch(replica);
    return replica;
  }

  /** Stops a replica gracefully and forgets it. */
  protected async retire(replica: Replica): Promise<void> {
    await this.stop(replica);
    this.list = this.list.filter((r) => r !== replica);
  }

  /** Spawns the replica's process; the replica is `starting`. */
  private async launch(replica: Replica): Promise<void> {
    const launch = ++replica.launches;
    const { host } = this.context;
    let port: number;
    try {
      port = await freePort(host, this.context.reservedPorts());
    } catch (error) {
      this.context.log(`[${this.name}/${replica.id}] no free port: ${String(error)}`);
      port = 0;
    }
    // Stopped (and perhaps started again) while the port was being found.
    if (launch !== replica.launches || replica.state !== 'starting' || replica.process) return;
    const { config } = replica;
    let child: ChildProcess | undefined;
    let spawnError: Error | undefined;
    try {
      child = spawn(config.argv[0]!, config.argv.slice(1), {
        cwd: config.cwd,
        env: { ...process.env, ...config.env, PORT: String(port), HOST: host },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: a Ctrl-C at rebound's terminal reaches rebound only (which stops
        // replicas in order), and a signal to the group also reaches whatever the replica started.
        detached: true,
      });
    } catch (error) {
      spawnError = error as Error;
    }
    let markExited = () => {};
    const run: ReplicaProcess = {
      pid: child?.pid ?? 0,
      port,
      startedAt: this.context.clock.now(),
      checker: undefined,
      stopRequested: false,
      hung: false,
      lastFailure: undefined,
      rssBytes: undefined,
      exited: false,
      exit: new Promise<void>((resolve) => (markExited = resolve)),
      markExited: () => markExited(),
      killTimer: undefined,
    };
    replica.process = run;
    replica.port = port;
    // Spawning failed (no such program, no permission): as good as a crash at start.
    const failed = (error: Error) => {
      run.lastFailure = error.message;
      this.context.log(`[${this.name}/${replica.id}] could not start ${config.argv[0]}: ${error.message}`);
      this.exited(replica, run, null, null);
    };
    if (!child) {
      queueMicrotask(() => failed(spawnError ?? new Error('spawn failed')));
      return;
    }
    child.on('error', (error) => {
      if (run.pid === 0) failed(error);
    });
    if (run.pid === 0) return;

    child.once('exit', (code, signal) => this.exited(replica, run, code, signal));
    this.context.children.add(run.pid);
    const prefix = `[${this.name}/${replica.id}] `;
    const write = (line: string) => this.context.log(prefix + line);
    forwardLines(child.stdout!, write);
    forwardLines(child.stderr!, write);
    this.context.records.save({
      service: this.name,
      id: replica.id,
      pid: run.pid,
      port,
      argv: [...config.argv],
      startedAt: run.startedAt,
    });
    this.context.emit({ type: 'replica-started', service: this.name, replica: replica.view() });

    const checker = new HealthChecker({
      health: config.health,
      target: { host, port, cwd: config.cwd, env: config.env },
      clock: this.context.clock,
      startupGraceMs: this.context.startupGraceMs,
    });
    run.checker = checker;
    checker.onChange((healthy, result) => this.healthChanged(replica, run, healthy, result.detail));
    const memoryMb = config.resources.memoryMb;
    if (memoryMb !== undefined) {
      checker.onProbe(() => {
        run.rssBytes = residentMemoryBytes(run.pid) ?? run.rssBytes;
      });
    }
    checker.start();
  }

  private healthChanged(replica: Replica, run: ReplicaProcess, healthy: boolean, detail: string): void {
    if (replica.process !== run || run.exited || run.stopRequested || run.hung) return;
    if (healthy) {
      replica.candidate = false;
      this.setState(replica, 'healthy');
      replica.settle();
      this.context.emit({ type: 'replica-healthy', service: this.name, replica: replica.view() });
      return;
    }
    // Hung (or never came up): out of rotation at once, then SIGKILL, since a stopped or spinning
    // process cannot honour SIGTERM; the exit then restarts it with reason 'hang'.
    this.setState(replica, 'unhealthy');
    run.hung = true;
    run.lastFailure = detail;
    run.checker?.stop();
    this.context.emit({ type: 'replica-unhealthy', service: this.name, replica: replica.view(), detail });
    signalGroup(run.pid, 'SIGKILL');
  }

  private exited(replica: Replica, run: ReplicaProcess, code: number | null, signal: string | null): void {
    if (run.exited) return;
    const view = replica.view();
    run.exited = true;
    run.checker?.stop();
    if (run.killTimer !== undefined) this.context.clock.clearTimeout(run.killTimer);
    if (run.pid !== 0) {
      this.context.children.delete(run.pid);
      this.context.records.forget(this.name, replica.id);
    }
    const uptimeMs = this.context.clock.now() - run.startedAt;
    const expected = run.stopRequested;
    if (replica.process === run) replica.process = undefined;
    this.context.emit({ type: 'replica-exited', service: this.name, replica: view, code, signal, expected });
    run.markExited();
    if (expected) return; // stop() moves it on

    if (replica.candidate) {
      const why = run.hung
        ? `did not become healthy (${run.lastFailure ?? 'probe failed'})`
        : `exited with ${describeExit(code, signal, run.lastFailure)} before becoming healthy`;
      this.failCandidate(replica, why);
      return;
    }
    if (this.halted) {
      this.setState(replica, 'stopped');
      return;
    }
    this.restartLater(replica, run, run.hung ? 'hang' : 'crash', uptimeMs);
  }

  /** The automatic restart after a crash or a hang: budget, backoff, then holds. */
  private restartLater(
    replica: Replica,
    run: ReplicaProcess,
    reason: 'crash' | 'hang',
    uptimeMs: number,
  ): void {
    if (this.critical) {
      this.setState(replica, 'stopped');
      return;
    }
    const taken = this.budget.take(this.context.clock.now(), this.config.restart);
    if (!taken.allowed) {
      this.critical = true;
      this.setState(replica, 'stopped');
      this.context.emit({
        type: 'service-critical',
        service: this.name,
        restarts: taken.restarts,
        windowMs: this.config.restart.windowMs,
      });
      // Whoever waits for this service's replicas to come up can stop waiting.
      const error = new ReplicaStartError(this.name, replica.id, 'failed and the service went critical');
      for (const other of this.list) if (other.state !== 'healthy') other.settle(error);
      return;
    }
    replica.restarts++;
    replica.quickFailures = uptimeMs >= MIN_UPTIME_MS ? 0 : replica.quickFailures + 1;
    const delayMs = restartDelayMs(replica.config.restart.backoff, replica.quickFailures);
    this.setState(replica, 'backoff');
    const note = memoryNote(run.rssBytes, replica.config.resources.memoryMb);
    this.context.emit({
      type: 'replica-restarting',
      service: this.name,
      replica: replica.view(),
      reason,
      delayMs,
      ...(note === undefined ? {} : { note }),
    });
    if (delayMs === 0) this.restartNow(replica);
    else replica.timer = this.context.clock.setTimeout(() => this.restartNow(replica), delayMs);
  }

  private restartNow(replica: Replica): void {
    replica.timer = undefined;
    if (replica.state !== 'backoff') return;
    const held = this.holdReason();
    if (held !== undefined) {
      if (held !== replica.heldReason) {
        replica.heldReason = held;
        this.context.emit({
          type: 'restart-held',
          service: this.name,
          replica: replica.view(),
          reason: held,
        });
      }
      replica.timer = this.context.clock.setTimeout(() => this.restartNow(replica), HOLD_RECHECK_MS);
      return;
    }
    replica.heldReason = undefined;
    replica.moveTo('starting');
    void this.launch(replica);
  }

  /** Why a restart should wait: a dependency is down, or the host lacks the memory it needs. */
  private holdReason(): string | undefined {
    let reason: string | undefined;
    try {
      reason = this.context.canRestart?.(this.name);
    } catch (error) {
      this.context.log(`[${this.name}] canRestart failed, restarting anyway: ${String(error)}`);
    }
    return reason ?? memoryHold(this.name, this.config.resources.memoryMb, this.context.freeMemory());
  }

  /** A new replica failed before it ever passed: it is removed and whoever waits is told why. */
  private failCandidate(replica: Replica, reason: string): void {
    replica.candidate = false;
    replica.settle(new ReplicaStartError(this.name, replica.id, reason));
    this.list = this.list.filter((r) => r !== replica);
    void this.stop(replica, 0);
  }

  /** Graceful stop: out of rotation, SIGTERM, SIGKILL after the grace; resolves on exit. */
  protected stop(replica: Replica, graceMs = replica.config.stopGraceMs): Promise<void> {
    if (replica.stopping) return replica.stopping;
    if (replica.state === 'stopped' && !replica.process) {
      this.cancelTimer(replica);
      replica.settle(new ReplicaStartError(this.name, replica.id, 'was stopped'));
      return Promise.resolve();
    }
    replica.stopping = (async () => {
      this.cancelTimer(replica);
      this.setState(replica, 'stopping');
      replica.settle(new ReplicaStartError(this.name, replica.id, 'was stopped before becoming healthy'));
      const run = replica.process;
      if (run && !run.exited) {
        run.stopRequested = true;
        run.checker?.stop();
        if (graceMs === 0) {
          signalGroup(run.pid, 'SIGKILL');
        } else {
          signalGroup(run.pid, 'SIGTERM');
          // A stopped (SIGSTOP) process only acts on SIGTERM once continued.
          signalGroup(run.pid, 'SIGCONT');
          run.killTimer = this.context.clock.setTimeout(() => signalGroup(run.pid, 'SIGKILL'), graceMs);
        }
        await run.exit;
      }
      this.setState(replica, 'stopped');
      replica.stopping = undefined;
    })();
    return replica.stopping;
  }

  private cancelTimer(replica: Replica): void {
    if (replica.timer !== undefined) this.context.clock.clearTimeout(replica.timer);
    replica.timer = undefined;
  }

  /** Every state change goes through here, so the upstreams follow at once. */
  private setState(replica: Replica, state: Replica['state']): void {
    const before = replica.state;
    replica.moveTo(state);
    if ((before === 'healthy') !== (state === 'healthy')) this.refreshUpstreams();
  }

  private refreshUpstreams(): void {
    const next: Upstream[] = [];
    for (const replica of this.list) {
      const run = replica.process;
      if (replica.state === 'healthy' && run && !run.exited) {
        next.push({ id: replica.id, host: this.context.host, port: run.port });
      }
    }
    const same =
      next.length === this.healthy.length &&
      next.every((upstream, index) => {
        const current = this.healthy[index]!;
        return current.id === upstream.id && current.port === upstream.port;
      });
    if (same) return;
    this.healthy = next;
    this.context.upstreamsChanged(this.name);
  }
}

function describeExit(code: number | null, signal: string | null, failure: string | undefined): string {
  if (failure !== undefined && code === null && signal === null) return `an error (${failure})`;
  return code !== null ? `code ${code}` : `signal ${signal}`;
}
