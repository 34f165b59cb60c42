// Surviving kill -9: a child process runs a deployment workflow and is killed with SIGKILL in the
// middle of its third step. A new engine on the same SQLite file recovers the workflow: the two
// checkpointed steps return their recorded output without running again, the interrupted step
// (never checkpointed) runs again, and the workflow completes.
//
// This file is both processes: `node crash-recovery.ts` is the parent, which starts itself as the child.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { type WorkflowEngine, workflows } from 'rebound/durable';
import { openStore } from 'rebound/store';

const [role, childDirectory] = process.argv.slice(2);
const isChild = role === 'child';
const directory = isChild ? childDirectory! : mkdtempSync(join(tmpdir(), 'rebound-crash-'));
const storeUrl = `sqlite:${join(directory, 'state.db')}`;
const executions = join(directory, 'executions.log'); // every step execution, from both processes

/** The workflow, registered the same way by every process that may run it. */
function defineDeploy(engine: WorkflowEngine): void {
  engine.register('deploy', async (ctx, input: { version: string }) => {
    const image = await ctx.step('build', () => execute('build', `registry/app:${input.version}`));
    const migrated = await ctx.step('migrate', () => execute('migrate', 3));
    const live = await ctx.step('switch_traffic', async () => {
      const state = execute('switch_traffic', 'live');
      if (isChild) {
        console.log('switching traffic'); // the parent kills the child when it reads this
        await sleep(60_000); // waiting for the load balancer: killed before the step returns
      }
      return state;
    });
    return { image, migrated, live };
  });
}

function execute<T>(step: string, value: T): T {
  appendFileSync(executions, `${step} pid=${process.pid}\n`);
  return value;
}

if (isChild) {
  const store = await openStore(storeUrl);
  const engine = workflows(store); // executor id '<host>:<pid>:<random>'
  defineDeploy(engine);
  const handle = await engine.start('deploy', { version: '1.4.2' }, { id: 'deploy-1.4.2' });
  await handle.result(); // never reached: the parent kills this process first
} else {
  // --- the first process: killed with SIGKILL during 'switch_traffic' ---
  const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, 'child', directory], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'switching traffic') break;
  }
  child.kill('SIGKILL');
  const [, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.once('exit', (code, killedBy) => resolve([code, killedBy])),
  );
  assert.equal(signal, 'SIGKILL');
  console.log(`child ${child.pid} killed with SIGKILL in the middle of 'switch_traffic'`);

  // --- the next process: same store, recover() resumes what the dead executor left ---
  const store = await openStore(storeUrl);
  const engine = workflows(store, { executorId: 'worker-2' });
  defineDeploy(engine);
  const before = await engine.get('deploy-1.4.2');
  assert.equal(before?.status, 'running');
  assert.deepEqual(
    before?.steps.map((step) => step.name),
    ['build', 'migrate'],
  );

  // The dead owner was a process of this host that no longer exists: taken over at once (an executor
  // on another machine would be taken over once its heartbeat is older than leaseMs).
  const recovered = await engine.recover();
  assert.deepEqual(recovered, { resumed: ['deploy-1.4.2'], unknown: [] });
  const output = await engine.result('deploy-1.4.2');
  assert.deepEqual(output, { image: 'registry/app:1.4.2', migrated: 3, live: 'live' });
  console.log('recovered by worker-2:', JSON.stringify(output));

  const ran = readFileSync(executions, 'utf8').trim().split('\n');
  const count = (step: string) => ran.filter((line) => line.startsWith(`${step} `)).length;
  // Checkpointed steps ran once, in the child. The interrupted step ran in both processes: a step's
  // side effect must tolerate a second run (an idempotency key derived from ctx.workflowId, say).
  assert.deepEqual([count('build'), count('migrate'), count('switch_traffic')], [1, 1, 2]);
  assert.deepEqual(ran, [
    `build pid=${child.pid}`,
    `migrate pid=${child.pid}`,
    `switch_traffic pid=${child.pid}`,
    `switch_traffic pid=${process.pid}`,
  ]);
  for (const line of ran) console.log(`  executed: ${line}`);
  assert.equal((await engine.get('deploy-1.4.2'))?.owner, 'worker-2');

  await engine.close();
  await store.close();
  rmSync(directory, { recursive: true, force: true });
}
