// The API on a real socket: node:http in front of `createApiHandler`, bound to `server.host`.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ControlPlane, isLoopback } from '../healing/index.ts';
import { type ApiHandlerOptions, createApiHandler } from './api.ts';
import type { ApiHandler, ApiRequest, ApiResponse, Route } from './apiTypes.ts';
import { MAX_BODY_BYTES } from './body.ts';

export interface ApiServerOptions {
  readonly controlPlane: ControlPlane;
  /** `server.host`; on a loopback address reads need no token. */
  readonly host: string;
  /** `server.port`; 0 picks a free port. */
  readonly port: number;
  /** `server.token`. */
  readonly token: string | undefined;
  /** More routes beside the API's (the dashboard, the chaos API). */
  readonly routes?: readonly Route[];
  readonly onError?: ApiHandlerOptions['onError'];
}

export interface ApiServer {
  readonly address: { readonly host: string; readonly port: number };
  /** E.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Stops accepting connections, lets requests being answered finish, then closes the rest. */
  close(): Promise<void>;
}

/** How long a whole request may take to arrive; slower clients are cut off (slowloris). */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long a connection whose request body was left unread stays open after the answer. */
const CLOSE_DELAY_MS = 1_000;
/** How long `close` waits for requests in progress before cutting their connections. */
const CLOSE_GRACE_MS = 5_000;

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const handler = createApiHandler({
    controlPlane: options.controlPlane,
    token: options.token,
    loopbackOnly: isLoopback(options.host),
    ...(options.routes ? { routes: options.routes } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  // Streams open (the dashboard's /api/stream): ended on close, which would otherwise wait for them.
  const streams = new Set<() => void>();
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
    // The handler answers every error itself; only writing the answer can still fail.
    serve(handler, request, response, streams).catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closing: Promise<void> | undefined;
  return {
    address: { host: address, port },
    url: `http://${host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        for (const end of [...streams]) end();
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function serve(
  handler: ApiHandler,
  request: IncomingMessage,
  response: ServerResponse,
  streams: Set<() => void>,
): Promise<void> {
  const apiRequest: ApiRequest = {
    method: request.method ?? 'GET',
    url: request.url ?? '/',
    headers: request.headers,
    body: request,
  };
  const answer = await handler(apiRequest);
  if (answer.stream && request.method !== 'HEAD') return openStream(answer, response, streams);
  const body = Buffer.from(answer.body, 'utf8');
  const headers: Record<string, string | number> = { ...answer.headers, 'content-length': body.length };
  if (!request.complete && (answer.status === 413 || !boundedBody(request))) {
    // A body left unread that is too large or of unknown length: node:http would read it all to
    // reuse the connection. Close the connection instead, a moment after the answer: cutting it at
    // once, with the client's bytes unread, resets it, and a reset can discard the answer before
    // the client reads it. (A short body left unread, e.g. with a 401, is skipped by node:http and
    // the connection kept.)
    headers.connection = 'close';
    response.once('finish', () => {
      setTimeout(() => request.socket.destroy(), CLOSE_DELAY_MS).unref();
    });
  }
  response.writeHead(answer.status, headers);
  response.end(body);
}

/** A body declared with a length within the limit, which node:http may skip to keep the connection. */
function boundedBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] === undefined &&
    length !== undefined &&
    Number(length) <= MAX_BODY_BYTES
  );
}

/** Sends the headers, then what the stream writes until the client goes or the server closes. */
function openStream(answer: ApiResponse, response: ServerResponse, streams: Set<() => void>): void {
  // A stream holds its connection to the end: closed then, so that `close` need not wait for it.
  response.writeHead(answer.status, { ...answer.headers, connection: 'close' });
  response.flushHeaders();
  const stop = answer.stream!((chunk) => void response.write(chunk));
  const end = (): void => {
    if (!streams.delete(end)) return;
    stop();
    response.end();
  };
  streams.add(end);
  response.once('close', end);
}
