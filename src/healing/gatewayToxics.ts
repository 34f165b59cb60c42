// The toxics of one gateway: Toxiproxy's network toxics on the bytes of its client connections, and
// HTTP-aware ones (an error status for a share of requests, the first N requests failed).
//
// Network toxics work on the client side of the gateway: the `upstream` stream is what clients send
// (before the gateway reads it), `downstream` what the gateway writes back. Whether a toxic applies
// is drawn once per client connection against its toxicity, as Toxiproxy draws per connection; live
// connections get new toxics too, and a removed toxic hands over at once what it was holding.
// HTTP toxics answer a request before it is routed, so no replica sees it; they are drawn per request.

import type { Socket } from 'node:net';
import {
  type ChunkSink,
  isToxicType,
  TOXIC_ATTRIBUTES,
  ToxicChain,
  type ToxicInput,
  type ToxicStream,
  type ToxicType,
  type ToxicView,
} from '../chaos/index.ts';
import type { Clock } from '../policies/index.ts';
import type { ToxicConfig } from './configTypes.ts';
import { ConflictError, InvalidRequestError, NotFoundError } from './errors.ts';
import { type Answer, errorAnswer } from './gatewayAnswers.ts';

export const HTTP_TOXIC_TYPES = ['http-error', 'fail-first'] as const;
export type HttpToxicType = (typeof HTTP_TOXIC_TYPES)[number];

/** The status injected answers have when a toxic names none (fail-first). */
export const INJECTED_STATUS_DEFAULT = 503;

/** An HTTP-aware toxic to add; `toxicity` defaults to 1, `name` to `<type>_downstream`. */
export type HttpToxicInput =
  | {
      readonly name?: string;
      readonly type: 'http-error';
      readonly toxicity?: number;
      readonly attributes: { readonly status: number };
    }
  | {
      readonly name?: string;
      readonly type: 'fail-first';
      readonly toxicity?: number;
      readonly attributes: { readonly requests: number; readonly status?: number };
    };

/** A toxic of the gateway as it is listed (Toxiproxy's shape; HTTP toxics show stream `downstream`). */
export interface GatewayToxicView {
  attributes: Record<string, number>;
  name: string;
  type: ToxicType | HttpToxicType;
  stream: ToxicStream;
  toxicity: number;
}

/** A network toxic of the gateway. */
export interface NetworkToxic {
  readonly view: ToxicView;
}

interface HttpToxic {
  readonly view: GatewayToxicView;
  readonly answer: Answer;
  /** fail-first: requests still to fail (Infinity for http-error). */
  remaining: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const describe = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? 'an array' : String(value);

function statusProblem(path: string, value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599) return undefined;
  return `${path} must be an integer from 400 to 599, got ${describe(value)}`;
}

/**
 * Checks a toxic (from the API, code or the config) and fills in its defaults: every problem with
 * its path under `path`. Network toxics follow Toxiproxy: unknown attribute keys are ignored,
 * missing ones are 0, values are integers.
 */
export function checkGatewayToxic(
  input: unknown,
  path = 'toxic',
): { view: GatewayToxicView; problems: readonly string[] } {
  const problems: string[] = [];
  const view: GatewayToxicView = {
    attributes: {},
    name: '',
    type: 'noop',
    stream: 'downstream',
    toxicity: 1,
  };
  if (!isRecord(input)) {
    problems.push(`${path} must be an object, got ${describe(input)}`);
    return { view, problems };
  }
  const { name, type, stream = 'downstream', toxicity = 1, attributes = {} } = input;
  const http = (HTTP_TOXIC_TYPES as readonly unknown[]).includes(type);
  if (!http && !isToxicType(type)) {
    const known = [...Object.keys(TOXIC_ATTRIBUTES), ...HTTP_TOXIC_TYPES].join(', ');
    problems.push(`${path}.type must be one of ${known}, got ${describe(type)}`);
  } else {
    view.type = type as ToxicType | HttpToxicType;
  }
  if (stream !== 'upstream' && stream !== 'downstream') {
    problems.push(`${path}.stream must be "upstream" or "downstream", got ${describe(stream)}`);
  } else if (!http) {
    view.stream = stream;
  }
  if (typeof toxicity !== 'number' || !(toxicity >= 0 && toxicity <= 1)) {
    problems.push(`${path}.toxicity must be a number from 0 to 1, got ${describe(toxicity)}`);
  } else {
    view.toxicity = toxicity;
  }
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    problems.push(`${path}.name must be a non-empty string, got ${describe(name)}`);
  }
  view.name = typeof name === 'string' && name !== '' ? name : `${view.type}_${view.stream}`;
  if (!isRecord(attributes)) {
    problems.push(`${path}.attributes must be an object, got ${describe(attributes)}`);
    return { view, problems };
  }
  if (view.type === 'http-error') {
    const problem = statusProblem(`${path}.attributes.status`, attributes.status);
    if (problem === undefined) view.attributes.status = attributes.status as number;
    else problems.push(problem);
  } else if (view.type === 'fail-first') {
    const { requests, status = INJECTED_STATUS_DEFAULT } = attributes;
    if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 1) {
      problems.push(`${path}.attributes.requests must be an integer >= 1, got ${describe(requests)}`);
    }
    const problem = statusProblem(`${path}.attributes.status`, status);
    if (problem !== undefined) problems.push(problem);
    view.attributes = { requests: requests as number, status: status as number };
  } else if (isToxicType(view.type)) {
    for (const key of TOXIC_ATTRIBUTES[view.type]) {
      const value = attributes[key] ?? 0;
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        problems.push(`${path}.attributes.${key} must be an integer, got ${describe(value)}`);
      } else {
        view.attributes[key] = value;
      }
    }
  }
  return { view, problems };
}

const copyView = (view: GatewayToxicView): GatewayToxicView => ({
  attributes: { ...view.attributes },
  name: view.name,
  type: view.type,
  stream: view.stream,
  toxicity: view.toxicity,
});

/** The toxics of one gateway; connections read `network` and `http` directly. */
export class GatewayToxics {
  /** Network toxics, in the order they were added. */
  readonly network: NetworkToxic[] = [];
  /** HTTP toxics, in the order they were added: the first one that applies to a request answers it. */
  readonly http: HttpToxic[] = [];
  readonly random: () => number;
  private readonly service: string;

  constructor(service: string, random: () => number) {
    this.service = service;
    this.random = random;
  }

  /** Checks and adds a toxic; a network one is returned for the connections to apply. */
  add(input: ToxicInput | HttpToxicInput | ToxicConfig): {
    view: GatewayToxicView;
    network: NetworkToxic | undefined;
  } {
    const { view, problems } = checkGatewayToxic(input);
    if (problems.length > 0) throw new InvalidRequestError(problems.join('; '), problems);
    if (this.has(view.name)) throw new ConflictError(`toxic already exists: ${view.name}`);
    if (view.type === 'http-error' || view.type === 'fail-first') {
      const status = view.attributes.status!;
      const answer = errorAnswer(
        status,
        'INJECTED_FAULT',
        `fault injected at the gateway of service ${this.service} (toxic ${view.name})`,
        this.service,
        { 'x-rebound-fault': 'injected' },
      );
      const remaining = view.type === 'fail-first' ? view.attributes.requests! : Number.POSITIVE_INFINITY;
      this.http.push({ view, answer, remaining });
      return { view: copyView(view), network: undefined };
    }
    const toxic: NetworkToxic = { view: view as ToxicView };
    this.network.push(toxic);
    return { view: copyView(view), network: toxic };
  }

  /** Removes a toxic by name; the network one removed is returned for the connections to drop. */
  remove(name: string): NetworkToxic | undefined {
    const httpIndex = this.http.findIndex((toxic) => toxic.view.name === name);
    if (httpIndex >= 0) {
      this.http.splice(httpIndex, 1);
      return undefined;
    }
    const index = this.network.findIndex((toxic) => toxic.view.name === name);
    if (index < 0) throw new NotFoundError(`toxic not found: ${name}`);
    return this.network.splice(index, 1)[0];
  }

  /** Upstream network toxics first, then downstream ones (as Toxiproxy lists them), then HTTP toxics. */
  views(): GatewayToxicView[] {
    const upstream = this.network.filter((toxic) => toxic.view.stream === 'upstream');
    const downstream = this.network.filter((toxic) => toxic.view.stream === 'downstream');
    return [...upstream, ...downstream, ...this.http].map((toxic) => copyView(toxic.view));
  }

  /** The injected answer for the request starting now, if an HTTP toxic applies to it. */
  inject(): Answer | undefined {
    const random = this.random;
    for (const toxic of this.http) {
      if (toxic.remaining > 0 && random() < toxic.view.toxicity) {
        toxic.remaining--;
        return toxic.answer;
      }
    }
    return undefined;
  }

  private has(name: string): boolean {
    return (
      this.network.some((toxic) => toxic.view.name === name) ||
      this.http.some((toxic) => toxic.view.name === name)
    );
  }
}

/** What a connection gives its toxic link: where bytes from the client go on, and what it is told. */
export interface LinkEnds {
  /** Bytes from the client, past the upstream-stream toxics. */
  receive(chunk: Buffer): void;
  /** The client's FIN, past the upstream-stream toxics. */
  receiveEnd(): void;
  /** Stop / resume reading the client (a toxic holds too much of what it sent). */
  holdReading(): void;
  releaseReading(): void;
  /** Writing to the client can take more again. */
  writable(): void;
  /** A toxic closed or reset the connection; `swallowed`: bytes the client sent never reached the gateway. */
  cut(swallowed: boolean): void;
  /** The latency the applying latency toxics add to each exchange, in ms (jitter averages out). */
  addedLatency(ms: number): void;
}

/**
 * The toxics of one client connection: its bytes in both directions pass through the stages of the
 * toxics that applied when drawn. It stands in for the socket for the connection's writes.
 */
export class ToxicLink {
  private readonly socket: Socket;
  private readonly ends: LinkEnds;
  private readonly random: () => number;
  private readonly up: ToxicChain;
  private readonly down: ToxicChain;
  /** The network toxics that apply to this connection. */
  private readonly applied = new Set<NetworkToxic>();
  private written = 0;
  private delivered = 0;
  private disposed = false;

  constructor(socket: Socket, clock: Clock, random: () => number, ends: LinkEnds) {
    this.socket = socket;
    this.ends = ends;
    this.random = random;
    const common = { clock, random, close: () => this.cut(false), reset: () => this.cut(true) };
    const toGateway: ChunkSink = {
      write: (chunk) => {
        this.delivered += chunk.length;
        ends.receive(chunk);
      },
      end: () => ends.receiveEnd(),
    };
    this.up = ToxicChain.toSink(toGateway, {
      ...common,
      pause: () => ends.holdReading(),
      resume: () => ends.releaseReading(),
    });
    this.down = ToxicChain.toSocket(socket, { ...common, pause: () => {}, resume: () => ends.writable() });
  }

  /** Whether writing may go on (no stage and no socket is holding too much). */
  get writable(): boolean {
    return !this.down.holding;
  }

  /** For the socket's 'data': bytes from the client. */
  readonly onData = (chunk: Buffer): void => {
    if (this.disposed) return;
    this.written += chunk.length;
    this.up.write(chunk);
  };

  /** For the socket's 'end'. */
  readonly onEnd = (): void => {
    if (!this.disposed) this.up.end();
  };

  /** Bytes for the client; false when the caller should wait for `writable()`. */
  write(bytes: Buffer): boolean {
    if (this.disposed) return true;
    this.down.write(bytes);
    return !this.down.holding;
  }

  /** Ends the connection's writing side, after `bytes` if given. */
  end(bytes?: Buffer): void {
    if (this.disposed) return;
    if (bytes !== undefined) this.write(bytes);
    this.down.end();
  }

  /** Draws whether `toxic` applies to this connection; if it does, its stage joins the chain. */
  add(toxic: NetworkToxic): void {
    if (this.disposed || !(this.random() < toxic.view.toxicity)) return;
    (toxic.view.stream === 'upstream' ? this.up : this.down).append(toxic.view, true);
    this.applied.add(toxic);
    this.reportLatency();
  }

  /** Takes `toxic` out of the chain; its stage hands over at once what it held. */
  remove(toxic: NetworkToxic): void {
    if (!this.applied.delete(toxic)) return;
    this.reportLatency();
    (toxic.view.stream === 'upstream' ? this.up : this.down).remove(toxic.view);
  }

  /** The connection is gone: every stage stops its timers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.up.dispose();
    this.down.dispose();
  }

  private reportLatency(): void {
    let ms = 0;
    for (const toxic of this.applied)
      if (toxic.view.type === 'latency') ms += toxic.view.attributes.latency ?? 0;
    this.ends.addedLatency(Math.max(0, ms));
  }

  /** A stage closes (FIN after what was written) or resets (RST) the connection. */
  private cut(reset: boolean): void {
    if (this.disposed) return;
    const swallowed = this.written > this.delivered;
    this.dispose();
    this.ends.cut(swallowed);
    const socket = this.socket;
    if (reset) {
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy(); // not connected any more: nothing to reset
      }
    } else if (!socket.destroyed) {
      socket.pause();
      socket.end(() => socket.destroy());
    }
  }
}
