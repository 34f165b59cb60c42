// The Toxiproxy 2.x HTTP API over a ProxyRegistry: same routes, JSON shapes, status codes and error
// messages, so Toxiproxy's clients and CLI drive rebound's fault proxy unchanged.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseProxyConfig, parseProxyPatch } from './proxy.ts';
import { badRequest, isFaultProxyError } from './proxyErrors.ts';
import { createProxyRegistry, type ProxyRegistry } from './proxyRegistry.ts';
import { parseToxicInput, parseToxicPatch } from './toxics.ts';

/** The Toxiproxy version whose API this one matches, answered by GET /version. */
export const TOXIPROXY_API_VERSION = '2.12.0';

export const TOXIPROXY_DEFAULTS = { host: 'localhost', port: 8474 } as const;

export interface ToxiproxyApiOptions {
  readonly host?: string;
  readonly port?: number;
  /** The proxies to serve; a new empty registry when omitted (closed with the server). */
  readonly registry?: ProxyRegistry;
}

export interface FaultProxyServer {
  readonly proxies: ProxyRegistry;
  /** `http://host:port` of the API. */
  readonly url: string;
  /** Stops the API and, when the registry was created here, every proxy. */
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

type Handler = (body: () => Promise<unknown>, params: readonly string[]) => Answer | Promise<Answer>;

interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

const NAME = '([^/]+)';

function routes(registry: ProxyRegistry): readonly Route[] {
  const ok = (body: unknown): Answer => ({ status: 200, body });
  const noContent: Answer = { status: 204 };
  const updateProxy: Handler = async (body, [name = '']) => {
    registry.proxy(name); // 404 before the body is read, as Toxiproxy does
    return ok(await registry.update(name, parseProxyPatch(await body())));
  };
  const updateToxic: Handler = async (body, [proxy = '', toxic = '']) => {
    const current = registry.getToxic(proxy, toxic);
    return ok(
      registry.updateToxic(proxy, toxic, parseToxicPatch(current.type, current.attributes, await body())),
    );
  };
  return [
    {
      pattern: /^\/proxies$/,
      methods: {
        GET: () => ok(Object.fromEntries(registry.list().map((proxy) => [proxy.name, proxy]))),
        POST: async (body) => ({ status: 201, body: await registry.create(parseProxyConfig(await body())) }),
      },
    },
    {
      pattern: /^\/populate$/,
      methods: {
        POST: async (body) => {
          const list = await body();
          if (!Array.isArray(list)) throw badRequest();
          // Every entry is checked before any is created.
          const configs = list.map((entry, index) => parseProxyConfig(entry, index + 1));
          const result = await registry.populate(configs);
          if (!result.error) return { status: 201, body: { proxies: result.proxies } };
          return {
            status: result.error.status,
            body: { proxies: result.proxies, error: result.error.message, status: result.error.status },
          };
        },
      },
    },
    {
      pattern: new RegExp(`^/proxies/${NAME}$`),
      methods: {
        GET: (_body, [name = '']) => ok(registry.proxy(name).view()),
        POST: updateProxy,
        PATCH: updateProxy,
        DELETE: async (_body, [name = '']) => {
          await registry.remove(name);
          return noContent;
        },
      },
    },
    {
      pattern: new RegExp(`^/proxies/${NAME}/toxics$`),
      methods: {
        GET: (_body, [name = '']) => ok(registry.toxics(name)),
        POST: async (body, [name = '']) => {
          registry.proxy(name);
          return ok(registry.addToxic(name, parseToxicInput(await body())));
        },
      },
    },
    {
      pattern: new RegExp(`^/proxies/${NAME}/toxics/${NAME}$`),
      methods: {
        GET: (_body, [proxy = '', toxic = '']) => ok(registry.getToxic(proxy, toxic)),
        POST: updateToxic,
        PATCH: updateToxic,
        DELETE: (_body, [proxy = '', toxic = '']) => {
          registry.removeToxic(proxy, toxic);
          return noContent;
        },
      },
    },
    {
      pattern: /^\/reset$/,
      methods: {
        POST: async () => {
          await registry.reset();
          return noContent;
        },
      },
    },
  ];
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest();
  }
}

function send(response: ServerResponse, answer: Answer): void {
  if (answer.body === undefined) {
    response.writeHead(answer.status).end();
    return;
  }
  const text = JSON.stringify(answer.body);
  response.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(text);
}

/** Answers one request of the Toxiproxy API; exported so routes are tested without a socket. */
export function toxiproxyHandler(registry: ProxyRegistry) {
  const table = routes(registry);
  // Request ids as Toxiproxy's are: unique per server, cheap to make.
  const prefix = randomBytes(6).toString('hex');
  let sequence = 0;

  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    response.setHeader('X-Toxiproxy-Request-Id', `${prefix}${(sequence++).toString(16).padStart(8, '0')}`);
    // Toxiproxy refuses browsers so a web page cannot drive it (a CSRF guard); it answers in plain text.
    if (request.headers['user-agent']?.startsWith('Mozilla/')) {
      response
        .writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('User agent not allowed\n');
      return;
    }
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const method = request.method ?? 'GET';
    if (path === '/version' && method === 'GET') {
      response
        .writeHead(200, { 'Content-Type': 'application/json;charset=utf-8' })
        .end(`${JSON.stringify({ version: TOXIPROXY_API_VERSION })}\n`);
      return;
    }
    for (const route of table) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      const handler = route.methods[method];
      if (!handler) {
        response.writeHead(405).end();
        return;
      }
      const params = match.slice(1).map((part) => decodeURIComponent(part));
      try {
        send(response, await handler(() => readJson(request), params));
      } catch (error) {
        const status = isFaultProxyError(error) ? error.status : 500;
        send(response, { status, body: { error: (error as Error).message, status } });
      }
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
  };
}

/** Serves the Toxiproxy API (default localhost:8474) over `registry`, or a new one. */
export async function startToxiproxyApi(options: ToxiproxyApiOptions = {}): Promise<FaultProxyServer> {
  const host = options.host ?? TOXIPROXY_DEFAULTS.host;
  const port = options.port ?? TOXIPROXY_DEFAULTS.port;
  const owned = options.registry === undefined;
  const registry = options.registry ?? createProxyRegistry();
  const handler = toxiproxyHandler(registry);
  const server = createServer((request, response) => void handler(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    proxies: registry,
    url: `http://${shownHost}:${address.port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (owned) await registry.closeAll();
    },
  };
}
