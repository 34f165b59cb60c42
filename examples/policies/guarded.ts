// guarded(): a function whose every call runs under a policy (`this` passed through), and the same
// as a TC39 method decorator. Decorator syntax needs a compile step (tsc, esbuild, swc): Node's
// type stripping does not lower it, so this file applies the decorator by hand, as compiled code does.

import assert from 'node:assert/strict';
import { BreakerRegistry, guarded, isBrokenCircuitError, pipeline, retry, timeout } from 'rebound';

const breakers = new BreakerRegistry();
breakers.configure('worker', { trip: { kind: 'consecutive', failures: 2 }, openMs: 60_000 });

// A function: same parameters and result, now retried and bounded by a timeout.
let calls = 0;
const fetchPrice = guarded(
  pipeline(retry({ maxRetries: 2, backoff: { kind: 'constant', delayMs: 1 } }), timeout(1_000)),
  async (sku: string): Promise<number> => {
    if (++calls < 3) throw new Error('flaky');
    return sku === 'book' ? 12 : 0;
  },
);
assert.equal(await fetchPrice('book'), 12);
assert.equal(calls, 3);
console.log(`fetchPrice('book') = 12 after ${calls} attempts`);

// A method, with `this` passed through. With a compile step you would write:
//
//   class Worker {
//     constructor(readonly id: string) {}
//     @guarded(breakers.get('worker', 'worker1'))
//     async process(task: string) { ... }
//   }
class Worker {
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }
  async process(task: string): Promise<string> {
    if (task === 'bad') throw new Error(`${this.id} cannot process ${task}`);
    return `${this.id} processed ${task}`;
  }
}
const decorate = guarded(breakers.get('worker', 'worker1'));
Worker.prototype.process = decorate(Worker.prototype.process, {
  kind: 'method',
  name: 'process',
} as ClassMethodDecoratorContext<Worker, Worker['process']>);

const worker = new Worker('worker1');
assert.equal(await worker.process('t1'), 'worker1 processed t1');
await assert.rejects(worker.process('bad'), /cannot process bad/);
await assert.rejects(worker.process('bad'), /cannot process bad/);
await assert.rejects(worker.process('t2'), isBrokenCircuitError); // 2 failures opened the breaker
console.log(`worker:worker1 is ${breakers.get('worker', 'worker1').state} after 2 failures`);
