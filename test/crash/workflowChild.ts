// A child process for the kill -9 crash tests: runs 'crash' workflows of counted steps on a store and
// tells its parent on stdout what became durable, so the parent can check nothing was lost or rerun.
//
//   node --conditions=source test/crash/workflowChild.ts '<ChildConfig as JSON>'
//
// stdout, one line each (written synchronously, so a line the parent reads was written before any kill):
//   READY                     the store is open and the workflow registered; workflows start next
//   R <json StepRecord>       store.workflows.recordStep resolved true for that record
//   DONE <json results>       every workflow of `ids` (and `watch`) finished; the child then exits 0
// stdin (role 'survive'): a line PEER-GONE says the other executor was killed.
//
// Each step execution appends "<workflowId> <position> <token>" to the side-effect log named in the
// workflow's input (fs.appendFileSync, O_APPEND: lines of concurrent processes never interleave)
// before it returns { token, position }: a recorded output's token is the execution it records.

import { randomBytes } from 'node:crypto';
import { appendFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore, type StepRecord, type Store, type WorkflowStore } from '../../src/store/index.ts';
import { workflows, type WorkflowHandle } from '../../src/durable/workflows.ts';

export interface ChildConfig {
  storeUrl: string;
  /**
   * run: start `ids` and wait for them. recover: recover(), then start `ids` (resuming or creating
   * each) and wait for them. survive: like run, then after PEER-GONE make sure every `watch` id
   * exists and wait until it finished (periodic recovery takes the dead peer's workflows over).
   */
  role: 'run' | 'recover' | 'survive';
  ids: string[];
  watch?: string[];
  steps: number;
  /** The side-effect log. */
  log: string;
  /** Each step waits up to this long (random) before and after its side effect. Default 2. */
  stepDelayMs?: number;
  executorId?: string;
  host?: string;
  leaseMs?: number;
  recoverEveryMs?: number;
}

export interface CrashInput {
  steps: number;
  log: string;
  stepDelayMs: number;
}

export interface CrashOutput {
  token: string;
  position: number;
}

function say(line: string): void {
  writeSync(1, `${line}\n`);
}

/** The store, with every successful recordStep reported on stdout once it resolved. */
function reporting(store: Store): Store {
  const inner = store.workflows;
  const delegate: WorkflowStore = {
    create: (workflow) => inner.create(workflow),
    get: (id) => inner.get(id),
    list: (filter) => inner.list(filter),
    steps: (id) => inner.steps(id),
    recordStep: async (step: StepRecord, owner: string) => {
      const recorded = await inner.recordStep(step, owner);
      if (recorded) say(`R ${JSON.stringify(step)}`);
      return recorded;
    },
    finish: (id, owner, outcome, now) => inner.finish(id, owner, outcome, now),
    cancel: (id, now) => inner.cancel(id, now),
    claim: (id, owner, expected, now) => inner.claim(id, owner, expected, now),
    heartbeat: (executor) => inner.heartbeat(executor),
    removeExecutor: (id) => inner.removeExecutor(id),
    executors: () => inner.executors(),
  };
  return {
    kind: store.kind,
    url: store.url,
    schemaVersion: store.schemaVersion,
    idempotency: store.idempotency,
    kv: store.kv,
    records: store.records,
    workflows: delegate,
    close: () => store.close(),
  };
}

async function pause(maxMs: number): Promise<void> {
  const ms = Math.random() * maxMs;
  if (ms >= 0.5) await sleep(ms);
  else await new Promise((resolve) => setImmediate(resolve));
}

function peerGone(): Promise<void> {
  return new Promise((resolve) => {
    let buffered = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.includes('PEER-GONE\n')) resolve();
    });
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as ChildConfig;
  const store = await openStore(config.storeUrl);
  const engine = workflows(reporting(store), {
    ...(config.executorId !== undefined && { executorId: config.executorId }),
    ...(config.host !== undefined && { host: config.host }),
    ...(config.leaseMs !== undefined && { leaseMs: config.leaseMs }),
    ...(config.recoverEveryMs !== undefined && { recoverEveryMs: config.recoverEveryMs }),
  });
  engine.register('crash', async (ctx, input: CrashInput) => {
    const tokens: string[] = [];
    for (let position = 0; position < input.steps; position++) {
      const output = await ctx.step(`step-${position}`, async (): Promise<CrashOutput> => {
        await pause(input.stepDelayMs);
        const token = randomBytes(8).toString('hex');
        appendFileSync(input.log, `${ctx.workflowId} ${position} ${token}\n`);
        await pause(input.stepDelayMs);
        return { token, position };
      });
      tokens.push(output.token);
    }
    return tokens;
  });
  const input: CrashInput = { steps: config.steps, log: config.log, stepDelayMs: config.stepDelayMs ?? 2 };
  const gone = config.role === 'survive' ? peerGone() : undefined;
  say('READY');

  if (config.role === 'recover') await engine.recover();
  const handles: WorkflowHandle[] = await Promise.all(
    config.ids.map((id) => engine.start('crash', input, { id })),
  );
  const results: unknown[] = await Promise.all(handles.map((handle) => handle.result()));
  if (gone !== undefined) {
    await gone;
    for (const id of config.watch ?? []) {
      // The peer may have died before creating it: then this executor starts it.
      if ((await engine.get(id)) === undefined) await engine.start('crash', input, { id });
    }
    results.push(...(await Promise.all((config.watch ?? []).map((id) => engine.result(id)))));
  }
  say(`DONE ${JSON.stringify(results)}`);
  await engine.close();
  await store.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `workflowChild failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
