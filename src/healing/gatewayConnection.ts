// One client connection to the gateway: reads requests off it one at a time, routes each to an
// upstream (or answers it), streams the response back, and measures the exchange.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type Answer, refusalAnswer } from './gatewayAnswers.ts';
import { BreakerCall } from './gatewayBreakerCall.ts';
import { ChunkedScanner } from './gatewayChunked.ts';
import type { GatewayCore } from './gatewayCore.ts';
import { type NetworkToxic, ToxicLink } from './gatewayToxics.ts';
import {
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  CRLF_CRLF,
  MAX_HEAD_BYTES,
  METHOD_HEAD,
} from './gatewayHttp.ts';
import { parseRequestHead, RequestHead } from './gatewayRequestHead.ts';
import {
  CONNECTION_CLOSE,
  CONNECTION_KEEP_ALIVE,
  CONNECTION_UPGRADE,
  NO_LINE,
  requestForUpstream,
  responseForClient,
} from './gatewayRewrite.ts';
import {
  FAILURE_REFUSED,
  FAILURE_RESET,
  type UpstreamConnection,
  type UpstreamPool,
} from './gatewayUpstream.ts';

// What the bytes arriving from the client are.
const READ_HEAD = 0;
const READ_BODY = 1;
/** The request is complete: bytes that follow (a pipelined request) wait for its response. */
const READ_HELD = 2;
const READ_TUNNEL = 3;
const READ_CLOSED = 4;

// Why reading from the client is paused (bits).
const PAUSE_HELD = 1;
const PAUSE_UPSTREAM = 2;
/** A toxic on the client's bytes holds too much of them. */
const PAUSE_TOXIC = 4;

/** Where the bytes for the client are written: its socket, or the toxics in front of it. */
interface ClientOutput {
  write(bytes: Buffer): boolean;
  end(): void;
  end(bytes: Buffer): void;
}

/** Bodies up to this size are copied behind the head so that head and body go out in one write. */
const INLINE_BODY_BYTES = 16 * 1024;

export class ClientConnection {
  readonly core: GatewayCore;
  readonly socket: Socket;
  readonly head = new RequestHead();
  /** The client's address, for X-Forwarded-For. */
  private readonly address: Buffer;
  private readonly bodyScanner = new ChunkedScanner();
  /** The socket until a network toxic applies to the connection, then its ToxicLink. */
  private out: ClientOutput;
  private link: ToxicLink | undefined = undefined;
  /** What the latency toxics on this connection add to each exchange, as the client sees it. */
  private addedLatency = 0;
  private phase = READ_HEAD;
  private pending: Buffer | undefined = undefined;
  private searchFrom = 0;
  private pausedFor = 0;
  private driving = false;
  /** Clock time the connection last went idle (or opened): idle ones are closed after keepAliveTimeoutMs. */
  private idleSince: number;

  // The exchange in progress.
  private active = false;
  private requestDone = false;
  private responseDone = false;
  private responseStarted = false;
  private closeAfter = false;
  private bodyRemaining = 0;
  /** The request's bytes as sent, kept while the whole request is in them: what a retry re-sends. */
  private request: Buffer | undefined = undefined;
  private upstream: UpstreamConnection | undefined = undefined;
  private pool: UpstreamPool | undefined = undefined;
  private attempts = 0;
  /** performance.now() when the exchange began: latencies are measured on it. */
  private startedAt = 0;
  /** Read once where an attempt or the exchange ends (stamp()), for everything recorded then. */
  private stampedAt = 0;
  private latency = 0;
  private status = 0;
  private upstreamPaused = false;
  private readonly breakerCall = new BreakerCall(
    () => this.proxy(),
    (retryAfterMs) => this.refusedByBreaker(retryAfterMs),
  );
  /** The exchange is in the service's traffic window (exactly once). */
  private accounted = false;

  // Links in the core's deadline list.
  deadlineAt = 0;
  deadlineLinked = false;
  previousDeadline: ClientConnection | undefined = undefined;
  nextDeadline: ClientConnection | undefined = undefined;

  constructor(core: GatewayCore, socket: Socket) {
    this.core = core;
    this.socket = socket;
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; X-Forwarded-For names them plainly.
    const remote = socket.remoteAddress ?? 'unknown';
    this.address = Buffer.from(remote.startsWith('::ffff:') ? remote.slice(7) : remote, 'latin1');
    this.idleSince = core.clock.now();
    this.out = socket;
    socket.on('data', this.receive);
    socket.on('drain', () => this.onDrain());
    socket.on('end', this.receiveEnd);
    socket.on('error', () => {}); // 'close' follows; a client's reset is not the gateway's error
    socket.on('close', () => this.onClose());
    const network = core.toxics.network;
    if (network.length !== 0) for (const toxic of network) this.addToxic(toxic);
  }

  private readonly receive = (chunk: Buffer): void => this.onData(chunk);
  private readonly receiveEnd = (): void => this.onEnd();

  /** A network toxic of the gateway: drawn for this connection, it puts a link in front of the socket. */
  addToxic(toxic: NetworkToxic): void {
    (this.link ??= this.linkToxics()).add(toxic);
  }

  removeToxic(toxic: NetworkToxic): void {
    this.link?.remove(toxic);
  }

  private linkToxics(): ToxicLink {
    const core = this.core;
    const socket = this.socket;
    const link = new ToxicLink(socket, core.clock, core.toxics.random, {
      receive: this.receive,
      receiveEnd: this.receiveEnd,
      holdReading: () => this.pause(PAUSE_TOXIC),
      releaseReading: () => this.unpause(PAUSE_TOXIC),
      writable: () => this.resumeUpstream(),
      cut: (swallowed) => this.cutByToxic(swallowed),
      addedLatency: (ms) => {
        this.addedLatency = ms;
      },
    });
    socket.off('data', this.receive);
    socket.off('end', this.receiveEnd);
    socket.on('data', link.onData);
    socket.on('end', link.onEnd);
    this.out = link;
    return link;
  }

  /**
   * A toxic closed or reset the connection. The exchange in progress failed as the client sees it;
   * a request the toxics swallowed before the gateway read it counts as one failed request. An
   * exchange already counted is not counted again.
   */
  private cutByToxic(swallowed: boolean): void {
    if (this.active) {
      if (!this.accounted) {
        this.stamp();
        this.account(true, true);
      }
    } else if (swallowed) {
      const window = this.core.window;
      window.begin();
      window.end();
      window.recordUnmeasured(true);
    }
  }

  get isHeadRequest(): boolean {
    return this.head.method === METHOD_HEAD;
  }

  get upgradeRequested(): boolean {
    return this.head.upgrade;
  }

  /** Closes the connection if it has been idle too long (keep-alive, or a head that never ends). */
  sweep(now: number): void {
    if (!this.active && this.phase === READ_HEAD && now - this.idleSince >= this.core.keepAliveTimeoutMs) {
      this.socket.destroy();
    }
  }

  /** Closing the gateway: an idle connection closes now, a busy one after its exchange, a tunnel now. */
  closeWhenIdle(): void {
    if (this.phase === READ_TUNNEL) {
      this.upstream?.destroy();
      this.socket.destroy();
    } else if (!this.active && this.phase === READ_HEAD) {
      this.phase = READ_CLOSED;
      this.out.end();
    }
  }

  private onData(chunk: Buffer): void {
    const phase = this.phase;
    if (phase === READ_TUNNEL) {
      if (this.upstream !== undefined && !this.upstream.write(chunk)) this.pause(PAUSE_UPSTREAM);
      return;
    }
    if (phase === READ_CLOSED) return;
    this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.drive();
  }

  /** Works through the bytes received: heads start exchanges, bodies are forwarded or dropped. */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    try {
      while (this.pending !== undefined) {
        const phase = this.phase;
        if (phase === READ_BODY) {
          this.pending = this.consumeBody(this.pending);
        } else if (phase === READ_HEAD) {
          if (!this.readHead(this.pending)) return;
        } else {
          if (phase === READ_HELD) this.pause(PAUSE_HELD);
          return;
        }
      }
    } finally {
      this.driving = false;
    }
  }

  /** Starts an exchange if `buffer` holds a whole head; false when more bytes are needed (or refused). */
  private readHead(buffer: Buffer): boolean {
    if (this.searchFrom === 0 && buffer[0] === 13 && buffer[1] === 10) {
      // Empty lines before a request are allowed (RFC 9112 2.2).
      let start = 2;
      while (buffer[start] === 13 && buffer[start + 1] === 10) start += 2;
      buffer = buffer.subarray(start);
      this.pending = buffer.length === 0 ? undefined : buffer;
      if (buffer.length === 0) return false;
    }
    const blank = buffer.indexOf(CRLF_CRLF, this.searchFrom);
    if (blank < 0) {
      if (buffer.length > MAX_HEAD_BYTES) this.refuse(431);
      else this.searchFrom = Math.max(0, buffer.length - 3);
      return false;
    }
    this.searchFrom = 0;
    const headEnd = blank + 4;
    if (headEnd > MAX_HEAD_BYTES) {
      this.refuse(431);
      return false;
    }
    const status = parseRequestHead(buffer, headEnd, this.head);
    if (status !== 0) {
      this.refuse(status);
      return false;
    }
    this.pending = undefined;
    this.start(buffer, headEnd);
    return true;
  }

  /** Answers a request the gateway will not route, and closes: its framing cannot be trusted. */
  private refuse(status: number): void {
    this.pending = undefined;
    this.phase = READ_CLOSED;
    this.out.end(refusalAnswer(status, this.core.service).close);
  }

  private start(buffer: Buffer, headEnd: number): void {
    const core = this.core;
    const head = this.head;
    this.active = true;
    this.attempts = 0;
    this.status = 0;
    this.responseDone = this.responseStarted = this.accounted = false;
    this.closeAfter = !head.keepAlive || core.closing;
    this.startedAt = performance.now();
    core.window.begin();

    // The part of the body that came with the head, and what follows the request.
    let bodyEnd = headEnd;
    const length = buffer.length;
    if (head.body === BODY_NONE) {
      this.requestDone = true;
    } else if (head.body === BODY_LENGTH) {
      const available = length - headEnd;
      if (available >= head.contentLength) {
        bodyEnd = headEnd + head.contentLength;
        this.requestDone = true;
      } else {
        bodyEnd = length;
        this.bodyRemaining = head.contentLength - available;
        this.requestDone = false;
      }
    } else {
      this.bodyScanner.reset();
      const end = this.bodyScanner.scan(buffer, headEnd, length);
      if (end === -2) {
        core.window.end();
        this.active = false;
        this.accounted = true;
        this.refuse(400);
        return;
      }
      this.requestDone = end >= 0;
      bodyEnd = end >= 0 ? end : length;
    }
    if (bodyEnd < length) this.pending = buffer.subarray(bodyEnd);
    this.phase = this.requestDone ? READ_HELD : READ_BODY;

    this.request = requestForUpstream(this.head, buffer, headEnd, bodyEnd, this.address);
    this.dispatch();
  }

  private dispatch(): void {
    const core = this.core;
    if (core.toxics.http.length !== 0) {
      const injected = core.toxics.inject();
      if (injected !== undefined) {
        this.answer(injected, injected.status >= 500, true);
        return;
      }
    }
    if (core.fallbackMode && core.answers.fallback !== undefined) {
      this.answer(core.answers.fallback, core.answers.fallback.status >= 500, false);
      return;
    }
    const breaker = core.breaker;
    if (breaker === undefined) {
      this.proxy();
      return;
    }
    this.breakerCall.start(breaker);
  }

  /** The enabled breaker refused the request: the fallback answers it, or 503 CIRCUIT_OPEN. */
  private refusedByBreaker(retryAfterMs: number): void {
    if (!this.active || this.responseStarted) return;
    const fallback = this.core.answers.fallback;
    if (fallback !== undefined) {
      this.answer(fallback, fallback.status >= 500, false);
      return;
    }
    this.answer(this.core.circuitOpen(Math.max(1, Math.ceil(retryAfterMs / 1000))), true, true);
  }

  /** Sends the request to an upstream; answers 503 when there is none. */
  private proxy(): void {
    const pool = this.core.pick();
    if (pool === undefined) {
      this.answer(this.core.answers.noReplica, true, true);
      return;
    }
    this.send(pool);
  }

  private send(pool: UpstreamPool): void {
    const core = this.core;
    const now = core.clock.now();
    const upstream = pool.acquire(now);
    this.pool = pool;
    this.upstream = upstream;
    pool.inflight++;
    pool.window.begin();
    upstream.begin(this);
    const request = this.request!;
    if (!upstream.write(request)) this.pause(PAUSE_UPSTREAM);
    // Only a whole request can be sent again.
    if (!this.requestDone) this.request = undefined;
    core.armDeadline(this, now);
  }

  private consumeBody(chunk: Buffer): Buffer | undefined {
    let end: number;
    if (this.head.body === BODY_LENGTH) {
      if (chunk.length < this.bodyRemaining) {
        this.bodyRemaining -= chunk.length;
        end = -1;
      } else {
        end = this.bodyRemaining;
        this.bodyRemaining = 0;
      }
    } else {
      end = this.bodyScanner.scan(chunk, 0, chunk.length);
      if (end === -2) {
        this.abandon();
        return undefined;
      }
    }
    const part = end < 0 || end === chunk.length ? chunk : chunk.subarray(0, end);
    const upstream = this.upstream;
    if (upstream !== undefined) {
      if (!upstream.write(part)) this.pause(PAUSE_UPSTREAM);
      this.core.armDeadline(this, this.core.clock.now());
    } else if (this.responseDone) {
      this.core.armDeadline(this, this.core.clock.now()); // dropped, but it is progress
    }
    if (end < 0) return undefined;
    this.requestDone = true;
    this.phase = READ_HELD;
    const rest = end < chunk.length ? chunk.subarray(end) : undefined;
    if (this.responseDone) {
      this.stampedAt = this.core.clock.now();
      this.finish();
    }
    return rest;
  }

  // The upstream's bytes given to the four methods below are only valid during the call (they are
  // a view of the upstream read buffer): what is written to the client is a copy.

  /** Called by the upstream for a 1xx interim response. */
  responseInterim(bytes: Buffer): void {
    this.out.write(Buffer.from(bytes));
  }

  /** The upstream's response head, and the part of the body that came with it. */
  responseHead(buffer: Buffer, headEnd: number, bodyEnd: number, complete: boolean): void {
    const core = this.core;
    const upstream = this.upstream!;
    const response = upstream.response;
    const status = response.status;
    this.status = status;
    this.responseStarted = true;
    // A body delimited by the close of the connection can only be passed on the same way.
    if (response.body === BODY_UNTIL_CLOSE) this.closeAfter = true;
    const connection =
      status === 101
        ? CONNECTION_UPGRADE
        : this.closeAfter || core.closing
          ? CONNECTION_CLOSE
          : this.head.http10
            ? CONNECTION_KEEP_ALIVE
            : NO_LINE;
    // A failover target is another gateway: its own x-rebound-replica names the replica.
    const replica = this.pool !== core.failover ? this.pool!.replicaLine : NO_LINE;
    // A small body goes out with the head in one write; a larger one is written after it.
    const inlineEnd = bodyEnd - headEnd <= INLINE_BODY_BYTES ? bodyEnd : headEnd;
    this.write(responseForClient(response, buffer, headEnd, inlineEnd, replica, connection));
    if (inlineEnd !== bodyEnd) this.write(Buffer.from(buffer.subarray(headEnd, bodyEnd)));
    if (status === 101) {
      this.startTunnel();
    } else if (!complete) {
      core.armDeadline(this, core.clock.now());
    }
  }

  /** A piece of the response body (or of a tunnel's traffic). */
  responseBody(chunk: Buffer): void {
    this.write(Buffer.from(chunk));
    if (this.phase !== READ_TUNNEL) this.core.armDeadline(this, this.core.clock.now());
  }

  /** The response is complete; `reusable`: the upstream connection may carry another request. */
  responseEnd(upstream: UpstreamConnection, reusable: boolean): void {
    if (upstream !== this.upstream) return;
    const core = this.core;
    this.stamp();
    this.upstream = undefined;
    this.resumeUpstream();
    this.responseDone = true;
    core.disarmDeadline(this);
    const failed = this.status >= 500;
    this.leavePool(failed);
    upstream.pool.release(upstream, reusable && this.requestDone, this.stampedAt);
    this.account(failed, true);
    if (this.requestDone) this.finish();
    else this.discardRestOfBody();
  }

  /** The upstream connection failed before the response was complete. */
  upstreamFailed(upstream: UpstreamConnection, reason: number): void {
    if (upstream !== this.upstream) return;
    const core = this.core;
    const pool = upstream.pool;
    this.stamp();
    this.upstream = undefined;
    this.upstreamPaused = false;
    core.disarmDeadline(this);
    if (reason === FAILURE_REFUSED) core.refused(pool);
    this.leavePool(true);
    if (this.responseStarted) {
      // Part of the response is out: nothing can be said any more but a broken connection.
      this.account(true, true);
      this.socket.destroy();
      return;
    }
    if (
      this.request !== undefined &&
      this.attempts === 0 &&
      !upstream.responded &&
      (this.head.idempotent || reason === FAILURE_REFUSED)
    ) {
      // Retried once, elsewhere if possible; on the same upstream only when a kept-alive connection
      // was closed under the request (the upstream is fine, the connection was stale).
      const next = core.pick(pool) ?? (reason === FAILURE_RESET && upstream.reused ? pool : undefined);
      if (next !== undefined && !(next === pool && pool.retired)) {
        this.attempts++;
        this.unpause(PAUSE_UPSTREAM);
        this.send(next);
        return;
      }
    }
    this.answer(core.answers.badGateway, true, true);
  }

  /** The exchange passed its deadline (no progress for timeoutMs). */
  timedOut(): void {
    const upstream = this.upstream;
    if (upstream === undefined) {
      // Answered already, and the rest of the request body stopped coming.
      this.socket.destroy();
      return;
    }
    this.stamp();
    this.upstream = undefined;
    this.upstreamPaused = false;
    upstream.destroy();
    this.leavePool(true);
    if (this.responseStarted) {
      this.account(true, true);
      this.socket.destroy();
      return;
    }
    this.answer(this.core.answers.timeout, true, true);
  }

  /** The upstream end of a tunnel closed. */
  tunnelEnded(): void {
    this.upstream = undefined;
    this.out.end();
  }

  /** Answers from the gateway itself: an error, or the fallback (not `measured`: no latency). */
  private answer(answer: Answer, failed: boolean, measured: boolean): void {
    this.stamp();
    this.status = answer.status;
    this.responseStarted = this.responseDone = true;
    this.write(this.closeAfter || this.core.closing ? answer.close : answer.keepAlive);
    this.account(failed, measured);
    if (this.requestDone) this.finish();
    else this.discardRestOfBody();
  }

  /**
   * Answered before the request body was all in: the rest is read and dropped (the connection then
   * serves the next request), as long as it keeps coming (timeoutMs between pieces).
   */
  private discardRestOfBody(): void {
    this.unpause(PAUSE_UPSTREAM);
    this.core.armDeadline(this, this.stampedAt);
  }

  /** Reads the time once for what is recorded at the end of an attempt or of the exchange. */
  private stamp(): void {
    this.stampedAt = this.core.clock.now();
    this.latency = performance.now() - this.startedAt;
  }

  /** The attempt on the current upstream is over: counted in that replica's window (unless `measured` is false). */
  private leavePool(failed: boolean, measured = true): void {
    const pool = this.pool!;
    this.pool = undefined;
    pool.inflight--;
    pool.window.end();
    if (measured) pool.window.record(this.latency, failed, this.stampedAt);
    this.core.forgetIfDone(pool);
  }

  /** Records the exchange in the service's window and settles the breaker's call. */
  private account(failed: boolean, measured: boolean): void {
    if (this.accounted) return;
    this.accounted = true;
    const window = this.core.window;
    window.end();
    if (measured) window.record(this.latency + this.addedLatency, failed, this.stampedAt);
    else window.recordUnmeasured(failed, this.stampedAt);
    this.breakerCall.settle(failed);
  }

  /** Request read and response written: on to the next request, or close. */
  private finish(): void {
    this.core.disarmDeadline(this);
    this.active = false;
    this.request = undefined;
    this.pool = undefined;
    this.phase = READ_HEAD;
    this.idleSince = this.stampedAt;
    if (this.closeAfter || this.core.closing) {
      this.phase = READ_CLOSED;
      this.pending = undefined;
      this.out.end();
      return;
    }
    this.unpause(PAUSE_HELD);
    if (this.pending !== undefined && !this.driving) this.drive();
  }

  private startTunnel(): void {
    this.stamp();
    this.phase = READ_TUNNEL;
    this.core.disarmDeadline(this);
    this.leavePool(false);
    this.account(false, true);
    this.active = false;
    this.unpause(PAUSE_HELD);
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) this.upstream!.write(pending);
  }

  /** A client that breaks framing mid-body: the connection cannot be trusted. */
  private abandon(): void {
    this.upstream?.destroy();
    this.socket.destroy();
  }

  private write(bytes: Buffer): void {
    if (!this.out.write(bytes) && this.upstream !== undefined && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upstream.socket.pause();
    }
  }

  private onDrain(): void {
    // With toxics, the link says when writing may go on (its stages may still hold too much).
    if (this.link === undefined) this.resumeUpstream();
  }

  private resumeUpstream(): void {
    if (this.upstreamPaused) {
      this.upstreamPaused = false;
      this.upstream?.socket.resume();
    }
  }

  /** The upstream can take more of the request body. */
  upstreamDrained(): void {
    this.unpause(PAUSE_UPSTREAM);
  }

  private pause(reason: number): void {
    if (this.pausedFor === 0) this.socket.pause();
    this.pausedFor |= reason;
  }

  private unpause(reason: number): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    if (this.pausedFor === 0) this.socket.resume();
  }

  /**
   * The client sent FIN. Between requests that is a close. During an exchange it is taken as the
   * client giving up (as nginx does): a half-closed client rarely still reads.
   */
  private onEnd(): void {
    if (this.phase === READ_TUNNEL) {
      this.upstream?.socket.end();
    } else if (this.active) {
      this.socket.destroy();
    } else {
      this.phase = READ_CLOSED;
      this.out.end();
    }
  }

  private onClose(): void {
    const core = this.core;
    const wasActive = this.active;
    this.phase = READ_CLOSED;
    this.active = false;
    this.pending = undefined;
    core.connections.delete(this);
    core.disarmDeadline(this);
    this.link?.dispose();
    const upstream = this.upstream;
    this.upstream = undefined;
    upstream?.destroy();
    if (wasActive && this.pool !== undefined) this.leavePool(false, false);
    if (wasActive && !this.accounted) {
      // The client left: not counted in the traffic. For the breaker, a client that gave up before
      // any answer came is a failure (the upstream was too slow for it), after that a success.
      this.accounted = true;
      core.window.end();
      this.breakerCall.settle(!this.responseStarted);
    }
    core.connectionClosed();
  }
}
