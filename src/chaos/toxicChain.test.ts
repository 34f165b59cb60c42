// The chain of toxic stages of one direction on a manual clock: appending, removing, holds, draws.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../policies/index.ts';
import { ToxicChain } from './toxicChain.ts';
import type { ToxicView } from './toxics.ts';

function latency(name: string, ms: number, toxicity = 1): ToxicView {
  return { attributes: { latency: ms, jitter: 0 }, name, type: 'latency', stream: 'downstream', toxicity };
}

function harness(draws: number[] = []) {
  const clock = manualClock();
  const received: { at: number; text: string }[] = [];
  const events = { ended: 0, paused: 0, resumed: 0, draws: 0 };
  const chain = ToxicChain.toSink(
    {
      write: (chunk) => received.push({ at: clock.now(), text: chunk.toString() }),
      end: () => events.ended++,
    },
    {
      clock,
      random: () => {
        events.draws++;
        return draws.shift() ?? 0.5;
      },
      close: () => {},
      reset: () => {},
      pause: () => events.paused++,
      resume: () => events.resumed++,
    },
  );
  return { clock, received, events, chain };
}

describe('toxic chain', () => {
  it('passes chunks through its stages in order, delays adding up', () => {
    const { clock, received, chain } = harness();
    chain.append(latency('a', 100));
    chain.append(latency('b', 50));
    chain.write(Buffer.from('x'));
    clock.advance(149);
    assert.deepEqual(received, []);
    clock.advance(1);
    assert.deepEqual(received, [{ at: 150, text: 'x' }]);
  });

  it('draws whether a stage applies, unless told the draw was made', () => {
    const { clock, received, events, chain } = harness([0.9]);
    chain.append(latency('drawn', 100, 0.5)); // 0.9 >= 0.5: does not apply
    assert.equal(events.draws, 1);
    chain.append(latency('applies', 30, 0.5), true);
    assert.equal(events.draws, 1, 'no second draw for a toxic the caller drew');
    chain.write(Buffer.from('x'));
    clock.advance(30);
    assert.deepEqual(received, [{ at: 30, text: 'x' }]);
  });

  it('removing a stage hands over what it held and relinks the chain', () => {
    const { clock, received, chain } = harness();
    const first = latency('first', 100);
    chain.append(first);
    chain.append(latency('second', 20));
    chain.append(latency('third', 10));
    chain.write(Buffer.from('held'));
    clock.advance(50);
    chain.remove(first);
    clock.advance(29);
    assert.deepEqual(received, []);
    clock.advance(1);
    assert.deepEqual(received, [{ at: 80, text: 'held' }]);
    chain.write(Buffer.from('after'));
    clock.advance(30);
    assert.deepEqual(received[1], { at: 110, text: 'after' });
    chain.remove(first); // already gone: nothing happens
  });

  it('pauses its source on the first hold and resumes it when the last is released', () => {
    const { events, chain } = harness();
    chain.context.hold();
    chain.context.hold();
    assert.equal(events.paused, 1);
    assert.equal(chain.holding, true);
    chain.context.release();
    assert.equal(events.resumed, 0);
    chain.context.release();
    assert.equal(events.resumed, 1);
    assert.equal(chain.holding, false);
  });

  it('ends its destination once, and a disposed chain takes no stage', () => {
    const { clock, received, events, chain } = harness();
    chain.append(latency('a', 100));
    chain.write(Buffer.from('x'));
    chain.dispose();
    clock.advance(200);
    assert.deepEqual(received, [], 'a disposed stage hands nothing over');
    chain.append(latency('b', 100));
    chain.write(Buffer.from('y'));
    assert.deepEqual(received, [{ at: 200, text: 'y' }]);
    assert.equal(chain.ended, false);
    chain.end();
    chain.end();
    assert.equal(events.ended, 1);
    assert.equal(chain.ended, true);
  });
});
