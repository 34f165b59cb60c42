// Scheduled chaos experiments in `rebound up`, as a user configures them: a schedule runs its
// experiment on time and the run completes; a schedule whose blast radius is stricter than its
// experiment's method has every run refused before anything is injected.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, reboundUp, stopStarted } from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

const directory = mkdtempSync(join(tmpdir(), 'rebound-schedule-'));
after(async () => {
  await stopStarted();
  rmSync(directory, { recursive: true, force: true });
});

interface Journal {
  id: string;
  title: string;
  status: string;
  reason: string | null;
  activities: unknown[];
}

describe('scheduled chaos experiments in rebound up', () => {
  it('runs each schedule on time; the blast radius refuses a run that would kill too many', async () => {
    mkdirSync(join(directory, 'experiments'));
    writeFileSync(
      join(directory, 'experiments', 'kill-one.yaml'),
      `title: kill one replica
target: web
steadyState: [{ http: { path: /, expectStatus: 200 } }]
method: [{ fault: { kill: { replicas: 1 } } }]
expect: { recoveredWithinMs: 5000 }
# The killed replica's crash may open an incident; the next occurrence runs anyway.
allowDuringIncident: true
`,
    );
    writeFileSync(
      join(directory, 'experiments', 'kill-two.yaml'),
      `title: kill both replicas
target: web
method: [{ fault: { kill: { replicas: 2 } } }]
allowDuringIncident: true
`,
    );
    const gatewayPort = await freePort();
    const rebound = await reboundUp(
      `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    restart: { backoff: { initialMs: 50 }, maxRestarts: 100 }
    stopGraceMs: 2000
policies: []
chaos:
  schedules:
    - { experiment: experiments/kill-one.yaml, every: 1500, blastRadius: { maxReplicas: 1 } }
    - { experiment: experiments/kill-two.yaml, every: 1000, blastRadius: { maxReplicas: 1 }, name: too-wide }
`,
      { directory },
    );

    const schedules = (await rebound.api('/api/chaos/schedules')).body.schedules;
    assert.deepEqual(
      schedules.map((view: { name: string; every: number; enabled: boolean }) => [
        view.name,
        view.every,
        view.enabled,
      ]),
      [
        ['kill-one', 1500, true],
        ['too-wide', 1000, true],
      ],
    );
    assert.ok(schedules.every((view: { nextRunAt: string | null }) => view.nextRunAt !== null));

    const runs = async () => (await rebound.api('/api/chaos/runs')).body.runs as Journal[];
    await until(
      async () => {
        const all = await runs();
        return (
          all.some((run) => run.title === 'kill one replica' && run.status === 'completed') &&
          all.some((run) => run.title === 'kill both replicas' && run.status === 'aborted')
        );
      },
      'a completed run of kill-one and a refused run of too-wide',
      10_000,
    );

    const all = await runs();
    const output = rebound.output();
    const completed = all.filter((run) => run.title === 'kill one replica' && run.status === 'completed');
    assert.ok(
      completed.some((run) => output.includes(`chaos schedule kill-one started run ${run.id}`)),
      `a completed run started by the schedule; output:\n${output}`,
    );
    const refused = all.filter((run) => run.title === 'kill both replicas');
    assert.ok(refused.length > 0);
    for (const run of refused) {
      if (run.status === 'running') continue;
      assert.equal(run.status, 'aborted', JSON.stringify(run));
      assert.equal(run.reason, 'refused to start: kill of 2 replicas exceeds blastRadius.maxReplicas 1');
      assert.deepEqual(run.activities, [], 'nothing was injected: no replica killed by it');
      assert.ok(output.includes(`chaos schedule too-wide started run ${run.id}`));
    }

    const lastRuns = (await rebound.api('/api/chaos/schedules')).body.schedules.map(
      (view: { lastRun: { outcome: string } | null }) => view.lastRun?.outcome,
    );
    assert.ok(
      lastRuns.every((outcome: string | undefined) => outcome === 'started' || outcome === 'skipped'),
    );
    assert.equal(await rebound.stop(), 0);
  });
});
