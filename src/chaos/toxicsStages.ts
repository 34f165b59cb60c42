// What each toxic does to the bytes of one direction of one connection: a chain of stages, each
// handing chunks to the next, with at most one timer per stage however many chunks pass.

import type { Clock, TimerHandle } from '../policies/index.ts';
import type { ToxicType, ToxicView } from './toxics.ts';

/** Where a stage hands its chunks: the next stage, or the socket of the other side. */
export interface ChunkSink {
  write(chunk: Buffer): void;
  /** The source side closed (FIN); nothing more will be written. */
  end(): void;
}

/** What a stage may do to its connection. */
export interface StageContext {
  readonly clock: Clock;
  /** A number in [0, 1); injected so tests decide toxicity draws and jitter. */
  readonly random: () => number;
  /** Closes both sides after what was written so far (FIN). */
  close(): void;
  /** Closes both sides with a TCP RST. */
  reset(): void;
  /** Stops reading the source of this direction until as many `release` calls (a stage holds too much). */
  hold(): void;
  release(): void;
}

export interface ToxicStage extends ChunkSink {
  readonly toxic: ToxicView;
  next: ChunkSink;
  /** The toxic's toxicity or attributes changed: draws again whether it applies to this connection. */
  update(): void;
  /** The toxic was removed: hands over at once what it holds, and stops its timers. */
  remove(): void;
  /** The connection is gone: stops its timers, hands nothing over. */
  dispose(): void;
}

/** Bytes a stage may queue before it stops reading its source, so a slow toxic does not buffer a whole upload. */
const HIGH_WATER_BYTES = 1 << 20;

const END = null;
type Item = Buffer | typeof END;

abstract class Stage implements ToxicStage {
  readonly toxic: ToxicView;
  next: ChunkSink;
  protected readonly context: StageContext;
  /** One draw per connection (and per update) against the toxicity, as in Toxiproxy. */
  protected active: boolean;
  private timer: TimerHandle | undefined;

  constructor(toxic: ToxicView, next: ChunkSink, context: StageContext, applies?: boolean) {
    this.toxic = toxic;
    this.next = next;
    this.context = context;
    this.active = applies ?? context.random() < toxic.toxicity;
  }

  write(chunk: Buffer): void {
    if (this.active) this.onWrite(chunk);
    else this.next.write(chunk);
  }

  end(): void {
    if (this.active) this.onEnd();
    else this.next.end();
  }

  update(): void {
    const wasActive = this.active;
    this.active = this.context.random() < this.toxic.toxicity;
    if (wasActive && !this.active) this.flush();
    else if (this.active) this.onUpdate();
  }

  remove(): void {
    if (this.active) this.flush();
    this.active = false;
  }

  dispose(): void {
    this.cancel();
    this.active = false;
  }

  protected abstract onWrite(chunk: Buffer): void;

  protected onEnd(): void {
    this.next.end();
  }

  protected onUpdate(): void {}

  /** Hands over what the stage holds and stops its timer. */
  protected flush(): void {
    this.cancel();
  }

  protected schedule(ms: number, callback: () => void): void {
    this.cancel();
    this.timer = this.context.clock.setTimeout(
      () => {
        this.timer = undefined;
        callback();
      },
      Math.max(0, Math.ceil(ms)),
    );
  }

  protected cancel(): void {
    if (this.timer !== undefined) this.context.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  protected get scheduled(): boolean {
    return this.timer !== undefined;
  }

  protected attribute(key: string): number {
    return this.toxic.attributes[key] ?? 0;
  }
}

/** A stage that keeps chunks in order in a queue, and stops its source while the queue is large. */
abstract class QueueStage extends Stage {
  protected queue: Item[] = [];
  private queuedBytes = 0;
  private holding = false;

  protected enqueue(item: Item): void {
    this.queue.push(item);
    if (item) this.queuedBytes += item.length;
    if (!this.holding && this.queuedBytes > HIGH_WATER_BYTES) {
      this.holding = true;
      this.context.hold();
    }
  }

  protected dequeue(): Item | undefined {
    const item = this.queue.shift();
    if (item) this.taken(item.length);
    return item;
  }

  protected taken(bytes: number): void {
    this.queuedBytes -= bytes;
    if (this.holding && this.queuedBytes <= HIGH_WATER_BYTES / 2) {
      this.holding = false;
      this.context.release();
    }
  }

  protected emit(item: Item): void {
    if (item) this.next.write(item);
    else this.next.end();
  }

  protected override flush(): void {
    super.flush();
    const items = this.queue;
    this.queue = [];
    this.taken(this.queuedBytes);
    for (const item of items) this.emit(item);
  }

  override dispose(): void {
    super.dispose();
    this.queue = [];
    this.taken(this.queuedBytes);
  }
}

/** Delays each chunk by latency ± up to jitter from its arrival, keeping the order. */
class LatencyStage extends QueueStage {
  private dueTimes: number[] = [];

  protected onWrite(chunk: Buffer): void {
    this.push(chunk);
  }

  protected override onEnd(): void {
    // The close follows the last chunk without a delay of its own, as in Toxiproxy.
    this.enqueue(END);
    this.dueTimes.push(this.context.clock.now());
    this.pump();
  }

  private push(chunk: Buffer): void {
    const jitter = this.attribute('jitter');
    const delay =
      this.attribute('latency') + (jitter > 0 ? Math.round((this.context.random() * 2 - 1) * jitter) : 0);
    this.enqueue(chunk);
    this.dueTimes.push(this.context.clock.now() + Math.max(0, delay));
    this.pump();
  }

  private pump(): void {
    if (this.scheduled) return;
    const now = this.context.clock.now();
    while (this.queue.length > 0) {
      const due = this.dueTimes[0] ?? now;
      if (due > now) {
        this.schedule(due - now, () => this.pump());
        return;
      }
      this.dueTimes.shift();
      this.emit(this.dequeue() ?? END);
    }
  }

  protected override flush(): void {
    this.dueTimes = [];
    super.flush();
  }

  override dispose(): void {
    this.dueTimes = [];
    super.dispose();
  }
}

/** Lets through `rate` KB/s (1 KB = 1000 bytes), in slices of a tenth of a second, as Toxiproxy does. */
class BandwidthStage extends QueueStage {
  /** When the link has sent everything given to it so far. */
  private freeAt = 0;
  /** When the head slice leaves, once computed (kept so timer lateness does not slow the rate). */
  private sendAt: number | undefined;

  protected onWrite(chunk: Buffer): void {
    this.enqueue(chunk);
    this.pump();
  }

  protected override onEnd(): void {
    this.enqueue(END);
    this.pump();
  }

  private pump(): void {
    if (this.scheduled) return;
    while (this.queue.length > 0) {
      const head = this.queue[0] as Item;
      const rate = this.attribute('rate'); // bytes per millisecond
      if (head === END || rate <= 0) {
        this.sendAt = undefined;
        this.emit(this.dequeue() ?? END);
        continue;
      }
      const sliceBytes = Math.max(1, rate * 100);
      const slice = head.length > sliceBytes ? head.subarray(0, sliceBytes) : head;
      const now = this.context.clock.now();
      // A slice leaves when its bytes have had their time at the rate: n bytes take n / rate ms.
      this.sendAt ??= Math.max(this.freeAt, now) + slice.length / rate;
      if (this.sendAt > now) {
        this.schedule(this.sendAt - now, () => this.pump());
        return;
      }
      this.freeAt = this.sendAt;
      this.sendAt = undefined;
      if (slice === head) this.dequeue();
      else {
        this.queue[0] = head.subarray(slice.length);
        this.taken(slice.length);
      }
      this.next.write(slice);
    }
  }

  protected override flush(): void {
    this.sendAt = undefined;
    super.flush();
  }
}

/** Splits chunks into slices of average_size ± size_variation bytes, `delay` microseconds apart. */
class SlicerStage extends QueueStage {
  protected onWrite(chunk: Buffer): void {
    const average = this.attribute('average_size');
    if (average <= 0) {
      this.enqueue(chunk);
    } else {
      const variation = Math.max(0, Math.min(this.attribute('size_variation'), average - 1));
      for (let start = 0; start < chunk.length;) {
        const size = Math.max(1, average + Math.round((this.context.random() * 2 - 1) * variation));
        this.enqueue(chunk.subarray(start, start + size));
        start += size;
      }
    }
    this.pump();
  }

  protected override onEnd(): void {
    this.enqueue(END);
    this.pump();
  }

  private pump(): void {
    const delayMs = this.attribute('delay') / 1000;
    while (!this.scheduled && this.queue.length > 0) {
      const item = this.dequeue() ?? END;
      this.emit(item);
      if (item && delayMs > 0) this.schedule(delayMs, () => this.pump());
    }
  }
}

/** Delays the close by `delay` ms after the source side closed. */
class SlowCloseStage extends Stage {
  private ended = false;

  protected onWrite(chunk: Buffer): void {
    this.next.write(chunk);
  }

  protected override onEnd(): void {
    this.ended = true;
    this.schedule(this.attribute('delay'), () => this.next.end());
  }

  protected override flush(): void {
    const pending = this.ended && this.scheduled;
    super.flush();
    if (pending) this.next.end();
  }
}

/** Drops every chunk; closes the connection after `timeout` ms without data (0: never, until removed). */
class TimeoutStage extends Stage {
  constructor(toxic: ToxicView, next: ChunkSink, context: StageContext, applies?: boolean) {
    super(toxic, next, context, applies);
    if (this.active) this.arm();
  }

  protected onWrite(): void {
    this.arm();
  }

  protected override onEnd(): void {
    this.cancel();
    this.context.close();
  }

  protected override onUpdate(): void {
    this.arm();
  }

  override remove(): void {
    const wasActive = this.active;
    super.remove();
    // Toxiproxy closes a connection held by a timeout toxic when the toxic goes away.
    if (wasActive) this.context.close();
  }

  private arm(): void {
    const timeout = this.attribute('timeout');
    if (timeout > 0) this.schedule(timeout, () => this.context.close());
    else this.cancel();
  }
}

/** On the first data, waits `timeout` ms then closes both sides with a TCP RST; the data is dropped. */
class ResetPeerStage extends Stage {
  private triggered = false;

  protected onWrite(): void {
    this.trigger();
  }

  protected override onEnd(): void {
    this.trigger();
  }

  private trigger(): void {
    if (this.triggered) return;
    this.triggered = true;
    this.schedule(this.attribute('timeout'), () => this.context.reset());
  }
}

/** Lets `bytes` bytes through, then closes the connection. */
class LimitDataStage extends Stage {
  private sent = 0;

  protected onWrite(chunk: Buffer): void {
    const remaining = this.attribute('bytes') - this.sent;
    const part = chunk.length > remaining ? chunk.subarray(0, Math.max(0, remaining)) : chunk;
    if (part.length > 0) {
      this.sent += part.length;
      this.next.write(part);
    }
    if (this.sent >= this.attribute('bytes')) this.context.close();
  }
}

class NoopStage extends Stage {
  protected onWrite(chunk: Buffer): void {
    this.next.write(chunk);
  }
}

const STAGES: Record<
  ToxicType,
  new (toxic: ToxicView, next: ChunkSink, context: StageContext, applies?: boolean) => ToxicStage
> = {
  latency: LatencyStage,
  bandwidth: BandwidthStage,
  slow_close: SlowCloseStage,
  timeout: TimeoutStage,
  reset_peer: ResetPeerStage,
  slicer: SlicerStage,
  limit_data: LimitDataStage,
  noop: NoopStage,
};

/**
 * The stage of `toxic` for one connection. Whether it applies is drawn once against its toxicity,
 * unless the caller drew already and says so in `applies`.
 */
export function createToxicStage(
  toxic: ToxicView,
  next: ChunkSink,
  context: StageContext,
  applies?: boolean,
): ToxicStage {
  return new STAGES[toxic.type](toxic, next, context, applies);
}
