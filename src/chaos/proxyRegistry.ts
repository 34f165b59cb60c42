// The named fault proxies of one server, with the operations of the Toxiproxy API.

import { type Clock, systemClock } from '../policies/index.ts';
import { FaultProxyError, isFaultProxyError, proxyNotFound } from './proxyErrors.ts';
import {
  createFaultProxy,
  type FaultProxy,
  type ProxyConfig,
  type ProxyPatch,
  type ProxyView,
} from './proxy.ts';
import type { ToxicInput, ToxicPatch, ToxicView } from './toxics.ts';

export interface ProxyRegistryOptions {
  readonly clock?: Clock;
  /** A number in [0, 1) for toxicity draws, jitter and slice sizes. */
  readonly random?: () => number;
}

/** What `populate` did: the proxies in the order given, and the error that stopped it, if one did. */
export interface PopulateResult {
  readonly proxies: ProxyView[];
  readonly error?: FaultProxyError;
}

export interface ProxyRegistry {
  /** Creates and (unless `enabled: false`) starts a proxy; 409 when the name exists, 500 when it cannot listen. */
  create(config: ProxyConfig): Promise<ProxyView>;
  get(name: string): ProxyView | undefined;
  /** Every proxy, sorted by name (Toxiproxy answers a Go map, whose keys come sorted). */
  list(): ProxyView[];
  update(name: string, patch: ProxyPatch): Promise<ProxyView>;
  remove(name: string): Promise<void>;
  /** Creates the proxies in order; one with the same listen and upstream as an existing one keeps it (and its toxics). */
  populate(configs: readonly ProxyConfig[]): Promise<PopulateResult>;
  /** Re-enables every proxy and removes every toxic. */
  reset(): Promise<void>;
  addToxic(proxy: string, toxic: ToxicInput): ToxicView;
  getToxic(proxy: string, toxic: string): ToxicView;
  toxics(proxy: string): ToxicView[];
  updateToxic(proxy: string, toxic: string, patch: ToxicPatch): ToxicView;
  removeToxic(proxy: string, toxic: string): void;
  /** The proxy itself (live connections, toxics), for callers that need more than its view. */
  proxy(name: string): FaultProxy;
  /** Stops every proxy and forgets them. */
  closeAll(): Promise<void>;
}

export function createProxyRegistry(options: ProxyRegistryOptions = {}): ProxyRegistry {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const proxies = new Map<string, FaultProxy>();

  const find = (name: string): FaultProxy => {
    const proxy = proxies.get(name);
    if (!proxy) throw proxyNotFound();
    return proxy;
  };

  const create = async (config: ProxyConfig): Promise<ProxyView> => {
    // Checked before binding, so a duplicate never touches the network.
    if (proxies.has(config.name)) throw new FaultProxyError('PROXY_EXISTS', 'proxy already exists');
    const proxy = createFaultProxy(config, { clock, random });
    if (config.enabled ?? true) await proxy.start();
    // Another create may have finished while this one was binding.
    if (proxies.has(config.name)) {
      await proxy.stop();
      throw new FaultProxyError('PROXY_EXISTS', 'proxy already exists');
    }
    proxies.set(config.name, proxy);
    return proxy.view();
  };

  const remove = async (name: string): Promise<void> => {
    const proxy = find(name);
    proxies.delete(name);
    await proxy.stop();
  };

  return {
    create,
    get: (name) => proxies.get(name)?.view(),
    list: () => [...proxies.keys()].sort().map((name) => (proxies.get(name) as FaultProxy).view()),
    async update(name, patch) {
      const proxy = find(name);
      await proxy.update(patch);
      return proxy.view();
    },
    remove,
    async populate(configs) {
      const created: ProxyView[] = [];
      try {
        for (const config of configs) {
          const existing = proxies.get(config.name);
          if (existing && existing.listen === config.listen && existing.upstream === config.upstream) {
            created.push(existing.view());
            continue;
          }
          if (existing) await remove(config.name);
          created.push(await create(config));
        }
      } catch (error) {
        if (!isFaultProxyError(error)) throw error;
        return { proxies: created, error };
      }
      return { proxies: created };
    },
    async reset() {
      for (const proxy of proxies.values()) {
        proxy.removeAllToxics();
        if (!proxy.enabled) await proxy.start();
      }
    },
    addToxic: (proxy, toxic) => find(proxy).addToxic(toxic),
    getToxic: (proxy, toxic) => find(proxy).getToxic(toxic),
    toxics: (proxy) => find(proxy).toxics(),
    updateToxic: (proxy, toxic, patch) => find(proxy).updateToxic(toxic, patch),
    removeToxic: (proxy, toxic) => find(proxy).removeToxic(toxic),
    proxy: find,
    async closeAll() {
      const all = [...proxies.values()];
      proxies.clear();
      await Promise.all(all.map((proxy) => proxy.stop()));
    },
  };
}
