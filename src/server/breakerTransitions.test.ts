// The breaker transition history: newest first, with kind, name, states, reason and the breaker's
// clock time; only the last `capacity` kept; nothing recorded after close.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BreakerRegistry, manualClock } from '../policies/index.ts';
import { breakerTransitions } from './breakerTransitions.ts';

describe('breakerTransitions', () => {
  it('records every state change of the registry, newest first', () => {
    const clock = manualClock(Date.parse('2025-01-02T00:00:00.000Z'));
    const registry = new BreakerRegistry({ clock });
    const transitions = breakerTransitions(registry);
    assert.deepEqual(transitions.list(), []);
    registry.get('gateway', 'payment-api').isolate();
    clock.advance(1_500);
    registry.reset('gateway', 'payment-api');
    assert.deepEqual(transitions.list(), [
      {
        at: '2025-01-02T00:00:01.500Z',
        kind: 'gateway',
        name: 'payment-api',
        from: 'isolated',
        to: 'closed',
        reason: 'reset',
      },
      {
        at: '2025-01-02T00:00:00.000Z',
        kind: 'gateway',
        name: 'payment-api',
        from: 'closed',
        to: 'isolated',
        reason: 'isolated',
      },
    ]);
    assert.equal(transitions.total, 2);
  });

  it('keeps only the last `capacity` transitions', () => {
    const registry = new BreakerRegistry({ clock: manualClock(0) });
    const transitions = breakerTransitions(registry, 3);
    for (let index = 0; index < 5; index++) registry.get('worker', `w${index}`).isolate();
    assert.deepEqual(
      transitions.list().map((transition) => transition.name),
      ['w4', 'w3', 'w2'],
    );
    assert.equal(transitions.total, 5);
  });

  it('stops recording when closed, and refuses a capacity below 1', () => {
    const registry = new BreakerRegistry({ clock: manualClock(0) });
    const transitions = breakerTransitions(registry);
    registry.get('worker', 'a').isolate();
    transitions.close();
    registry.get('worker', 'b').isolate();
    assert.deepEqual(
      transitions.list().map((transition) => transition.name),
      ['a'],
    );
    assert.throws(() => breakerTransitions(registry, 0), /capacity must be an integer >= 1, got 0/);
  });
});
