// The gateway's side towards one replica: a pool of keep-alive connections, and on each connection
// the reading of the response (its framing, so the connection can be reused once it is complete).

import { connect, type Socket } from 'node:net';
import type { ClientConnection } from './gatewayConnection.ts';
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  CRLF_CRLF,
  MAX_HEAD_BYTES,
} from './gatewayHttp.ts';
import { ChunkedScanner } from './gatewayChunked.ts';
import { parseResponseHead, ResponseHead } from './gatewayResponseHead.ts';
import { TrafficWindow, type TrafficWindowOptions } from './trafficWindow.ts';

/** Idle connections kept per upstream; more are closed when they go idle. */
const MAX_IDLE = 256;
/** How long an idle connection is kept when the upstream gives no `Keep-Alive: timeout` (Node's is 5 s). */
const DEFAULT_IDLE_MS = 4_000;

// What a connection's reader expects next.
const IDLE = 0;
const HEAD = 1;
const BODY_BY_LENGTH = 2;
const BODY_BY_CHUNKS = 3;
const BODY_TO_CLOSE = 4;
const TUNNEL = 5;
const GONE = 6;

/**
 * The one buffer every upstream connection of this thread reads into (`onread`): no allocation per
 * read, and no stream machinery between the socket and the response reader. Reads are handled one
 * at a time and synchronously, so one buffer serves all; whatever must outlive a read callback
 * (a partial head, body bytes written to a client) is copied out of it first.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Why an exchange with an upstream failed before it was complete. */
/** The connection could not be made (refused, unreachable): nothing of the request was sent. */
export const FAILURE_REFUSED = 1;
/** The connection broke (reset, closed) after the request was written. */
export const FAILURE_RESET = 2;
/** The upstream's answer is not valid HTTP/1.x. */
export const FAILURE_PROTOCOL = 3;

/** One replica (or a failover target): its address, its connections, its traffic. */
export class UpstreamPool {
  readonly id: string;
  host: string;
  port: number;
  /** Bumped when the address changes: connections to the old address are not reused. */
  generation = 0;
  readonly window: TrafficWindow;
  /** `x-rebound-replica: <id>` as a header line, added to every response it gives. */
  readonly replicaLine: Buffer;
  inflight = 0;
  avoidUntil = 0;
  /** Out of the balancing set: its in-flight requests finish, then its connections close. */
  retired = false;
  idleTimeoutMs = DEFAULT_IDLE_MS;
  private readonly idle: UpstreamConnection[] = [];
  private readonly all = new Set<UpstreamConnection>();

  constructor(id: string, host: string, port: number, windowOptions: TrafficWindowOptions) {
    this.id = id;
    this.host = host;
    this.port = port;
    this.window = new TrafficWindow(windowOptions);
    this.replicaLine = Buffer.from(`x-rebound-replica: ${id}\r\n`, 'latin1');
  }

  get connections(): number {
    return this.all.size;
  }

  get idleConnections(): number {
    return this.idle.length;
  }

  setAddress(host: string, port: number): void {
    if (host === this.host && port === this.port) return;
    this.host = host;
    this.port = port;
    this.generation++;
    this.closeIdle();
  }

  /** An idle connection (the most recently used: the least likely to have been closed), or a new one. */
  acquire(now: number): UpstreamConnection {
    const idle = this.idle;
    while (idle.length > 0) {
      const connection = idle.pop()!;
      if (now - connection.idleSince < this.idleTimeoutMs) return connection;
      connection.destroy();
    }
    const connection = new UpstreamConnection(this);
    this.all.add(connection);
    return connection;
  }

  /** Takes a connection back after an exchange; closes it when it cannot carry another. */
  release(connection: UpstreamConnection, reusable: boolean, now: number): void {
    if (
      !reusable ||
      this.retired ||
      connection.generation !== this.generation ||
      this.idle.length >= MAX_IDLE ||
      connection.socket.destroyed
    ) {
      connection.destroy();
      return;
    }
    connection.idleSince = now;
    this.idle.push(connection);
  }

  /** The upstream's own keep-alive timeout: idle connections are dropped a second before it. */
  keepAliveHint(ms: number): void {
    const limit = Math.max(Math.min(ms - 1_000, DEFAULT_IDLE_MS), Math.min(ms / 2, DEFAULT_IDLE_MS));
    if (limit !== this.idleTimeoutMs) this.idleTimeoutMs = limit;
  }

  /** Closes idle connections older than the idle timeout (the oldest are first in the list). */
  sweep(now: number): void {
    const idle = this.idle;
    let expired = 0;
    while (expired < idle.length && now - idle[expired]!.idleSince >= this.idleTimeoutMs) expired++;
    if (expired === 0) return;
    for (const connection of idle.splice(0, expired)) connection.destroy();
  }

  closeIdle(): void {
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  /** Closes every connection, busy or not. */
  destroy(): void {
    this.closeIdle();
    for (const connection of [...this.all]) connection.destroy();
  }

  /** @internal */
  forget(connection: UpstreamConnection): void {
    this.all.delete(connection);
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
  }
}

/** One keep-alive connection to an upstream, carrying one exchange at a time. */
export class UpstreamConnection {
  readonly pool: UpstreamPool;
  readonly socket: Socket;
  readonly generation: number;
  readonly response = new ResponseHead();
  private readonly chunks = new ChunkedScanner();
  client: ClientConnection | undefined = undefined;
  /** It carried an exchange to its end before: a failure may just be an idle close racing a request. */
  reused = false;
  connected = false;
  /** Some byte of the current response arrived: past that, a request is never retried. */
  responded = false;
  idleSince = 0;
  private state = IDLE;
  private pending: Buffer | undefined = undefined;
  private remaining = 0;

  constructor(pool: UpstreamPool) {
    this.pool = pool;
    this.generation = pool.generation;
    this.socket = connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: this.onRead },
    });
    this.socket.on('connect', () => {
      this.connected = true;
      this.pool.avoidUntil = 0;
    });
    this.socket.on('drain', () => this.client?.upstreamDrained());
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', () => {}); // 'close' follows, and says what it means for the exchange
    this.socket.on('close', () => this.onClose());
  }

  /** Starts an exchange for `client`: the request bytes are written by the client. */
  begin(client: ClientConnection): void {
    this.client = client;
    this.state = HEAD;
    this.responded = false;
    this.pending = undefined;
  }

  /** Sends request bytes; false when the socket's buffer is full (wait for the client's drain). */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  destroy(): void {
    this.state = GONE;
    this.client = undefined;
    this.socket.destroy();
  }

  private readonly onRead = (length: number): boolean => {
    this.onData(READ_BUFFER.subarray(0, length));
    return true; // pausing, when needed, is done with socket.pause()
  };

  /** `chunk` is a view of READ_BUFFER, valid only during this call. */
  private onData(chunk: Buffer): void {
    const client = this.client;
    switch (this.state) {
      case HEAD:
        this.responded = true;
        this.readHead(client!, chunk);
        return;
      case BODY_BY_LENGTH: {
        const remaining = this.remaining;
        if (chunk.length < remaining) {
          this.remaining = remaining - chunk.length;
          client!.responseBody(chunk);
        } else {
          client!.responseBody(chunk.length === remaining ? chunk : chunk.subarray(0, remaining));
          this.complete(chunk.length === remaining);
        }
        return;
      }
      case BODY_BY_CHUNKS: {
        const end = this.chunks.scan(chunk, 0, chunk.length);
        if (end === -1) {
          client!.responseBody(chunk);
        } else if (end === -2) {
          this.fail(FAILURE_PROTOCOL);
        } else {
          client!.responseBody(end === chunk.length ? chunk : chunk.subarray(0, end));
          this.complete(end === chunk.length);
        }
        return;
      }
      case BODY_TO_CLOSE:
      case TUNNEL:
        client!.responseBody(chunk);
        return;
      default:
        // Bytes nobody asked for (an idle connection): it can no longer be trusted with a request.
        this.socket.destroy();
    }
  }

  private readHead(client: ClientConnection, chunk: Buffer): void {
    let buffer = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const blank = buffer.indexOf(CRLF_CRLF);
      if (blank < 0) {
        if (buffer.length > MAX_HEAD_BYTES) this.fail(FAILURE_PROTOCOL);
        else this.pending = buffer === chunk ? Buffer.from(chunk) : buffer;
        return;
      }
      this.pending = undefined;
      const headEnd = blank + 4;
      const response = this.response;
      if (!parseResponseHead(buffer, headEnd, client.isHeadRequest, response)) {
        this.fail(FAILURE_PROTOCOL);
        return;
      }
      if (response.keepAliveMs > 0) this.pool.keepAliveHint(response.keepAliveMs);
      const status = response.status;
      if (status >= 100 && status < 200 && status !== 101) {
        // An interim answer (100 Continue, 103 Early Hints): passed on, the final one follows.
        client.responseInterim(buffer.subarray(0, headEnd));
        if (headEnd === buffer.length) return;
        buffer = buffer.subarray(headEnd);
        continue;
      }
      const length = buffer.length;
      if (status === 101) {
        if (!client.upgradeRequested) {
          this.fail(FAILURE_PROTOCOL);
          return;
        }
        this.state = TUNNEL;
        client.responseHead(buffer, headEnd, length, false);
        return;
      }
      switch (response.body) {
        case BODY_NONE:
          this.state = IDLE;
          client.responseHead(buffer, headEnd, headEnd, true);
          this.complete(headEnd === length);
          return;
        case BODY_LENGTH: {
          const available = length - headEnd;
          const contentLength = response.contentLength;
          if (available >= contentLength) {
            client.responseHead(buffer, headEnd, headEnd + contentLength, true);
            this.complete(available === contentLength);
          } else {
            this.state = BODY_BY_LENGTH;
            this.remaining = contentLength - available;
            client.responseHead(buffer, headEnd, length, false);
          }
          return;
        }
        case BODY_CHUNKED: {
          this.chunks.reset();
          const end = this.chunks.scan(buffer, headEnd, length);
          if (end === -2) {
            this.fail(FAILURE_PROTOCOL);
          } else if (end === -1) {
            this.state = BODY_BY_CHUNKS;
            client.responseHead(buffer, headEnd, length, false);
          } else {
            client.responseHead(buffer, headEnd, end, true);
            this.complete(end === length);
          }
          return;
        }
        case BODY_UNTIL_CLOSE:
          this.state = BODY_TO_CLOSE;
          client.responseHead(buffer, headEnd, length, false);
          return;
      }
    }
  }

  /** The response is complete; `clean`: nothing followed it, so the connection may carry another. */
  private complete(clean: boolean): void {
    const client = this.client!;
    this.state = IDLE;
    this.client = undefined;
    this.reused = true;
    client.responseEnd(this, clean && !this.response.close);
  }

  private fail(reason: number): void {
    const client = this.client;
    this.destroy();
    client?.upstreamFailed(this, reason);
  }

  private onEnd(): void {
    if (this.state === BODY_TO_CLOSE) {
      this.complete(false);
    } else if (this.state === TUNNEL) {
      this.client?.tunnelEnded();
    }
  }

  private onClose(): void {
    const client = this.client;
    const state = this.state;
    this.state = GONE;
    this.client = undefined;
    this.pool.forget(this);
    if (client === undefined) return;
    if (state === TUNNEL) {
      client.tunnelEnded();
      return;
    }
    if (state === BODY_TO_CLOSE) {
      client.responseEnd(this, false);
      return;
    }
    const refused = !this.connected && !this.responded;
    client.upstreamFailed(this, refused ? FAILURE_REFUSED : FAILURE_RESET);
  }
}
