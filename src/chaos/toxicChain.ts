// One direction of one connection through toxics: the stages of its toxics in order, and where the
// last one writes. The fault proxy and the gateway both pass their bytes through it.

import type { Socket } from 'node:net';
import type { Clock } from '../policies/index.ts';
import type { ToxicView } from './toxics.ts';
import { type ChunkSink, createToxicStage, type StageContext, type ToxicStage } from './toxicsStages.ts';

export interface ToxicChainOptions {
  readonly clock: Clock;
  /** A number in [0, 1): toxicity draws and jitter. */
  readonly random: () => number;
  /** A stage closes both sides after what was written so far (FIN). */
  close(): void;
  /** A stage closes both sides with a TCP RST. */
  reset(): void;
  /** The chain holds too much (a stage's queue, or a socket it writes to is full): stop reading its source. */
  pause(): void;
  /** Every hold was released: reading may go on. */
  resume(): void;
}

/** The chunks of one direction, through the stages of the toxics that apply to it. */
export class ToxicChain implements ChunkSink {
  readonly context: StageContext;
  private readonly stages: ToxicStage[] = [];
  private readonly sink: ChunkSink;
  private holds = 0;
  private endedSink = false;
  private disposed = false;

  /** A chain writing into `socket`, holding while the socket's buffer is full. */
  static toSocket(socket: Socket, options: ToxicChainOptions): ToxicChain {
    return new ToxicChain(options, (chain) => ({
      write(chunk) {
        if (socket.destroyed || chain.ended) return;
        if (!socket.write(chunk)) {
          chain.context.hold();
          socket.once('drain', chain.context.release);
        }
      },
      end() {
        if (!socket.destroyed) socket.end();
      },
    }));
  }

  /** A chain handing its chunks to `sink`. */
  static toSink(sink: ChunkSink, options: ToxicChainOptions): ToxicChain {
    return new ToxicChain(options, () => sink);
  }

  private constructor(options: ToxicChainOptions, destination: (chain: ToxicChain) => ChunkSink) {
    const last = destination(this);
    this.sink = {
      write: (chunk) => last.write(chunk),
      end: () => {
        if (this.endedSink) return;
        this.endedSink = true;
        last.end();
      },
    };
    this.context = {
      clock: options.clock,
      random: options.random,
      close: () => options.close(),
      reset: () => options.reset(),
      hold: () => {
        if (this.holds++ === 0) options.pause();
      },
      release: () => {
        if (--this.holds === 0) options.resume();
      },
    };
  }

  /** The end (FIN) went past every stage to the destination. */
  get ended(): boolean {
    return this.endedSink;
  }

  /** A stage or the destination holds too much. */
  get holding(): boolean {
    return this.holds > 0;
  }

  write(chunk: Buffer): void {
    (this.stages[0] ?? this.sink).write(chunk);
  }

  end(): void {
    (this.stages[0] ?? this.sink).end();
  }

  /**
   * Puts the stage of `toxic` last in the chain. It draws whether it applies against the toxicity,
   * unless the caller drew already and says so in `applies`.
   */
  append(toxic: ToxicView, applies?: boolean): void {
    if (this.disposed) return;
    const stage = createToxicStage(toxic, this.sink, this.context, applies);
    const last = this.stages.at(-1);
    if (last !== undefined) last.next = stage;
    this.stages.push(stage);
  }

  /** The toxicity or attributes of `toxic` changed: its stage draws again. */
  update(toxic: ToxicView): void {
    this.stages.find((stage) => stage.toxic === toxic)?.update();
  }

  /** Takes the stage of `toxic` out of the chain; it hands over at once what it held. */
  remove(toxic: ToxicView): void {
    const index = this.stages.findIndex((stage) => stage.toxic === toxic);
    if (index < 0) return;
    const [stage] = this.stages.splice(index, 1) as [ToxicStage];
    const previous = this.stages[index - 1];
    if (previous !== undefined) previous.next = this.stages[index] ?? this.sink;
    stage.remove();
  }

  /** The connection is gone: every stage stops its timers and hands nothing over. */
  dispose(): void {
    this.disposed = true;
    for (const stage of this.stages) stage.dispose();
    this.stages.length = 0;
  }
}
