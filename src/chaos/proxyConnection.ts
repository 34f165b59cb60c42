// One client connection through a fault proxy: the client socket, its upstream socket, and a chain of
// toxic stages per direction that follows the proxy's toxics while the connection lives.

import { connect, type Socket } from 'node:net';
import type { Clock } from '../policies/index.ts';
import type { ToxicStream, ToxicView } from './toxics.ts';
import { type ChunkSink, createToxicStage, type StageContext, type ToxicStage } from './toxicsStages.ts';

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

/** One direction: reads `source`, passes each chunk through the stages, writes `destination`. */
interface Direction {
  readonly source: Socket;
  readonly destination: Socket;
  readonly stages: ToxicStage[];
  readonly sink: ChunkSink;
  readonly context: StageContext;
  /** The sink closed the destination's writing side. */
  ended: boolean;
}

export function openConnection(client: Socket, options: ConnectionOptions): ProxyConnection {
  const upstream = connect({ host: options.upstreamHost, port: options.upstreamPort, allowHalfOpen: true });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  let finished = false;
  let openSockets = 2;

  const dispose = (): void => {
    for (const direction of [toUpstream, toDownstream]) {
      for (const stage of direction.stages) stage.dispose();
      direction.source.removeAllListeners('data');
    }
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

  const direction = (source: Socket, destination: Socket): Direction => {
    let holds = 0;
    const context: StageContext = {
      clock: options.clock,
      random: options.random,
      close,
      reset,
      hold: () => {
        if (holds++ === 0) source.pause();
      },
      release: () => {
        if (--holds === 0 && !finished) source.resume();
      },
    };
    const self: Direction = {
      source,
      destination,
      stages: [],
      context,
      ended: false,
      sink: {
        write(chunk) {
          if (destination.destroyed || self.ended) return;
          if (!destination.write(chunk)) {
            context.hold();
            destination.once('drain', context.release);
          }
        },
        end() {
          if (self.ended) return;
          self.ended = true;
          if (!destination.destroyed) destination.end();
        },
      },
    };
    source.on('data', (chunk: Buffer) => (self.stages[0] ?? self.sink).write(chunk));
    source.on('end', () => (self.stages[0] ?? self.sink).end());
    return self;
  };

  const toUpstream = direction(client, upstream);
  const toDownstream = direction(upstream, client);
  const of = (stream: ToxicStream): Direction => (stream === 'upstream' ? toUpstream : toDownstream);

  const append = (toxic: ToxicView): void => {
    const { stages, sink, context } = of(toxic.stream);
    const stage = createToxicStage(toxic, sink, context);
    const last = stages.at(-1);
    if (last) last.next = stage;
    stages.push(stage);
  };
  for (const toxic of options.toxics) append(toxic);

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
    addToxic: append,
    updateToxic(toxic) {
      of(toxic.stream)
        .stages.find((stage) => stage.toxic === toxic)
        ?.update();
    },
    removeToxic(toxic) {
      const { stages, sink } = of(toxic.stream);
      const index = stages.findIndex((stage) => stage.toxic === toxic);
      if (index < 0) return;
      const [stage] = stages.splice(index, 1) as [ToxicStage];
      const previous = stages[index - 1];
      if (previous) previous.next = stages[index] ?? sink;
      stage.remove();
    },
    destroy,
  };
}
