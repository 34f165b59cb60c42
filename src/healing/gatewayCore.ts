// What every connection of one gateway shares: routing (upstreams, failover, balancing), modes
// (breaker, fallback), the prepared answers, the traffic windows, the toxics and the single timeout timer.

import type { CircuitBreaker, Clock, TimerHandle } from '../policies/index.ts';
import { type Answer, errorAnswer } from './gatewayAnswers.ts';
import { Balancer } from './gatewayBalancer.ts';
import type { ClientConnection } from './gatewayConnection.ts';
import type { GatewayToxics, GatewayToxicView, HttpToxicInput } from './gatewayToxics.ts';
import { UpstreamPool } from './gatewayUpstream.ts';
import type { ToxicInput } from '../chaos/index.ts';
import type { BalanceStrategy, ToxicConfig } from './configTypes.ts';
import { TrafficWindow, type TrafficWindowOptions } from './trafficWindow.ts';

/** How long an upstream that refused a connection is passed over while others exist. */
export const AVOID_AFTER_REFUSAL_MS = 1_000;

export interface CoreAnswers {
  readonly noReplica: Answer;
  readonly badGateway: Answer;
  readonly timeout: Answer;
  readonly fallback: Answer | undefined;
}

export class GatewayCore {
  readonly service: string;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly window: TrafficWindow;
  readonly windowOptions: TrafficWindowOptions;
  readonly balancer: Balancer<UpstreamPool>;
  readonly answers: CoreAnswers;
  /** Chaos: faults injected on the connections' bytes and in place of answers. */
  readonly toxics: GatewayToxics;
  /** Every pool by replica id: the current set and retired ones still finishing requests. */
  readonly pools = new Map<string, UpstreamPool>();
  readonly connections = new Set<ClientConnection>();
  failover: UpstreamPool | undefined = undefined;
  failoverService: string | null = null;
  breaker: CircuitBreaker | undefined = undefined;
  fallbackMode = false;
  /** Stopped accepting: connections close after their current exchange. */
  closing = false;
  /** Called when the last connection closes while closing. */
  onDrained: (() => void) | undefined = undefined;
  readonly now: () => number;
  private readonly circuitOpenAnswers = new Map<number, Answer>();

  // In-flight exchanges in deadline order (all share timeoutMs, so appending keeps the order), and
  // one timer armed for the earliest: no timer per request.
  private deadlineHead: ClientConnection | undefined = undefined;
  private deadlineTail: ClientConnection | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(options: {
    service: string;
    clock: Clock;
    timeoutMs: number;
    keepAliveTimeoutMs: number;
    balance: BalanceStrategy;
    answers: CoreAnswers;
    windowOptions: TrafficWindowOptions;
    toxics: GatewayToxics;
  }) {
    this.service = options.service;
    this.clock = options.clock;
    this.now = () => this.clock.now();
    this.timeoutMs = options.timeoutMs;
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs;
    this.balancer = new Balancer(options.balance);
    this.answers = options.answers;
    this.toxics = options.toxics;
    this.windowOptions = options.windowOptions;
    this.window = new TrafficWindow(options.windowOptions);
  }

  /** 503 CIRCUIT_OPEN with `Retry-After: seconds`, built once per distinct wait. */
  circuitOpen(seconds: number): Answer {
    let answer = this.circuitOpenAnswers.get(seconds);
    if (answer === undefined) {
      if (this.circuitOpenAnswers.size >= 64) this.circuitOpenAnswers.clear();
      answer = errorAnswer(
        503,
        'CIRCUIT_OPEN',
        `the circuit breaker of service ${this.service} is open`,
        this.service,
        { 'retry-after': String(seconds) },
      );
      this.circuitOpenAnswers.set(seconds, answer);
    }
    return answer;
  }

  /** Adds a toxic; a network one applies to live connections too (drawn per connection). */
  addToxic(input: ToxicInput | HttpToxicInput | ToxicConfig): GatewayToxicView {
    const { view, network } = this.toxics.add(input);
    if (network !== undefined) for (const connection of this.connections) connection.addToxic(network);
    return view;
  }

  /** Removes a toxic: new requests no longer see it, and live connections get what it held at once. */
  removeToxic(name: string): void {
    const network = this.toxics.remove(name);
    if (network !== undefined) for (const connection of this.connections) connection.removeToxic(network);
  }

  /** The upstream for the next request (the failover target while there is one), never `exclude`. */
  pick(exclude?: UpstreamPool): UpstreamPool | undefined {
    const failover = this.failover;
    if (failover !== undefined) return failover === exclude ? undefined : failover;
    return this.balancer.pick(this.now, exclude);
  }

  /** An upstream refused a connection: pass it over for a while if there are others. */
  refused(pool: UpstreamPool): void {
    const now = this.clock.now();
    pool.avoidUntil = now + AVOID_AFTER_REFUSAL_MS;
    this.balancer.refreshAvoiding(now);
  }

  setUpstreams(upstreams: readonly { id: string; host: string; port: number }[]): void {
    const current: UpstreamPool[] = [];
    const ids = new Set<string>();
    for (const { id, host, port } of upstreams) {
      if (ids.has(id)) continue;
      ids.add(id);
      let pool = this.pools.get(id);
      if (pool === undefined) {
        pool = new UpstreamPool(id, host, port, this.windowOptions);
        this.pools.set(id, pool);
      } else {
        pool.retired = false;
        pool.setAddress(host, port);
      }
      current.push(pool);
    }
    for (const [id, pool] of this.pools) {
      if (ids.has(id)) continue;
      pool.retired = true;
      pool.closeIdle();
      this.forgetIfDone(pool);
    }
    this.balancer.set(current);
  }

  /** Drops a retired pool once nothing is in flight on it. */
  forgetIfDone(pool: UpstreamPool): void {
    if (pool.retired && pool.inflight === 0 && this.pools.get(pool.id) === pool) {
      pool.destroy();
      this.pools.delete(pool.id);
    }
  }

  setFailover(target: { service: string; host: string; port: number } | undefined): void {
    const previous = this.failover;
    if (target === undefined) {
      this.failover = undefined;
      this.failoverService = null;
    } else if (previous?.id === target.service) {
      previous.setAddress(target.host, target.port);
      return;
    } else {
      this.failover = new UpstreamPool(target.service, target.host, target.port, this.windowOptions);
      this.failoverService = target.service;
    }
    if (previous !== undefined) {
      previous.retired = true;
      previous.closeIdle();
    }
  }

  /** A client connection closed. */
  connectionClosed(): void {
    if (this.closing && this.connections.size === 0) this.onDrained?.();
  }

  /** Periodic housekeeping: idle upstream connections past their keep-alive, idle clients. */
  sweep(now: number): void {
    for (const pool of this.pools.values()) pool.sweep(now);
    this.failover?.sweep(now);
    if (this.balancer.avoiding) this.balancer.refreshAvoiding(now);
    for (const connection of this.connections) connection.sweep(now);
  }

  /** Starts (or restarts, after progress) the countdown of an exchange. */
  armDeadline(connection: ClientConnection, now: number): void {
    if (connection.deadlineLinked) this.unlink(connection);
    connection.deadlineAt = now + this.timeoutMs;
    connection.deadlineLinked = true;
    connection.previousDeadline = this.deadlineTail;
    connection.nextDeadline = undefined;
    if (this.deadlineTail === undefined) this.deadlineHead = connection;
    else this.deadlineTail.nextDeadline = connection;
    this.deadlineTail = connection;
    if (this.timer === undefined) this.schedule(connection.deadlineAt, now);
  }

  disarmDeadline(connection: ClientConnection): void {
    if (connection.deadlineLinked) this.unlink(connection);
  }

  private unlink(connection: ClientConnection): void {
    const { previousDeadline, nextDeadline } = connection;
    if (previousDeadline === undefined) this.deadlineHead = nextDeadline;
    else previousDeadline.nextDeadline = nextDeadline;
    if (nextDeadline === undefined) this.deadlineTail = previousDeadline;
    else nextDeadline.previousDeadline = previousDeadline;
    connection.previousDeadline = connection.nextDeadline = undefined;
    connection.deadlineLinked = false;
  }

  private schedule(at: number, now: number): void {
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(0, at - now));
    this.timer.unref?.();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let head = this.deadlineHead;
    while (head !== undefined && head.deadlineAt <= now) {
      this.unlink(head);
      head.timedOut();
      head = this.deadlineHead;
    }
    if (head !== undefined) this.schedule(head.deadlineAt, now);
  };

  /** Stops the timeout timer (on close, once no exchange is left). */
  stopTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** For tests and close(): whether an exchange is waiting on a deadline. */
  get pendingDeadlines(): boolean {
    return this.deadlineHead !== undefined;
  }

  /** When the timer will next fire (Infinity when it is not armed). */
  get nextTimerAt(): number {
    return this.timerAt;
  }
}
