import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { manualClock } from '../policies/index.ts';
import { openStore } from '../store/index.ts';
import { CHAOS_RUN_RECORD_KIND, toRecord } from './experimentJournal.ts';
import { chaosRuns, isChaosRunConflictError } from './experimentRuns.ts';
import { parseExperiment } from './experimentSchema.ts';
import { fakeTarget, settle } from './test-support/experimentFakeTarget.ts';

const longRun = parseExperiment(`
title: long latency
target: payment-api
steadyState: [{ http: { path: / } }]
method:
  - { fault: { latency: { ms: 500 } } }
  - { fault: { down: {} }, durationMs: 60000 }
rollbacks: [restart-service, fallback-mode]
`);

const quickRun = parseExperiment(`
title: quick kill
target: payment-api
method: [{ fault: { kill: {} } }]
expect: { recoveredWithinMs: 1000 }
`);

describe('chaosRuns', () => {
  it('starts runs, answers their live and final journals, and refuses a second run on the same target', async () => {
    const clock = manualClock();
    const { target } = fakeTarget(clock, { services: ['payment-api', 'orders'] });
    let next = 0;
    const runs = chaosRuns({ target, clock, newId: () => `run-${++next}` });
    const { id } = runs.start(longRun);
    assert.equal(id, 'run-1');
    await clock.tickAsync(100);
    assert.equal((await runs.get(id))?.status, 'running');
    assert.throws(
      () => runs.start(quickRun),
      (error: unknown) => isChaosRunConflictError(error) && error.runId === 'run-1',
    );
    const other = runs.start({ ...quickRun, target: 'orders' });
    await settle(runs.done(other.id)!, clock);
    assert.deepEqual(
      (await runs.list()).map((journal) => [journal.id, journal.status]),
      [
        ['run-2', 'completed'],
        ['run-1', 'running'],
      ],
    );
    assert.deepEqual(
      (await runs.list({ target: 'orders' })).map((journal) => journal.id),
      ['run-2'],
    );
    assert.equal(await runs.get('nope'), undefined);
    await runs.stopAll();
    await settle(runs.done(id)!, clock);
  });

  it('stopAll removes every active fault of every run at once and ends them interrupted, rollbacks run', async () => {
    const clock = manualClock();
    const first = fakeTarget(clock, { services: ['payment-api', 'orders'] });
    const runs = chaosRuns({ target: first.target, clock });
    const a = runs.start(longRun);
    const b = runs.start({ ...longRun, target: 'orders' });
    await clock.tickAsync(1_000);
    assert.equal(first.state.injected.length, 4);
    assert.ok(first.state.active.size > 0);
    const stopped = await runs.stopAll('game day over');
    assert.deepEqual(stopped.interrupted.sort(), [a.id, b.id].sort());
    assert.deepEqual(first.state.removed.length, 4, 'every fault removed when stopAll resolves');
    for (const id of [a.id, b.id]) {
      const journal = await settle(runs.done(id)!, clock);
      assert.equal(journal.status, 'interrupted');
      assert.equal(journal.reason, 'game day over');
      assert.deepEqual(
        journal.rollbacks.map((rollback) => rollback.status),
        ['succeeded', 'succeeded'],
      );
    }
    assert.deepEqual((await runs.stopAll()).interrupted, [], 'nothing left running');
  });

  it('keeps journals in the store: they survive a restart, and runs left running are marked interrupted', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'rebound-chaos-'));
    try {
      const url = `sqlite:${join(folder, 'state.db')}`;
      const clock = manualClock(Date.parse('2030-01-01T00:00:00.000Z'));
      const { target } = fakeTarget(clock);
      let store = await openStore(url);
      const runs = chaosRuns({ target, clock, store, newId: () => 'run-1' });
      const { id } = runs.start(quickRun);
      const finished = await settle(runs.done(id)!, clock);
      assert.equal(finished.status, 'completed');
      // A run that was going on when the previous process died.
      await store.records.put(
        toRecord({
          ...finished,
          id: 'run-0',
          status: 'running',
          endedAt: null,
          startedAt: '2029-12-31T00:00:00.000Z',
        }),
      );
      await store.close();

      store = await openStore(url);
      try {
        const again = chaosRuns({ target, clock, store });
        assert.deepEqual(await again.get('run-1'), finished);
        assert.equal(await again.recover(), 1);
        const journals = await again.list();
        assert.deepEqual(
          journals.map((journal) => [journal.id, journal.status]),
          [
            ['run-1', 'completed'],
            ['run-0', 'interrupted'],
          ],
        );
        assert.match(journals[1]!.reason!, /stopped during the run/);
        assert.equal((await store.records.list(CHAOS_RUN_RECORD_KIND, { service: 'payment-api' })).length, 2);
        assert.equal(await again.recover(), 0);
      } finally {
        await store.close();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('validates its options once', () => {
    assert.throws(
      () => chaosRuns({ target: undefined as never, newId: 5 as never }),
      /target must be a ChaosTarget[\s\S]*newId must be a function/,
    );
  });
});
