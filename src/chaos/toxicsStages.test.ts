// Each toxic stage on a manual clock: what it hands on, when, and in which order.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../policies/index.ts';
import { defaultAttributes, type ToxicType, type ToxicView } from './toxics.ts';
import { type ChunkSink, createToxicStage } from './toxicsStages.ts';

function harness(
  type: ToxicType,
  attributes: Record<string, number>,
  options: { toxicity?: number; random?: number } = {},
) {
  const clock = manualClock();
  const received: { at: number; text: string }[] = [];
  const events = { ended: -1, closed: -1, reset: -1 };
  const sink: ChunkSink = {
    write: (chunk) => received.push({ at: clock.now(), text: chunk.toString() }),
    end: () => (events.ended = clock.now()),
  };
  const toxic: ToxicView = {
    attributes: { ...defaultAttributes(type), ...attributes },
    name: type,
    type,
    stream: 'downstream',
    toxicity: options.toxicity ?? 1,
  };
  const stage = createToxicStage(toxic, sink, {
    clock,
    random: () => options.random ?? 0.5,
    close: () => (events.closed = clock.now()),
    reset: () => (events.reset = clock.now()),
    hold: () => {},
    release: () => {},
  });
  return { clock, received, events, stage, toxic };
}

describe('toxic stages', () => {
  it('latency delays each chunk from its arrival, in order, then the end', () => {
    const { clock, received, events, stage } = harness('latency', { latency: 100 });
    stage.write(Buffer.from('a'));
    clock.advance(30);
    stage.write(Buffer.from('b'));
    stage.end();
    clock.advance(69);
    assert.deepEqual(received, []);
    clock.advance(1);
    assert.deepEqual(received, [{ at: 100, text: 'a' }]);
    clock.advance(30);
    assert.deepEqual(received[1], { at: 130, text: 'b' });
    assert.equal(events.ended, 130);
  });

  it('latency jitter moves the delay by up to jitter either way', () => {
    const { clock, received, stage } = harness('latency', { latency: 100, jitter: 20 }, { random: 0.9 });
    stage.write(Buffer.from('a'));
    clock.advance(200);
    assert.equal(received[0]?.at, 116); // 100 + (0.9 * 2 - 1) * 20
  });

  it('a toxic that loses its draw passes everything at once', () => {
    const { received, stage } = harness('latency', { latency: 100 }, { toxicity: 0.3, random: 0.5 });
    stage.write(Buffer.from('a'));
    assert.deepEqual(received, [{ at: 0, text: 'a' }]);
  });

  it('a removed latency toxic hands over what it holds at once', () => {
    const { clock, received, stage } = harness('latency', { latency: 100 });
    stage.write(Buffer.from('a'));
    stage.write(Buffer.from('b'));
    stage.remove();
    assert.deepEqual(
      received.map((entry) => entry.text),
      ['a', 'b'],
    );
    assert.equal(clock.pendingTimers, 0);
  });

  it('bandwidth sends rate KB per second in tenth-of-a-second slices', () => {
    const { clock, received, stage } = harness('bandwidth', { rate: 1 }); // 1 byte per ms
    stage.write(Buffer.alloc(250, 'x'));
    clock.advance(99);
    assert.equal(received.length, 0);
    clock.advance(1);
    assert.deepEqual(
      received.map((entry) => [entry.at, entry.text.length]),
      [[100, 100]],
    );
    clock.advance(150);
    assert.deepEqual(
      received.map((entry) => [entry.at, entry.text.length]),
      [
        [100, 100],
        [200, 100],
        [250, 50],
      ],
    );
  });

  it('slicer splits into average_size ± size_variation slices, delay µs apart', () => {
    const { clock, received, stage } = harness('slicer', { average_size: 4, size_variation: 2, delay: 5000 });
    stage.write(Buffer.from('abcdefghij'));
    assert.deepEqual(received, [{ at: 0, text: 'abcd' }]);
    clock.advance(5);
    clock.advance(5);
    assert.deepEqual(
      received.map((entry) => entry.text),
      ['abcd', 'efgh', 'ij'],
    );
    assert.deepEqual(
      received.map((entry) => entry.at),
      [0, 5, 10],
    );
  });

  it('slow_close passes data and delays the end', () => {
    const { clock, received, events, stage } = harness('slow_close', { delay: 300 });
    stage.write(Buffer.from('a'));
    stage.end();
    assert.deepEqual(received, [{ at: 0, text: 'a' }]);
    clock.advance(299);
    assert.equal(events.ended, -1);
    clock.advance(1);
    assert.equal(events.ended, 300);
  });

  it('timeout drops data and closes after the timeout; 0 waits until removed', () => {
    const timed = harness('timeout', { timeout: 50 });
    timed.stage.write(Buffer.from('a'));
    timed.clock.advance(50);
    assert.deepEqual(timed.received, []);
    assert.equal(timed.events.closed, 50);

    const forever = harness('timeout', { timeout: 0 });
    forever.stage.write(Buffer.from('a'));
    forever.clock.advance(10_000);
    assert.equal(forever.events.closed, -1);
    forever.stage.remove();
    assert.equal(forever.events.closed, 10_000);
  });

  it('reset_peer waits its timeout after the first data, then resets', () => {
    const { clock, received, events, stage } = harness('reset_peer', { timeout: 20 });
    clock.advance(100);
    assert.equal(events.reset, -1);
    stage.write(Buffer.from('a'));
    clock.advance(20);
    assert.equal(events.reset, 120);
    assert.deepEqual(received, []);
  });

  it('limit_data lets the byte count through, then closes', () => {
    const { received, events, stage } = harness('limit_data', { bytes: 5 });
    stage.write(Buffer.from('abc'));
    assert.equal(events.closed, -1);
    stage.write(Buffer.from('defg'));
    assert.deepEqual(
      received.map((entry) => entry.text),
      ['abc', 'de'],
    );
    assert.equal(events.closed, 0);
  });
});
