// Chaos experiments against `rebound up`, as a user runs them: `rebound chaos run FILE` kills a
// replica and reports the recovery against its expectation; a guard that trips aborts the run and
// its faults are gone; the emergency stop leaves no fault behind.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  freePort,
  reboundUp,
  type RunningRebound,
  runCli,
  stopStarted,
  untilHealthy,
} from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

async function start(again?: {
  directory: string;
  gatewayPort: number;
}): Promise<{ rebound: RunningRebound; gatewayPort: number }> {
  const gatewayPort = again?.gatewayPort ?? (await freePort());
  const rebound = await reboundUp(
    `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
policies: []
`,
    { directory: again?.directory },
  );
  await untilHealthy(rebound, 'web');
  return { rebound, gatewayPort };
}

async function latencyOf(port: number): Promise<number> {
  const started = performance.now();
  await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer();
  return performance.now() - started;
}

/** The process state letter of /proc/<pid>/stat: 'T' when stopped by SIGSTOP; undefined when gone. */
function processState(pid: number): string | undefined {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

describe('chaos experiments against rebound up', () => {
  it('rebound chaos run: a killed replica is replaced within the expectation; exit 0', async () => {
    const { rebound } = await start();
    const file = join(rebound.directory, 'kill.yaml');
    writeFileSync(
      file,
      `title: A killed replica is replaced within 2 s
target: web
steadyState:
  - { http: { path: /, expectStatus: 200 } }
method:
  - { fault: { kill: { replicas: 1 } } }
expect: { recoveredWithinMs: 2000 }
`,
    );
    const result = await runCli(['chaos', 'run', file, '--api', rebound.url]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /completed/);
    const { body } = await rebound.api('/api/chaos/runs');
    const journal = body.runs[0];
    assert.equal(journal.status, 'completed');
    assert.ok(
      journal.recoveryMs !== null && journal.recoveryMs <= 2000,
      `recovered in ${journal.recoveryMs} ms`,
    );
    assert.equal(journal.expectation.met, true);
  });

  it('aborts when a guard trips, and the latency it injected is gone at once', async () => {
    const { rebound, gatewayPort } = await start();
    const { status, body } = await rebound.api('/api/chaos/experiments', {
      body: {
        title: 'Latency the guard does not tolerate',
        target: 'web',
        steadyState: [{ http: { path: '/', expectStatus: 200 } }],
        method: [{ fault: { latency: { ms: 400 } }, durationMs: 30000 }],
        abortWhen: [{ metric: 'latency_p50', op: 'gt', value: 300 }],
      },
    });
    assert.equal(status, 202);
    let sending = true;
    const traffic = (async () => {
      while (sending) await latencyOf(gatewayPort).catch(() => 0);
    })();
    await until(
      async () => (await rebound.api(`/api/chaos/runs/${body.id}`)).body.status !== 'running',
      'the run to end',
      20_000,
    );
    sending = false;
    await traffic;
    const journal = (await rebound.api(`/api/chaos/runs/${body.id}`)).body;
    assert.equal(journal.status, 'aborted', JSON.stringify(journal));
    assert.ok((await latencyOf(gatewayPort)) < 200, 'no latency left after the abort');
  });

  it('a tripped guard: the faults are gone within 100 ms of the trip, timed from the breach', async (t) => {
    // The breach is a metric posted at a known moment. The guard looks every 100 ms, so it trips at
    // most 100 ms after the breach and must have removed the faults 100 ms later: 200 ms from the
    // breach, plus 50 ms for the HTTP round trips that time it.
    const { rebound, gatewayPort } = await start();
    const { body } = await rebound.api('/api/chaos/experiments', {
      body: {
        title: 'Latency until the operator says stop',
        target: 'web',
        steadyState: [{ http: { path: '/', expectStatus: 200 } }],
        method: [{ fault: { latency: { ms: 400 } }, durationMs: 60000 }],
        abortWhen: [{ metric: 'stop_chaos', op: 'gt', value: 0 }],
      },
    });
    await until(async () => (await latencyOf(gatewayPort)) >= 350, 'the latency injected', 10_000);

    const breachAt = Date.now();
    await rebound.api('/api/events', { body: { service: 'web', metrics: { stop_chaos: 1 } } });
    // A request started every 5 ms after the breach is held by the latency until the toxic goes
    // (removing it lets what it held through): the first answer marks the moment it went.
    let goneAt: number | undefined;
    const probes: Promise<void>[] = [];
    while (goneAt === undefined && Date.now() - breachAt < 2000) {
      probes.push(latencyOf(gatewayPort).then(() => void (goneAt ??= Date.now())));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(probes);
    assert.ok(
      goneAt !== undefined && goneAt - breachAt <= 250,
      `gone ${goneAt! - breachAt} ms after the breach`,
    );

    await until(
      async () => (await rebound.api(`/api/chaos/runs/${body.id}`)).body.status === 'aborted',
      'aborted',
      10_000,
    );
    const journal = (await rebound.api(`/api/chaos/runs/${body.id}`)).body;
    assert.match(journal.reason, /guard stop_chaos > 0 tripped/);
    const removedAt = Date.parse(journal.activities[0].end);
    assert.equal(journal.activities[0].status, 'stopped');
    assert.ok(removedAt - breachAt <= 250, `removed ${removedAt - breachAt} ms after the breach`);
    t.diagnostic(`breach → removed ${removedAt - breachAt} ms, first answer ${goneAt - breachAt} ms`);
  });

  it('the emergency stop removes every fault of a running experiment', async () => {
    const { rebound, gatewayPort } = await start();
    const { body } = await rebound.api('/api/chaos/experiments', {
      body: {
        title: 'Long latency',
        target: 'web',
        steadyState: [{ http: { path: '/', expectStatus: 200 } }],
        method: [{ fault: { latency: { ms: 300 } }, durationMs: 60000 }],
      },
    });
    await until(async () => (await latencyOf(gatewayPort)) >= 250, 'the latency injected', 10_000);
    const stop = await runCli(['chaos', 'stop', '--url', rebound.url]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok((await latencyOf(gatewayPort)) < 200, 'no latency left after the stop');
    await until(
      async () => (await rebound.api(`/api/chaos/runs/${body.id}`)).body.status === 'interrupted',
      'interrupted',
      10_000,
    );
  });

  it('a kill -9 of rebound up mid-run leaves no fault behind; the next start marks the run interrupted', async () => {
    const { rebound, gatewayPort } = await start();
    const pids = (await rebound.api('/api/services/web')).body.replicas.map((r: { pid: number }) => r.pid);
    const { body } = await rebound.api('/api/chaos/experiments', {
      body: {
        title: 'A paused replica',
        target: 'web',
        steadyState: [{ http: { path: '/', expectStatus: 200 } }],
        method: [{ fault: { pause: { replicas: 1 } }, durationMs: 3000 }, { wait: 60000 }],
      },
    });
    await until(() => pids.some((pid: number) => processState(pid) === 'T'), 'a replica paused', 10_000);
    const paused = pids.find((pid: number) => processState(pid) === 'T');
    await rebound.stop('SIGKILL');

    // Nobody is left to send SIGCONT but the watchdog: the pause expires 5 s after its planned 3 s
    // end, and the watchdog resumes it 1 s after that.
    await until(() => processState(paused) !== 'T', 'the paused replica resumed', 15_000);
    assert.ok(processState(paused) !== undefined, 'resumed, not killed: the next start stops it');

    const next = await start({ directory: rebound.directory, gatewayPort });
    const journal = (await next.rebound.api(`/api/chaos/runs/${body.id}`)).body;
    assert.equal(journal.status, 'interrupted');
    await until(() => processState(paused) === undefined, 'the orphan stopped by the next start', 10_000);
  });
});
