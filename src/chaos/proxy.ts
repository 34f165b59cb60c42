// One fault proxy: a TCP listener forwarding to an upstream, with toxics per direction applied to
// every connection, live ones included.

import { createServer, type Server, type Socket } from 'node:net';
import type { Clock } from '../policies/index.ts';
import { badRequest, FaultProxyError, toxicNotFound } from './proxyErrors.ts';
import { type ProxyConnection, openConnection } from './proxyConnection.ts';
import type { ToxicInput, ToxicPatch, ToxicView } from './toxics.ts';

/** A proxy as the API shows it. */
export interface ProxyView {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicView[];
}

/** A proxy to create: `enabled` defaults to true. */
export interface ProxyConfig {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly enabled?: boolean;
}

export interface ProxyPatch {
  readonly listen?: string;
  readonly upstream?: string;
  readonly enabled?: boolean;
}

export interface FaultProxy {
  readonly name: string;
  /** The address asked for, or the one bound once listening (`localhost:0` becomes `127.0.0.1:<port>`). */
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
  /** Live connections. */
  readonly connections: number;
  /** Starts listening; rejects with a 500 FaultProxyError when the address cannot be bound. */
  start(): Promise<void>;
  /** Stops listening and closes every live connection. */
  stop(): Promise<void>;
  /** Merges listen, upstream and enabled; a new listen or upstream restarts the proxy. */
  update(patch: ProxyPatch): Promise<void>;
  addToxic(input: ToxicInput): ToxicView;
  getToxic(name: string): ToxicView;
  updateToxic(name: string, patch: ToxicPatch): ToxicView;
  removeToxic(name: string): void;
  removeAllToxics(): void;
  /** Upstream toxics first, then downstream, each in insertion order. */
  toxics(): ToxicView[];
  view(): ProxyView;
}

export interface FaultProxyOptions {
  readonly clock: Clock;
  readonly random: () => number;
}

/** Splits `host:port` (`[v6]:port` too); `localhost` is 127.0.0.1, as Toxiproxy resolves it. */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return undefined;
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(portText) };
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function createFaultProxy(config: ProxyConfig, options: FaultProxyOptions): FaultProxy {
  const name = config.name;
  let listen = config.listen;
  let upstream = config.upstream;
  let enabled = false;
  let server: Server | undefined;
  const upstreamToxics: ToxicView[] = [];
  const downstreamToxics: ToxicView[] = [];
  const connections = new Set<ProxyConnection>();

  const allToxics = (): ToxicView[] => [...upstreamToxics, ...downstreamToxics];
  const findToxic = (toxicName: string): ToxicView => {
    const toxic = allToxics().find((candidate) => candidate.name === toxicName);
    if (!toxic) throw toxicNotFound();
    return toxic;
  };

  const accept = (client: Socket): void => {
    const target = parseAddress(upstream);
    if (!target) {
      client.destroy();
      return;
    }
    const connection = openConnection(client, {
      upstreamHost: target.host,
      upstreamPort: target.port,
      toxics: allToxics(),
      clock: options.clock,
      random: options.random,
      onClose: () => connections.delete(connection),
    });
    connections.add(connection);
  };

  const start = async (): Promise<void> => {
    if (server) return;
    const address = parseAddress(listen);
    if (!address) {
      throw new FaultProxyError(
        'PROXY_LISTEN_FAILED',
        `listen tcp ${listen}: address ${listen}: missing port in address`,
      );
    }
    const candidate = createServer({ allowHalfOpen: true, noDelay: true }, accept);
    await new Promise<void>((resolve, reject) => {
      candidate.once('error', reject);
      candidate.listen({ host: address.host || undefined, port: address.port }, () => {
        candidate.off('error', reject);
        resolve();
      });
    }).catch((error: Error) => {
      throw new FaultProxyError('PROXY_LISTEN_FAILED', `listen tcp ${listen}: ${error.message}`, {
        cause: error,
      });
    });
    const bound = candidate.address();
    if (bound && typeof bound === 'object') listen = formatAddress(bound.address, bound.port);
    server = candidate;
    enabled = true;
  };

  const stop = async (): Promise<void> => {
    enabled = false;
    const current = server;
    server = undefined;
    for (const connection of connections) connection.destroy();
    connections.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  const view = (): ProxyView => ({ name, listen, upstream, enabled, toxics: allToxics() });

  return {
    name,
    get listen() {
      return listen;
    },
    get upstream() {
      return upstream;
    },
    get enabled() {
      return enabled;
    },
    get connections() {
      return connections.size;
    },
    start,
    stop,
    async update(patch) {
      const wantEnabled = patch.enabled ?? enabled;
      const moved =
        (patch.listen !== undefined && patch.listen !== listen) ||
        (patch.upstream !== undefined && patch.upstream !== upstream);
      if (moved || !wantEnabled) await stop();
      listen = patch.listen ?? listen;
      upstream = patch.upstream ?? upstream;
      if (wantEnabled) await start();
    },
    addToxic(input) {
      if (allToxics().some((toxic) => toxic.name === input.name)) {
        throw new FaultProxyError('TOXIC_EXISTS', 'toxic already exists');
      }
      const toxic: ToxicView = {
        attributes: { ...input.attributes },
        name: input.name,
        type: input.type,
        stream: input.stream,
        toxicity: input.toxicity,
      };
      (toxic.stream === 'upstream' ? upstreamToxics : downstreamToxics).push(toxic);
      for (const connection of connections) connection.addToxic(toxic);
      return toxic;
    },
    getToxic: findToxic,
    updateToxic(toxicName, patch) {
      const toxic = findToxic(toxicName);
      if (patch.attributes) toxic.attributes = { ...patch.attributes };
      if (patch.toxicity !== undefined) toxic.toxicity = patch.toxicity;
      for (const connection of connections) connection.updateToxic(toxic);
      return toxic;
    },
    removeToxic(toxicName) {
      const toxic = findToxic(toxicName);
      const list = toxic.stream === 'upstream' ? upstreamToxics : downstreamToxics;
      list.splice(list.indexOf(toxic), 1);
      for (const connection of connections) connection.removeToxic(toxic);
    },
    removeAllToxics() {
      for (const toxic of allToxics()) this.removeToxic(toxic.name);
    },
    toxics: allToxics,
    view,
  };
}

/** Checks a proxy from a request body: name and upstream are required, listen defaults to localhost:0. */
export function parseProxyConfig(body: unknown, position?: number): ProxyConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest();
  const { name = '', listen = '', upstream = '', enabled = true } = body as Record<string, unknown>;
  if (typeof name !== 'string' || typeof listen !== 'string' || typeof upstream !== 'string')
    throw badRequest();
  if (typeof enabled !== 'boolean') throw badRequest();
  const at = position === undefined ? '' : ` at proxy ${position}`;
  if (!name) throw new FaultProxyError('PROXY_BAD_REQUEST', `missing required field: name${at}`);
  if (!upstream) throw new FaultProxyError('PROXY_BAD_REQUEST', `missing required field: upstream${at}`);
  return { name, listen: listen || 'localhost:0', upstream, enabled };
}

/** Checks a proxy update: only listen, upstream and enabled count; the name is ignored. */
export function parseProxyPatch(body: unknown): ProxyPatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest();
  const { listen, upstream, enabled } = body as Record<string, unknown>;
  if (listen !== undefined && typeof listen !== 'string') throw badRequest();
  if (upstream !== undefined && typeof upstream !== 'string') throw badRequest();
  if (enabled !== undefined && typeof enabled !== 'boolean') throw badRequest();
  return { listen, upstream, enabled } as ProxyPatch;
}
