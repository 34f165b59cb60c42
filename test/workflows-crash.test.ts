// Durable workflows survive kill -9 (SQLite): real child processes run workflows of ten steps on a
// SQLite file and are killed with SIGKILL at random points; a fresh process recovers. After each run:
// no recorded step lost, none run again after it was recorded, every workflow completed.
// The scenario and its checks are in test/crash/; scripts/soak-workflows.ts runs many more.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CrashRun, describeRun, sqliteCrashRun } from './crash/scenarios.ts';

const RUNS = 50;
const directory = mkdtempSync(join(tmpdir(), 'rebound-crash-'));
after(() => rmSync(directory, { recursive: true, force: true }));
const results: CrashRun[] = [];

describe(
  `workflows on SQLite, killed with SIGKILL at random points (${RUNS} runs)`,
  { concurrency: 3 },
  () => {
    for (let run = 0; run < RUNS; run++) {
      it(`run ${run}`, { timeout: 120_000 }, async (t) => {
        const result = await sqliteCrashRun({ directory, run });
        results.push(result);
        t.diagnostic(describeRun(result));
      });
    }
  },
);

describe('the crash runs exercised what they claim', () => {
  it('many kills landed mid-workflow, some before anything was recorded or after an unrecorded execution', () => {
    assert.equal(results.length, RUNS, 'every run finished');
    const midRun = results.filter((r) => r.recordedBeforeKill > 0 && r.recordedBeforeKill < r.totalSteps);
    const withReruns = results.filter((r) => r.reruns > 0);
    // With ~150 ms workflows and kills 5-150 ms in, most runs are cut mid-way; a third is a safe floor.
    assert.ok(midRun.length >= RUNS / 3, `only ${midRun.length} of ${RUNS} runs were killed mid-workflow`);
    assert.ok(withReruns.length >= 1, 'no run was killed between a side effect and its record');
  });
});
