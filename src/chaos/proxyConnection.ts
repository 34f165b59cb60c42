// One client connection through a fault proxy: the client socket, its upstream socket, and a chain of
// toxic stages per direction that follows the proxy's toxics while the connection lives.

import { connect, type Socket } from 'node:net';
import type { Clock } from '../policies/index.ts';
import { ToxicChain } from './toxicChain.ts';
import type { ToxicStream, ToxicView } from './toxics.ts';

export interface ProxyConnection {
  addToxic(toxic: ToxicView): void;
  updateToxic(toxic: ToxicView): void;
  removeToxic(toxic: ToxicView): void;
  /** Closes both sockets at once. */
  destroy(): void;
}

export interface ConnectionOptions {
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** The proxy's toxics when the connection opens, in order. */
  readonly toxics: readonly ToxicView[];
  readonly clock: Clock;
  readonly random: () => number;
  /** Called once, when both sockets are closed. */
  readonly onClose: () => void;
}

export function openConnection(client: Socket, options: ConnectionOptions): ProxyConnection {
  const upstream = connect({ host: options.upstreamHost, port: options.upstreamPort, allowHalfOpen: true });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  let finished = false;
  let openSockets = 2;

  const dispose = (): void => {
    toUpstream.dispose();
    toDownstream.dispose();
    client.removeAllListeners('data');
    upstream.removeAllListeners('data');
  };
  const destroy = (): void => {
    dispose();
    client.destroy();
    upstream.destroy();
  };
  const close = (): void => {
    dispose();
    for (const socket of [client, upstream]) {
      if (socket.destroyed) continue;
      socket.pause();
      socket.end(() => socket.destroy());
    }
  };
  const reset = (): void => {
    dispose();
    for (const socket of [client, upstream]) {
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy(); // not connected yet: nothing to reset
      }
    }
  };

  /** One direction: reads `source`, passes each chunk through the chain, writes `destination`. */
  const direction = (source: Socket, destination: Socket): ToxicChain => {
    const chain = ToxicChain.toSocket(destination, {
      clock: options.clock,
      random: options.random,
      close,
      reset,
      pause: () => source.pause(),
      resume: () => {
        if (!finished) source.resume();
      },
    });
    source.on('data', (chunk: Buffer) => chain.write(chunk));
    source.on('end', () => chain.end());
    return chain;
  };

  const toUpstream = direction(client, upstream);
  const toDownstream = direction(upstream, client);
  const of = (stream: ToxicStream): ToxicChain => (stream === 'upstream' ? toUpstream : toDownstream);
  for (const toxic of options.toxics) of(toxic.stream).append(toxic);

  for (const socket of [client, upstream]) {
    // An error closes everything; 'close' follows, where the bookkeeping happens.
    socket.on('error', destroy);
    socket.on('close', () => {
      // A socket closing before both directions ended was cut off: the other side goes too.
      if (!(toUpstream.ended && toDownstream.ended)) destroy();
      if (--openSockets === 0 && !finished) {
        finished = true;
        dispose();
        options.onClose();
      }
    });
  }

  return {
    addToxic: (toxic) => of(toxic.stream).append(toxic),
    updateToxic: (toxic) => of(toxic.stream).update(toxic),
    removeToxic: (toxic) => of(toxic.stream).remove(toxic),
    destroy,
  };
}
