import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { manualClock, systemClock } from '../policies/index.ts';
import { parseExperiment } from './experimentSchema.ts';
import { blastRadiusProblem } from './experimentChecks.ts';
import { runExperiment, startExperiment } from './experimentRunner.ts';
import type { Journal } from './experimentTypes.ts';
import { fakeTarget, settle } from './test-support/experimentFakeTarget.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const experiment = (yaml: string) => parseExperiment(`title: test\ntarget: payment-api\n${yaml}`);

const killExperiment = experiment(`
steadyState: [{ http: { path: /, expectStatus: 200 } }, { metric: latency_p99, op: lt, value: 200 }]
method: [{ fault: { kill: { replicas: 1 } } }]
rollbacks: [restart-service]
expect: { recoveredWithinMs: 2000 }
`);

/** After a kill, the gateway answers 503 for `downMs`. */
function killedFor(downMs: number, clock: ReturnType<typeof manualClock>) {
  let killedAt = Number.POSITIVE_INFINITY;
  return {
    status: () => (clock.now() >= killedAt && clock.now() < killedAt + downMs ? 503 : 200),
    onInject: () => {
      killedAt = clock.now();
    },
  };
}

describe('runExperiment: refusing to start', () => {
  it('refuses, injecting nothing and rolling nothing back, when the steady state does not hold', async () => {
    const clock = manualClock(1_000);
    const { target, state } = fakeTarget(clock, { status: () => 503 });
    const journal = await settle(runExperiment(killExperiment, target, { clock }), clock);
    assert.equal(journal.status, 'aborted');
    assert.match(journal.reason!, /steady state does not hold: GET \/ answers 200 \(got 503\)/);
    assert.equal(journal.steadyStateBefore?.met, false);
    assert.deepEqual(state.injected, []);
    assert.deepEqual(state.actions, []);
    assert.deepEqual(journal.activities, []);
  });

  it('refuses while an incident is open on the target, unless allowDuringIncident', async () => {
    const clock = manualClock();
    const { target, state } = fakeTarget(clock, { incident: true });
    const refused = await settle(runExperiment(killExperiment, target, { clock }), clock);
    assert.equal(refused.status, 'aborted');
    assert.match(refused.reason!, /incident is open on payment-api/);
    assert.equal(refused.steadyStateBefore, null);
    assert.deepEqual(state.injected, []);

    const allowed = await settle(
      runExperiment({ ...killExperiment, allowDuringIncident: true }, target, { clock }),
      clock,
    );
    assert.equal(allowed.status, 'completed');
    assert.equal(state.injected.length, 1);
  });

  it('refuses an unknown target', async () => {
    const clock = manualClock();
    const { target } = fakeTarget(clock);
    const journal = await settle(
      runExperiment({ ...killExperiment, target: 'nope' }, target, { clock }),
      clock,
    );
    assert.equal(journal.status, 'aborted');
    assert.match(journal.reason!, /no service "nope"/);
  });

  it('refuses a kill of more replicas than the blast radius allows', async () => {
    const clock = manualClock();
    const { target, state } = fakeTarget(clock, { pids: [1, 2, 3, 4] });
    const tooMany = experiment(`
method: [{ fault: { kill: { replicas: 3 } } }]
blastRadius: { maxPercent: 50 }
`);
    const journal = await settle(runExperiment(tooMany, target, { clock }), clock);
    assert.equal(journal.status, 'aborted');
    assert.match(journal.reason!, /kill of 3 of 4 replicas exceeds blastRadius.maxPercent 50% \(at most 2\)/);
    assert.deepEqual(state.injected, []);

    assert.equal(blastRadiusProblem({ ...tooMany, blastRadius: { maxPercent: 75 } }, 4), undefined);
    assert.match(blastRadiusProblem({ ...tooMany, blastRadius: { maxReplicas: 2 } }, 4)!, /maxReplicas 2/);
  });
});

describe('runExperiment: method, recovery and verdict', () => {
  it('completes when the steady state holds again within the expectation, and journals it', async () => {
    const clock = manualClock(Date.parse('2030-01-01T00:00:00.000Z'));
    const { target, state } = fakeTarget(clock, killedFor(1_500, clock));
    const journal = await settle(runExperiment(killExperiment, target, { clock, id: 'run-1' }), clock);
    assert.equal(journal.status, 'completed', journal.reason ?? '');
    assert.equal(journal.id, 'run-1');
    assert.equal(journal.title, 'test');
    assert.equal(journal.startedAt, '2030-01-01T00:00:00.000Z');
    assert.match(journal.endedAt!, ISO);
    assert.ok(
      journal.recoveryMs! >= 1_500 && journal.recoveryMs! <= 1_600,
      `recoveryMs ${journal.recoveryMs}`,
    );
    assert.deepEqual(journal.expectation, { recoveredWithinMs: 2_000, met: true });
    assert.equal(journal.steadyStateBefore?.met, true);
    assert.equal(journal.steadyStateAfter?.met, true);
    assert.deepEqual(
      journal.steadyStateAfter?.probes.map((probe) => [probe.name, probe.met]),
      [
        ['GET / answers 200', true],
        ['latency_p99 < 200', true],
      ],
    );
    assert.equal(journal.activities.length, 1);
    const [kill] = journal.activities;
    assert.equal(kill!.name, 'kill 1 replica');
    assert.equal(kill!.status, 'succeeded');
    assert.match(kill!.start, ISO);
    assert.match(kill!.end!, ISO);
    assert.equal(kill!.output, 'kill on payment-api');
    assert.deepEqual(
      journal.rollbacks.map((rollback) => [rollback.name, rollback.status, rollback.output]),
      [['restart-service', 'succeeded', 'restart-service done']],
    );
    // Rollbacks run after recovery was measured, so they cannot flatter it.
    assert.ok(state.actions[0]!.at >= Date.parse('2030-01-01T00:00:01.500Z'));
  });

  it('fails when the recovery is slower than expected, and still measures it', async () => {
    const clock = manualClock();
    const { target } = fakeTarget(clock, killedFor(3_000, clock));
    const journal = await settle(runExperiment(killExperiment, target, { clock }), clock);
    assert.equal(journal.status, 'failed');
    assert.ok(
      journal.recoveryMs! >= 3_000 && journal.recoveryMs! <= 3_100,
      `recoveryMs ${journal.recoveryMs}`,
    );
    assert.deepEqual(journal.expectation, { recoveredWithinMs: 2_000, met: false });
    assert.match(journal.reason!, /recovered in \d+ ms, expected within 2000 ms/);
  });

  it('fails when the steady state never holds again', async () => {
    const clock = manualClock();
    const { target } = fakeTarget(clock, killedFor(Number.POSITIVE_INFINITY, clock));
    const journal = await settle(
      runExperiment(killExperiment, target, { clock, recoveryTimeoutMs: 1_000 }),
      clock,
    );
    assert.equal(journal.status, 'failed');
    assert.equal(journal.recoveryMs, null);
    assert.equal(journal.steadyStateAfter?.met, false);
    assert.equal(journal.expectation.met, false);
    assert.match(journal.reason!, /did not hold again within 1000 ms: GET \/ answers 200 \(got 503\)/);
  });

  it('runs steps in order, removing a timed fault when it ends and a held one at the end of the method', async () => {
    const clock = manualClock();
    const { target, state } = fakeTarget(clock);
    const run = experiment(`
steadyState: [{ http: { path: / } }]
method:
  - { fault: { down: {} } }
  - { fault: { latency: { ms: 500, jitterMs: 50 } }, durationMs: 1000, intensity: 0.5 }
  - { wait: 2000 }
`);
    const journal = await settle(runExperiment(run, target, { clock }), clock);
    assert.equal(journal.status, 'completed');
    // Each fault may outlive the run by 5 s at most: the held one the rest of the method, 3 s.
    assert.deepEqual(state.injected, [
      { kind: 'down', intensity: 1, at: 0, expiresInMs: 3_000 + 5_000 },
      { kind: 'latency', intensity: 0.5, at: 0, expiresInMs: 1_000 + 5_000 },
    ]);
    assert.deepEqual(state.removed, [
      { kind: 'latency', at: 1_000 },
      { kind: 'down', at: 3_000 },
    ]);
    assert.deepEqual(
      journal.activities.map((activity) => [activity.name, activity.status, activity.end]),
      [
        ['down', 'succeeded', new Date(3_000).toISOString()],
        ['latency 500 ms ± 50 ms at intensity 0.5 for 1000 ms', 'succeeded', new Date(1_000).toISOString()],
        ['wait 2000 ms', 'succeeded', new Date(3_000).toISOString()],
      ],
    );
    assert.equal(state.active.size, 0);
  });

  it('measures recovery from the last fault, during the waits that follow it', async () => {
    const clock = manualClock();
    const { target } = fakeTarget(clock, killedFor(1_200, clock));
    const run = {
      ...killExperiment,
      method: [...killExperiment.method, { kind: 'wait' as const, ms: 5_000 }],
    };
    const journal = await settle(runExperiment(run, target, { clock }), clock);
    assert.equal(journal.status, 'completed');
    assert.ok(
      journal.recoveryMs! >= 1_200 && journal.recoveryMs! <= 1_300,
      `recoveryMs ${journal.recoveryMs}`,
    );
  });
});

describe('runExperiment: guards, errors and rollbacks', () => {
  const guarded = experiment(`
steadyState: [{ http: { path: / } }]
method:
  - { fault: { latency: { ms: 500 } } }
  - { fault: { http-error: { status: 503 } }, durationMs: 10000, intensity: 0.3 }
  - { wait: 5000 }
abortWhen: [{ metric: error_rate, op: gt, value: 0.5 }]
rollbacks: [restart-service, fallback-mode]
`);

  it('aborts on a guard breach: every fault removed within 100 ms, the rest of the method skipped', async () => {
    const clock = manualClock();
    const { target, state } = fakeTarget(clock);
    const done = runExperiment(guarded, target, { clock });
    await clock.tickAsync(2_050);
    assert.deepEqual([...state.active].sort(), ['http-error', 'latency']);
    state.metrics.error_rate = 0.8;
    const breachAt = clock.now();
    const journal = await settle(done, clock);
    assert.equal(journal.status, 'aborted');
    assert.match(journal.reason!, /guard error_rate > 0.5 tripped \(error_rate 0.8\)/);
    assert.equal(state.active.size, 0);
    for (const removal of state.removed)
      assert.ok(removal.at - breachAt <= 100, `removed ${removal.at - breachAt} ms after`);
    assert.deepEqual(
      journal.activities.map((activity) => activity.status),
      ['stopped', 'stopped'],
    );
    assert.deepEqual(
      journal.rollbacks.map((rollback) => rollback.status),
      ['succeeded', 'succeeded'],
    );
    assert.equal(journal.steadyStateAfter, null);
    assert.equal(journal.expectation.met, null);
  });

  it('removes every fault within 100 ms of the guard tripping, in real time', async () => {
    const { target, state } = fakeTarget(systemClock);
    const realFaults = experiment(`
method:
  - { fault: { latency: { ms: 500 } } }
  - { fault: { down: {} } }
  - { wait: 10000 }
abortWhen: [{ metric: error_rate, op: gt, value: 0.5 }]
`);
    let trippedAt = 0;
    const done = runExperiment(realFaults, target, {
      onProgress: (progress) => {
        if (progress.message.startsWith('aborting')) trippedAt = performance.now();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(state.active.size, 2);
    const breachAt = performance.now();
    state.metrics.error_rate = 0.9;
    const journal = await done;
    const removedAt = performance.now();
    assert.equal(journal.status, 'aborted');
    assert.equal(state.active.size, 0);
    assert.ok(trippedAt > 0);
    assert.ok(removedAt - trippedAt < 100, `faults gone ${removedAt - trippedAt} ms after the trip`);
    // The guard looks every 100 ms: from the breach itself, at most one interval more.
    assert.ok(removedAt - breachAt < 250, `faults gone ${removedAt - breachAt} ms after the breach`);
  });

  it('runs every rollback even when one throws, and on a failed injection', async () => {
    const clock = manualClock();
    const { target, state } = fakeTarget(clock, {
      failingActions: new Set(['restart-service']),
      failingFaults: new Set(['http-error']),
    });
    const journal = await settle(runExperiment(guarded, target, { clock }), clock);
    assert.equal(journal.status, 'failed');
    assert.match(
      journal.reason!,
      /could not inject http-error 503 at intensity 0.3 for 10000 ms: cannot inject http-error/,
    );
    assert.equal(state.active.size, 0, 'the latency injected before the failure is removed');
    assert.deepEqual(
      journal.activities.map((activity) => [activity.name, activity.status]),
      [
        ['latency 500 ms', 'stopped'],
        ['http-error 503 at intensity 0.3 for 10000 ms', 'failed'],
      ],
    );
    assert.deepEqual(
      journal.rollbacks.map((rollback) => [rollback.name, rollback.status, rollback.output]),
      [
        ['restart-service', 'failed', 'restart-service failed'],
        ['fallback-mode', 'succeeded', 'fallback-mode done'],
      ],
    );
  });

  it('ends interrupted, faults removed and rollbacks run, when interrupted or its signal aborts', async () => {
    const clock = manualClock();
    const { target, state } = fakeTarget(clock);
    const run = startExperiment(guarded, target, { clock });
    await clock.tickAsync(500);
    assert.equal(state.active.size, 2);
    assert.equal(run.journal().status, 'running');
    assert.equal(await run.interrupt('game day over'), true);
    assert.equal(state.active.size, 0, 'gone when interrupt resolves');
    const journal = await settle(run.done, clock);
    assert.equal(journal.status, 'interrupted');
    assert.equal(journal.reason, 'game day over');
    assert.equal(journal.rollbacks.length, 2);
    assert.equal(await run.interrupt(), false, 'nothing left to stop');

    const controller = new AbortController();
    const second = runExperiment(guarded, target, { clock, signal: controller.signal });
    await clock.tickAsync(500);
    controller.abort();
    const aborted = await settle(second, clock);
    assert.equal(aborted.status, 'interrupted');
    assert.equal(state.active.size, 0);
  });

  it('removes a fault whose injection was under way when the run was stopped', async () => {
    const clock = manualClock();
    const { target, state } = fakeTarget(clock, { injectDelayMs: 200 });
    const run = startExperiment(guarded, target, { clock });
    await clock.tickAsync(300); // latency injected, http-error on its way
    await run.interrupt();
    const journal: Journal = await settle(run.done, clock);
    assert.equal(journal.status, 'interrupted');
    assert.equal(state.injected.length, 2);
    assert.equal(state.active.size, 0);
  });

  it('reports progress with a snapshot of the journal', async () => {
    const clock = manualClock();
    const { target } = fakeTarget(clock, killedFor(300, clock));
    const messages: string[] = [];
    let last: Journal | undefined;
    await settle(
      runExperiment(killExperiment, target, {
        clock,
        onProgress: (progress) => {
          messages.push(progress.message);
          last = progress.journal;
        },
      }),
      clock,
    );
    assert.match(messages[0]!, /^started "test" against payment-api/);
    assert.ok(messages.includes('injecting kill 1 replica'));
    assert.ok(messages.includes('rollback restart-service'));
    assert.equal(messages.at(-1), 'ended completed');
    assert.equal(last?.status, 'completed');
  });

  it('validates its options once', () => {
    const { target } = fakeTarget(systemClock);
    assert.throws(
      () => startExperiment(killExperiment, target, { guardIntervalMs: 0, recoveryPollMs: -1 }),
      /guardIntervalMs must be >= 1, got 0[\s\S]*recoveryPollMs must be >= 1, got -1/,
    );
  });
});
