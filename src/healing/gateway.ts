// The gateway in front of a service: an HTTP/1.1 reverse proxy over the service's healthy replicas
// that measures every request, and where the breaker, fallback and failover actions take effect.
//
// Request handling, in short (details in gatewayConnection.ts and gatewayUpstream.ts):
// - Keep-alive on both sides: a pool of connections per replica, bodies streamed both ways with
//   back-pressure, hop-by-hop headers dropped, X-Forwarded-For/-Proto/-Host added, and
//   `x-rebound-replica: <id>` on every proxied response.
// - Retry: a request whose upstream connection fails before any byte of the response arrived
//   (refused, reset: a replica just SIGKILLed) is sent ONCE more, to another replica when there is
//   one, if its method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) or the connection was
//   refused (nothing was sent), and if the whole request is still held (its body, if any, came
//   complete with the head; a body streamed in later pieces cannot be replayed). When no other
//   replica is available, a kept-alive connection that broke under such a request (stale, the
//   replica closed it) is retried on a fresh connection to the same replica. This is what keeps
//   clients from seeing errors while a replica is killed and another one is healthy. A replica that
//   refused a connection is passed over for a second while another is available.
// - Answers of its own, all JSON `{ error: { code, message } }`: 503 NO_HEALTHY_REPLICA
//   (`Retry-After: 1`) with no upstream, 502 BAD_GATEWAY when the upstream failed (after the retry),
//   504 GATEWAY_TIMEOUT when the upstream made no progress for `timeoutMs` (no response head, or no
//   body bytes, for that long), 503 CIRCUIT_OPEN (`Retry-After` from the breaker) when the breaker
//   is enabled and open and there is no fallback.
// - Metrics: a request counts as failed when its answer is 5xx (the upstream's, the gateway's, or a
//   5xx fallback) or it was cut off; every other answer succeeded. Fallback answers (fallback mode,
//   or an open breaker with a fallback) add nothing to the latency percentiles: with the usual 2xx
//   fallback they count in `requests` and `throughput` but not as errors. A request the client
//   abandons is not counted at all.
// - The breaker counts 5xx answers, connection failures and timeouts as failures, and a client that
//   leaves before any answer came as a failure too (the upstream was too slow for it).
// - Chaos (gatewayToxics.ts): Toxiproxy's network toxics on the client connections' bytes, drawn per
//   connection, and HTTP toxics answering `{ error: { code: 'INJECTED_FAULT' } }` with a status for a
//   share of requests (http-error) or for the first N (fail-first), before any replica is involved.
//   Injected answers count in the metrics like any answer, and the latency toxics that apply to a
//   connection add their delay to its exchanges' measured latency. With no toxic, a request pays
//   one length check.
// - Time: no timer per request. One timer for every deadline of the gateway (armed for the earliest),
//   and one housekeeping tick a second (idle connections); both unref'd.

import { createServer, type Server, type Socket } from 'node:net';
import type { ToxicInput } from '../chaos/index.ts';
import {
  type BreakerRegistry,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  circuitBreaker,
  type Clock,
  OptionProblems,
  ReboundError,
  systemClock,
  type TimerHandle,
  hasErrorCode,
} from '../policies/index.ts';
import {
  BALANCE_STRATEGIES,
  type BreakerConfig,
  type FallbackConfig,
  type ToxicConfig,
} from './configTypes.ts';
import type { TrafficMetrics } from './controlPlaneTypes.ts';
import { errorAnswer, fallbackAnswer } from './gatewayAnswers.ts';
import { ClientConnection } from './gatewayConnection.ts';
import { GatewayCore } from './gatewayCore.ts';
import {
  checkGatewayToxic,
  type GatewayToxicView,
  GatewayToxics,
  type HttpToxicInput,
} from './gatewayToxics.ts';

export interface Upstream {
  id: string;
  host: string;
  port: number;
}

export interface GatewayOptions {
  service: string;
  host: string;
  /** 0: an ephemeral port (see `address`). */
  port: number;
  balance: 'least-loaded' | 'round-robin';
  /** Longest wait for progress from the upstream (its response head, then each body piece): 504 after. */
  timeoutMs: number;
  /** Options of the breaker used while it is enabled. */
  breaker: BreakerConfig;
  /** The answer in fallback mode, and while the enabled breaker is open. */
  fallback: FallbackConfig | undefined;
  /** Where the breaker is registered, as kind 'gateway' and the service's name. */
  registry?: BreakerRegistry;
  clock?: Clock;
  /** Idle client connections (and request heads that never end) are closed after this. Default 30_000. */
  keepAliveTimeoutMs?: number;
  /** The traffic windows of the service and of each replica. Default 10 s in 10 slots. */
  window?: { windowMs?: number; slots?: number };
  /** Let other gateways (threads, processes) listen on the same port; the kernel spreads connections (Linux). */
  reusePort?: boolean;
  /** Toxics in place from the start (the config's `gateway.toxics`). */
  toxics?: readonly ToxicConfig[];
  /** A number in [0, 1): toxicity draws and jitter. Default Math.random; seeded in tests. */
  random?: () => number;
}

export const GATEWAY_DEFAULTS = Object.freeze({ keepAliveTimeoutMs: 30_000 });

/** The kind gateway breakers are registered under in a BreakerRegistry. */
export const GATEWAY_BREAKER_KIND = 'gateway';

export interface Gateway {
  readonly service: string;
  /** The address actually bound. */
  readonly address: { host: string; port: number };
  /** The healthy replicas; replaces the set. Requests in flight on a removed replica finish. */
  setUpstreams(upstreams: readonly Upstream[]): void;
  /** Routes all traffic to another address (failover); undefined: back to the own upstreams. */
  setFailover(target: { service: string; host: string; port: number } | undefined): void;
  /** The service traffic is failed over to, or null. */
  readonly failover: string | null;
  setBreakerEnabled(on: boolean): void;
  readonly breakerEnabled: boolean;
  setFallbackMode(on: boolean): void;
  readonly fallbackMode: boolean;
  /** The whole service's traffic. */
  metrics(): TrafficMetrics;
  /** The whole service's requests in flight now: `metrics().inflight` without the snapshot. */
  readonly inflight: number;
  /** Traffic per replica of the current set, by id. */
  replicaMetrics(): Record<string, TrafficMetrics>;
  /**
   * Adds a toxic (chaos): a Toxiproxy network toxic on the bytes of client connections (`upstream`:
   * client to gateway, `downstream`: gateway to client; toxicity drawn per connection), or an HTTP
   * toxic (`http-error`, `fail-first`). Throws InvalidRequestError for a bad toxic, ConflictError for
   * a name in use.
   */
  addToxic(toxic: ToxicInput | HttpToxicInput): GatewayToxicView;
  /** Removes a toxic at once (NotFoundError when there is none of that name). */
  removeToxic(name: string): void;
  /** Upstream network toxics, downstream ones, then HTTP toxics, each in the order added. */
  toxics(): GatewayToxicView[];
  /** Removes every toxic. */
  resetToxics(): void;
  /** Stops accepting, lets in-flight exchanges finish, closes every connection. */
  close(): Promise<void>;
}

/** The gateway could not listen on its address (in use, not permitted). */
export class GatewayListenError extends ReboundError {
  readonly service: string;

  constructor(service: string, host: string, port: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'GATEWAY_LISTEN_FAILED',
      `the gateway of service ${service} cannot listen on ${host}:${port}: ${reason}`,
      {
        cause,
      },
    );
    this.service = service;
  }
}

export const isGatewayListenError = (error: unknown): error is GatewayListenError =>
  hasErrorCode(error, 'GATEWAY_LISTEN_FAILED');

const HOUSEKEEPING_MS = 1_000;

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '::']);

/** Whether two host names may reach the same listener (both local, or the same name). */
function isSameHost(a: string, b: string): boolean {
  return a === b || (LOCAL_NAMES.has(a) && LOCAL_NAMES.has(b));
}

function validate(options: GatewayOptions): void {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`gateway options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  problems.nonEmptyString('gateway.service', options.service, false);
  problems.nonEmptyString('gateway.host', options.host, false);
  problems.number('gateway.port', options.port, { min: 0, max: 65_535, integer: true });
  problems.oneOf('gateway.balance', options.balance, BALANCE_STRATEGIES);
  problems.number('gateway.timeoutMs', options.timeoutMs, { above: 0, finite: true });
  problems.number('gateway.keepAliveTimeoutMs', options.keepAliveTimeoutMs, {
    above: 0,
    finite: true,
    optional: true,
  });
  if (typeof options.breaker !== 'object' || options.breaker === null) {
    problems.add(`gateway.breaker must be an object, got ${String(options.breaker)}`);
  }
  if (options.fallback !== undefined) {
    problems.number('gateway.fallback.status', options.fallback.status, {
      min: 200,
      max: 599,
      integer: true,
    });
  }
  problems.clock('gateway.clock', options.clock);
  problems.func('gateway.random', options.random);
  if (options.toxics !== undefined) {
    if (!Array.isArray(options.toxics)) {
      problems.add(`gateway.toxics must be an array, got ${String(options.toxics)}`);
    } else {
      const names = new Set<string>();
      options.toxics.forEach((toxic, index) => {
        const { view, problems: found } = checkGatewayToxic(toxic, `gateway.toxics[${index}]`);
        for (const problem of found) problems.add(problem);
        if (names.has(view.name)) problems.add(`gateway.toxics[${index}].name ${view.name} is used twice`);
        names.add(view.name);
      });
    }
  }
  problems.throwIfAny();
}

function breakerOptions(config: BreakerConfig, clock: Clock): Omit<CircuitBreakerOptions, 'name'> {
  return {
    trip: config.trip,
    openMs: config.openMs,
    halfOpen: config.halfOpen,
    ...(config.openBackoff === undefined ? {} : { openBackoff: config.openBackoff }),
    ...(config.slowCall === undefined ? {} : { slowCall: config.slowCall }),
    clock,
  };
}

class ReboundGateway implements Gateway {
  readonly service: string;
  readonly address: { host: string; port: number };
  private readonly core: GatewayCore;
  private readonly server: Server;
  private readonly options: GatewayOptions;
  private breakerInstance: CircuitBreaker | undefined = undefined;
  private housekeeping: TimerHandle | undefined = undefined;
  private closed: Promise<void> | undefined = undefined;

  constructor(
    core: GatewayCore,
    server: Server,
    options: GatewayOptions,
    address: { host: string; port: number },
  ) {
    this.core = core;
    this.server = server;
    this.options = options;
    this.service = options.service;
    this.address = address;
    this.scheduleHousekeeping();
  }

  setUpstreams(upstreams: readonly Upstream[]): void {
    const problems = new OptionProblems();
    upstreams.forEach((upstream, index) => {
      problems.nonEmptyString(`upstreams[${index}].id`, upstream?.id, false);
      problems.nonEmptyString(`upstreams[${index}].host`, upstream?.host, false);
      problems.number(`upstreams[${index}].port`, upstream?.port, { min: 1, max: 65_535, integer: true });
    });
    problems.throwIfAny();
    this.core.setUpstreams(upstreams);
  }

  setFailover(target: { service: string; host: string; port: number } | undefined): void {
    if (target !== undefined) {
      const problems = new OptionProblems();
      problems.nonEmptyString('failover.service', target.service, false);
      problems.nonEmptyString('failover.host', target.host, false);
      problems.number('failover.port', target.port, { min: 1, max: 65_535, integer: true });
      if (target.port === this.address.port && isSameHost(target.host, this.address.host)) {
        problems.add(`failover target ${target.host}:${target.port} is this gateway itself`);
      }
      problems.throwIfAny();
    }
    this.core.setFailover(target);
  }

  get failover(): string | null {
    return this.core.failoverService;
  }

  setBreakerEnabled(on: boolean): void {
    this.core.breaker = on ? this.breaker() : undefined;
  }

  get breakerEnabled(): boolean {
    return this.core.breaker !== undefined;
  }

  setFallbackMode(on: boolean): void {
    this.core.fallbackMode = on;
  }

  get fallbackMode(): boolean {
    return this.core.fallbackMode;
  }

  metrics(): TrafficMetrics {
    return this.core.window.snapshot();
  }

  get inflight(): number {
    return this.core.window.inflight;
  }

  addToxic(toxic: ToxicInput | HttpToxicInput): GatewayToxicView {
    return this.core.addToxic(toxic);
  }

  removeToxic(name: string): void {
    this.core.removeToxic(name);
  }

  toxics(): GatewayToxicView[] {
    return this.core.toxics.views();
  }

  resetToxics(): void {
    for (const { name } of this.core.toxics.views()) this.core.removeToxic(name);
  }

  replicaMetrics(): Record<string, TrafficMetrics> {
    const metrics: Record<string, TrafficMetrics> = {};
    for (const pool of this.core.pools.values()) {
      if (!pool.retired) metrics[pool.id] = pool.window.snapshot();
    }
    return metrics;
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  /** The breaker, created (and registered) when first enabled; it keeps its state when disabled. */
  private breaker(): CircuitBreaker {
    if (this.breakerInstance !== undefined) return this.breakerInstance;
    const { registry, clock = systemClock } = this.options;
    const options = breakerOptions(this.options.breaker, clock);
    if (registry === undefined) {
      this.breakerInstance = circuitBreaker({ ...options, name: `${GATEWAY_BREAKER_KIND}:${this.service}` });
    } else {
      // A registry's options are per kind: set this service's just before its breaker is made.
      if (!registry.has(GATEWAY_BREAKER_KIND, this.service))
        registry.configure(GATEWAY_BREAKER_KIND, options);
      this.breakerInstance = registry.get(GATEWAY_BREAKER_KIND, this.service);
    }
    return this.breakerInstance;
  }

  private scheduleHousekeeping(): void {
    const clock = this.core.clock;
    this.housekeeping = clock.setTimeout(() => {
      this.core.sweep(clock.now());
      if (!this.core.closing) this.scheduleHousekeeping();
    }, HOUSEKEEPING_MS);
    this.housekeeping.unref?.();
  }

  private async shutdown(): Promise<void> {
    const core = this.core;
    core.closing = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (core.connections.size > 0) {
      const drained = new Promise<void>((resolve) => {
        core.onDrained = resolve;
      });
      for (const connection of core.connections) connection.closeWhenIdle();
      await drained;
    }
    await stopped;
    if (this.housekeeping !== undefined) core.clock.clearTimeout(this.housekeeping);
    core.stopTimer();
    for (const pool of core.pools.values()) pool.destroy();
    core.failover?.destroy();
  }
}

/** Starts a gateway listening on `host:port`; it answers 503 until `setUpstreams` gives it replicas. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  validate(options);
  const { service } = options;
  const clock = options.clock ?? systemClock;
  const core = new GatewayCore({
    service,
    clock,
    timeoutMs: options.timeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? GATEWAY_DEFAULTS.keepAliveTimeoutMs,
    balance: options.balance,
    windowOptions: { ...options.window, clock },
    toxics: new GatewayToxics(service, options.random ?? Math.random),
    answers: {
      noReplica: errorAnswer(
        503,
        'NO_HEALTHY_REPLICA',
        `service ${service} has no healthy replica`,
        service,
        {
          'retry-after': '1',
        },
      ),
      badGateway: errorAnswer(502, 'BAD_GATEWAY', `the upstream of service ${service} failed`, service),
      timeout: errorAnswer(
        504,
        'GATEWAY_TIMEOUT',
        `the upstream of service ${service} did not answer within ${options.timeoutMs} ms`,
        service,
      ),
      fallback: options.fallback === undefined ? undefined : fallbackAnswer(options.fallback, service),
    },
  });
  for (const toxic of options.toxics ?? []) core.addToxic(toxic);
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket: Socket) => {
    if (core.closing) {
      socket.destroy();
      return;
    }
    core.connections.add(new ClientConnection(core, socket));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: unknown) =>
      reject(new GatewayListenError(service, options.host, options.port, error));
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port, reusePort: options.reusePort === true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {}); // accept errors (EMFILE) are transient; the listener stays
  const bound = server.address();
  const address =
    typeof bound === 'object' && bound !== null
      ? { host: bound.address, port: bound.port }
      : { host: options.host, port: options.port };
  return new ReboundGateway(core, server, options, address);
}
