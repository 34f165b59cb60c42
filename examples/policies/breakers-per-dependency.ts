// Per-dependency circuit breaker settings: a breaker per tool (5 consecutive failures, 60 s open,
// 1 trial call) and one for an AI API (3 failures, 120 s open). The real periods are kept: a
// manual clock moves time on, so the file runs in milliseconds.

import assert from 'node:assert/strict';
import { BreakerRegistry, circuitBreaker, isBrokenCircuitError, manualClock } from 'rebound';

const clock = manualClock(); // leave `clock` out in production: the system clock is the default

// Tool calls: one breaker per tool, created on first use with the kind's options.
const breakers = new BreakerRegistry({ clock });
breakers.configure('tool', {
  trip: { kind: 'consecutive', failures: 5 },
  openMs: 60_000,
  halfOpen: { maxCalls: 1, successes: 1 }, // one trial call at a time; one success closes
});

// The AI API: 3 consecutive failures open it for 120 s.
const aiApi = circuitBreaker({
  name: 'ai-api',
  trip: { kind: 'consecutive', failures: 3 },
  openMs: 120_000,
  clock,
});

const unreachable = async (): Promise<string> => {
  throw new Error('ECONNREFUSED');
};

// --- a tool that fails 5 times in a row opens its own breaker, and only its own ---
const webSearch = breakers.get('tool', 'web-search');
const calculator = breakers.get('tool', 'calculator');
for (let i = 0; i < 5; i++) await assert.rejects(webSearch.execute(unreachable), /ECONNREFUSED/);
assert.equal(webSearch.state, 'open');
assert.equal(calculator.state, 'closed');

// While open, calls fail fast without running: the error says which circuit and for how long.
await assert.rejects(
  webSearch.execute(() => 'not called'),
  (error) =>
    isBrokenCircuitError(error) && error.circuit === 'tool:web-search' && error.retryAfterMs === 60_000,
);
console.log('web-search: open after 5 failures, rejecting for 60 s; calculator still closed');

// --- after 60 s the next call is the one trial; a second one meanwhile is rejected ---
clock.advance(60_000);
let answerTrial!: (value: string) => void;
const trial = webSearch.execute(() => new Promise<string>((resolve) => (answerTrial = resolve)));
assert.equal(webSearch.state, 'half-open');
await assert.rejects(
  webSearch.execute(() => 'second call'),
  (error) => isBrokenCircuitError(error) && error.retryAfterMs === 0,
);
answerTrial('3 results');
assert.equal(await trial, '3 results');
assert.equal(webSearch.state, 'closed');
console.log('web-search: one trial call after 60 s succeeded, breaker closed');

// --- the AI API opens after 3 failures and stays open for 120 s ---
for (let i = 0; i < 3; i++) await assert.rejects(aiApi.execute(unreachable), /ECONNREFUSED/);
assert.equal(aiApi.state, 'open');
clock.advance(60_000);
await assert.rejects(
  aiApi.execute(() => 'not called'),
  (error) => isBrokenCircuitError(error) && error.retryAfterMs === 60_000,
);
clock.advance(60_000);
assert.equal(await aiApi.execute(() => 'completion'), 'completion');
assert.equal(aiApi.state, 'closed');
console.log('ai-api: open after 3 failures, still open at 60 s, trial at 120 s closed it');
