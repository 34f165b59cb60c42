// The supervisor with real child processes (test/fixtures/http-service.js): crashes, crash loops,
// SIGSTOP hangs, graceful stops, orphans, rolling restarts, scaling, rollouts and held restarts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { RecordStore, StoredRecord } from '../store/index.ts';
import { parseConfig } from './config.ts';
import type { ServiceConfig } from './configTypes.ts';
import { isConflictError, isInvalidRequestError, isUnknownServiceError } from './errors.ts';
import { freePort, isAlive } from './processes.ts';
import { Supervisor } from './supervisor.ts';
import { isReplicaStartError, isRolloutError } from './supervisorErrors.ts';
import type { SupervisorEvent, SupervisorOptions } from './supervisorTypes.ts';
import { until } from '../../test/support/waiting.ts';

const FIXTURE = resolve(import.meta.dirname, '../../test/fixtures/http-service.js');
const CRASHING_REBOUND = resolve(import.meta.dirname, '../../test/fixtures/supervisor-crash.ts');

/** A fast-probing service running the fixture. */
function serviceConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  const parsed = parseConfig(
    `services:
  api:
    command: node http-service.js
    replicas: 1
    health: { http: { path: /health, timeoutMs: 100 }, intervalMs: 50, failureThreshold: 2 }
    restart: { backoff: { initialMs: 20, factor: 2, maxMs: 200 }, maxRestarts: 5, windowMs: 60000 }
    stopGraceMs: 2000
`,
    { env: {} },
  );
  return { ...parsed.services.api!, argv: [process.execPath, FIXTURE], ...overrides };
}

const withCount = (count: number, overrides: Partial<ServiceConfig> = {}): ServiceConfig =>
  serviceConfig({ replicas: { count, min: 0, max: 10 }, ...overrides });

/** The store's records, in memory (the supervisor needs only `records`). */
function memoryRecords(): RecordStore & { rows: Map<string, StoredRecord> } {
  const rows = new Map<string, StoredRecord>();
  const key = (kind: string, id: string) => `${kind}\0${id}`;
  return {
    rows,
    put: async (record) => void rows.set(key(record.kind, record.id), { ...record }),
    get: async (kind, id) => rows.get(key(kind, id)),
    list: async (kind) => [...rows.values()].filter((record) => record.kind === kind),
    delete: async (kind, id) => rows.delete(key(kind, id)),
    prune: async () => 0,
  };
}

function harness(t: TestContext, options: Partial<SupervisorOptions> = {}) {
  const records = memoryRecords();
  const lines: string[] = [];
  const supervisor = new Supervisor({
    store: { records },
    log: (line) => lines.push(line),
    startupGraceMs: 500,
    ...options,
  });
  const events: SupervisorEvent[] = [];
  supervisor.onEvent((event) => events.push(event));
  t.after(() => supervisor.stop());
  const of = <T extends SupervisorEvent['type']>(type: T) =>
    events.filter((event): event is Extract<SupervisorEvent, { type: T }> => event.type === type);
  return { supervisor, records, lines, events, of };
}

/** Polls (real time: processes run on their own) until `done` holds. */
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return (await response.json()) as Record<string, unknown>;
}

const pidOf = (supervisor: Supervisor, index = 0): number => supervisor.replicas('api')[index]!.pid!;

describe('freePort', () => {
  it('never answers a port to avoid: it asks the kernel again (a replica must not take the API port)', async () => {
    const refused: number[] = [];
    const avoid = {
      size: 3,
      has: (port: number) => refused.length < 3 && refused.push(port) > 0,
    } as unknown as ReadonlySet<number>;
    const port = await freePort('127.0.0.1', avoid);
    assert.equal(refused.length, 3, 'asked again after each port to avoid');
    assert.ok(port > 0);
    const everything = { size: 65535, has: () => true } as unknown as ReadonlySet<number>;
    await assert.rejects(freePort('127.0.0.1', everything), /no free port on 127\.0\.0\.1 outside/);
  });
});

describe('Supervisor: start and stop', () => {
  it('starts count replicas with PORT and HOST, records them while they run, and forwards their output', async (t) => {
    const { supervisor, records, lines, of } = harness(t);
    await supervisor.start([withCount(2)]);

    const replicas = supervisor.replicas('api');
    assert.deepEqual(
      replicas.map((r) => [r.id, r.state, r.restarts, r.revision]),
      [
        ['r1', 'healthy', 0, 1],
        ['r2', 'healthy', 0, 1],
      ],
    );
    assert.notEqual(replicas[0]!.port, replicas[1]!.port);
    assert.deepEqual(
      supervisor.upstreams('api'),
      replicas.map((r) => ({ id: r.id, host: '127.0.0.1', port: r.port })),
    );
    for (const replica of replicas) {
      assert.equal((await getJson(replica.port, '/')).pid, replica.pid, 'the pid is the service process');
      const record = records.rows.get(`replica\0api/${replica.id}`);
      assert.ok(record, `a record for ${replica.id}`);
      assert.deepEqual(JSON.parse(record.data), {
        service: 'api',
        id: replica.id,
        pid: replica.pid,
        port: replica.port,
        argv: [process.execPath, FIXTURE],
        startedAt: Date.parse(replica.startedAt!),
      });
    }
    assert.ok(lines.includes(`[api/r1] listening on ${replicas[0]!.port} (version 1)`), lines.join('\n'));
    assert.equal(of('replica-started').length, 2);
    assert.equal(of('replica-healthy').length, 2);

    await supervisor.stop();
    assert.equal(records.rows.size, 0, 'records are deleted on exit');
    assert.deepEqual(
      of('replica-exited')
        .map((e) => [e.replica.id, e.expected, e.code])
        .sort(),
      [
        ['r1', true, 0],
        ['r2', true, 0],
      ],
    );
    for (const replica of replicas) assert.equal(isAlive(replica.pid!), false);
  });

  it('stops gracefully: SIGTERM first, SIGKILL after stopGraceMs for a replica that ignores it', async (t) => {
    const { supervisor, of } = harness(t);
    await supervisor.start([withCount(1, { env: { IGNORE_SIGTERM: '1' }, stopGraceMs: 300 })]);
    const pid = pidOf(supervisor);
    const began = Date.now();
    await supervisor.stopService('api');
    const took = Date.now() - began;
    assert.ok(took >= 280 && took < 3_000, `stopped after ${took} ms`);
    const [exit] = of('replica-exited');
    assert.deepEqual([exit!.signal, exit!.expected], ['SIGKILL', true]);
    assert.equal(isAlive(pid), false);
    assert.deepEqual(supervisor.replicas('api'), []);
    await sleep(150);
    assert.equal(of('replica-started').length, 1, 'a stopped service is not restarted');

    await supervisor.startService('api');
    assert.equal(supervisor.upstreams('api').length, 1);
    assert.equal(supervisor.replicas('api')[0]!.id, 'r2');
  });

  it('stops a cooperative replica at once with exit code 0', async (t) => {
    const { supervisor, of } = harness(t);
    await supervisor.start([withCount(1, { stopGraceMs: 5_000 })]);
    const began = Date.now();
    await supervisor.stop();
    assert.ok(Date.now() - began < 2_000);
    assert.deepEqual(
      of('replica-exited').map((e) => [e.code, e.signal, e.expected]),
      [[0, null, true]],
    );
  });

  it('starts a service once its dependencies pass, and independent services together', async (t) => {
    const { supervisor, events } = harness(t);
    const db = withCount(1, { name: 'db', env: { START_DELAY_MS: '300' } });
    const api = withCount(1, { name: 'api', dependsOn: ['db'] });
    const other = withCount(1, { name: 'other' });
    await supervisor.start([db, api, other]);
    const at = (type: string, service: string) =>
      events.findIndex((event) => event.type === type && event.service === service);
    assert.ok(at('replica-healthy', 'db') < at('replica-started', 'api'), 'api waited for db');
    assert.ok(at('replica-started', 'other') < at('replica-healthy', 'db'), 'other did not wait');
    for (const name of ['db', 'api', 'other']) assert.equal(supervisor.upstreams(name).length, 1, name);
  });

  it('stops cleanly while still starting', async (t) => {
    const { supervisor, of } = harness(t);
    const starting = supervisor.start([withCount(2, { env: { START_DELAY_MS: '5000' } })]);
    await until(() => of('replica-started').length === 2, 'the spawns');
    const pids = supervisor.replicas('api').map((r) => r.pid!);
    const began = Date.now();
    await supervisor.stop();
    await starting;
    assert.ok(Date.now() - began < 2_000, 'start() gave up waiting');
    for (const pid of pids) assert.equal(isAlive(pid), false);
    await assert.rejects(supervisor.start([withCount(1, { name: 'late' })]), isConflictError);
  });

  it('kills every replica when rebound dies of an uncaught error', async () => {
    const child = spawn(process.execPath, ['--conditions=source', CRASHING_REBOUND], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.resume();
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    assert.equal(code, 1, 'it crashed');
    const pid = Number(/replica (\d+)/.exec(output)?.[1]);
    assert.ok(pid > 0, `printed its replica's pid: ${output}`);
    await until(() => !isAlive(pid), 'the replica to die with rebound', 2_000);
  });

  it('registers its exit handler while running and removes it on stop()', async (t) => {
    const before = process.listenerCount('exit');
    const { supervisor } = harness(t);
    await supervisor.start([withCount(0)]);
    assert.equal(process.listenerCount('exit'), before + 1);
    await supervisor.stop();
    assert.equal(process.listenerCount('exit'), before);
  });

  it('refuses unknown services, a second start of a service, and bad options', async (t) => {
    const { supervisor } = harness(t);
    await supervisor.start([withCount(0)]);
    assert.throws(() => supervisor.replicas('nope'), isUnknownServiceError);
    await assert.rejects(supervisor.restart('nope'), isUnknownServiceError);
    await assert.rejects(supervisor.start([withCount(0)]), isConflictError);
    await assert.rejects(supervisor.scale('api', -1), isInvalidRequestError);
    assert.throws(
      () => new Supervisor({ store: {} as never, host: '', startupGraceMs: -1 }),
      /supervisor.store must be a Store.*supervisor.host must be a non-empty string.*supervisor.startupGraceMs must be >= 0/s,
    );
  });
});

describe('Supervisor: crashes and hangs', () => {
  it('restarts a replica that crashed after running a while at once, out of rotation meanwhile', async (t) => {
    const { supervisor, events, of } = harness(t);
    const seen: string[][] = [];
    supervisor.onUpstreamsChange(({ service }) => seen.push(supervisor.upstreams(service).map((u) => u.id)));
    await supervisor.start([withCount(1)]);
    const pid = pidOf(supervisor);
    await sleep(1_050); // past MIN_UPTIME_MS: this is not a crash loop
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await until(() => of('replica-healthy').length === 2, 'the replacement to pass');
    const healedMs = Date.now() - killedAt;

    const after = events.slice(events.findIndex((e) => e.type === 'replica-exited'));
    assert.deepEqual(
      after.map((e) => e.type),
      ['replica-exited', 'replica-restarting', 'replica-started', 'replica-healthy'],
    );
    const [exited] = of('replica-exited');
    assert.deepEqual([exited!.signal, exited!.expected], ['SIGKILL', false]);
    const [restarting] = of('replica-restarting');
    assert.deepEqual([restarting!.reason, restarting!.delayMs, restarting!.note], ['crash', 0, undefined]);
    assert.deepEqual(seen, [['r1'], [], ['r1']], 'out of the upstreams from the exit until it passes again');
    const [replica] = supervisor.replicas('api');
    assert.deepEqual([replica!.id, replica!.restarts, replica!.state], ['r1', 1, 'healthy']);
    assert.notEqual(replica!.pid, pid);
    assert.ok(healedMs < 2_000, `healed in ${healedMs} ms`);
  });

  it('backs off a crash loop, then marks the service critical and stops restarting', async (t) => {
    const { supervisor, of } = harness(t);
    const config = withCount(1, {
      env: { CRASH_AT_START: '1' },
      restart: { backoff: { initialMs: 20, factor: 2, maxMs: 1_000 }, maxRestarts: 3, windowMs: 60_000 },
    });
    await supervisor.start([config]);
    await until(() => of('service-critical').length === 1, 'critical');
    assert.deepEqual(
      of('replica-restarting').map((e) => [e.reason, e.delayMs]),
      [
        ['crash', 20],
        ['crash', 40],
        ['crash', 80],
      ],
    );
    assert.deepEqual(of('service-critical')[0], {
      type: 'service-critical',
      service: 'api',
      restarts: 4,
      windowMs: 60_000,
    });
    assert.equal(supervisor.isCritical('api'), true);
    assert.deepEqual(
      supervisor.replicas('api').map((r) => [r.state, r.pid, r.restarts]),
      [['stopped', undefined, 3]],
    );
    await sleep(200);
    assert.equal(of('replica-started').length, 4, 'no more restarts once critical');

    // An operator's start clears critical and tries again; it fails the same way.
    await assert.rejects(supervisor.startService('api'), isReplicaStartError);
    assert.equal(supervisor.isCritical('api'), true);
    assert.equal(of('replica-started').length, 8);
  });

  it('treats a program that cannot be spawned as a crash', async (t) => {
    const { supervisor, lines, of } = harness(t);
    const config = withCount(1, {
      argv: ['/nonexistent/service'],
      restart: { backoff: { initialMs: 10, factor: 1, maxMs: 10 }, maxRestarts: 2, windowMs: 60_000 },
    });
    await supervisor.start([config]);
    await until(() => supervisor.isCritical('api'), 'critical');
    assert.equal(of('replica-restarting').length, 2);
    assert.ok(
      lines.some((line) => /\[api\/r1\] could not start \/nonexistent\/service: .*ENOENT/.test(line)),
      lines.join('\n'),
    );
  });

  it('SIGKILLs and replaces a SIGSTOPped replica, taking it out of rotation as soon as it is unhealthy', async (t) => {
    const { supervisor, of } = harness(t);
    const inRotationWhenUnhealthy: string[][] = [];
    supervisor.onEvent((event) => {
      if (event.type === 'replica-unhealthy')
        inRotationWhenUnhealthy.push(supervisor.upstreams('api').map((u) => u.id));
    });
    await supervisor.start([withCount(2)]);
    const frozen = supervisor.replicas('api')[0]!;
    await getJson(frozen.port, '/freeze');
    const frozenAt = Date.now();
    await until(() => of('replica-healthy').length === 3, 'the frozen replica to be replaced');
    const replacedMs = Date.now() - frozenAt;

    const [unhealthy] = of('replica-unhealthy');
    assert.equal(unhealthy!.replica.id, 'r1');
    assert.match(unhealthy!.detail, /timed out after 100 ms/);
    assert.deepEqual(inRotationWhenUnhealthy, [['r2']]);
    assert.deepEqual(
      of('replica-exited').map((e) => [e.replica.id, e.signal, e.expected]),
      [['r1', 'SIGKILL', false]],
    );
    assert.deepEqual(
      of('replica-restarting').map((e) => [e.replica.id, e.reason]),
      [['r1', 'hang']],
    );
    assert.equal(isAlive(frozen.pid!), false);
    const replica = supervisor.replicas('api')[0]!;
    assert.deepEqual([replica.id, replica.state, replica.restarts], ['r1', 'healthy', 1]);
    assert.notEqual(replica.pid, frozen.pid);
    assert.ok(replacedMs < 3_000, `replaced in ${replacedMs} ms`);
  });

  it('holds a restart while canRestart gives a reason, asking again until it clears', async (t) => {
    let blocker: string | undefined = 'waiting for its dependency db to recover';
    const { supervisor, of } = harness(t, { canRestart: () => blocker });
    await supervisor.start([withCount(1)]);
    process.kill(pidOf(supervisor), 'SIGKILL');
    await until(() => of('restart-held').length === 1, 'the hold');
    await sleep(700); // past one re-ask
    assert.deepEqual(
      of('restart-held').map((e) => e.reason),
      ['waiting for its dependency db to recover'],
      'said once, not at every re-ask',
    );
    assert.equal(of('replica-started').length, 1);
    assert.equal(supervisor.replicas('api')[0]!.state, 'backoff');
    blocker = undefined;
    await until(
      () => supervisor.upstreams('api').length === 1,
      'the restart once the dependency is back',
      2_000,
    );
    assert.equal(of('replica-started').length, 2);
  });

  it('holds a restart the host lacks the memory for, and notes a replica that outgrew its limit', async (t) => {
    let free = 0;
    const { supervisor, of } = harness(t, { freeMemory: () => free });
    await supervisor.start([withCount(1, { resources: { memoryMb: 1 } })]);
    await sleep(120); // a few probe ticks sample its memory
    process.kill(pidOf(supervisor), 'SIGKILL');
    await until(() => of('restart-held').length === 1, 'the hold');
    const [restarting] = of('replica-restarting');
    assert.match(
      restarting!.note ?? '',
      /^replica exceeded its memory limit \(\d+ MB > 1 MB\); a restart frees it$/,
    );
    assert.equal(
      of('restart-held')[0]!.reason,
      'only 0 MB of memory free and api needs 1 MB: a restart would not help until memory is freed',
    );
    free = 1e12;
    await until(() => supervisor.upstreams('api').length === 1, 'the restart once memory is free', 2_000);
  });
});

describe('Supervisor: orphans', () => {
  it('stops the replicas a killed rebound left behind, and only those', async (t) => {
    const { supervisor, records, of } = harness(t);
    const port = await freePort('127.0.0.1');
    // A replica of a previous run: detached like ours, and ignoring SIGTERM to need the SIGKILL.
    const orphan = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, PORT: String(port), IGNORE_SIGTERM: '1' },
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    await new Promise((done) => orphan.stdout.once('data', done));
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((done) => gone.once('exit', done));
    const record = (id: string, pid: number, argv: string[]): StoredRecord => ({
      kind: 'replica',
      id: `api/${id}`,
      service: 'api',
      at: 0,
      data: JSON.stringify({ service: 'api', id, pid, port, argv, startedAt: 0 }),
    });
    await records.put(record('r1', orphan.pid!, [process.execPath, FIXTURE]));
    await records.put(record('r2', gone.pid!, [process.execPath, FIXTURE]));
    // A pid now used by another program (here: this test): never signalled.
    await records.put(record('r3', process.pid, ['some-other-program', '--flag']));

    await supervisor.start([withCount(1, { stopGraceMs: 200 })]);
    assert.deepEqual(of('orphan-stopped'), [{ type: 'orphan-stopped', service: 'api', pid: orphan.pid }]);
    assert.equal(isAlive(orphan.pid!), false);
    assert.deepEqual(
      [...records.rows.values()].map((r) => [r.id, JSON.parse(r.data).pid]),
      [['api/r1', pidOf(supervisor)]],
      'the old records are gone; the new replica is recorded',
    );
  });
});

describe('Supervisor: operations', () => {
  it('restarts a service rolling: every replica replaced, no capacity lost at any moment', async (t) => {
    const { supervisor, of } = harness(t);
    await supervisor.start([withCount(2)]);
    const old = supervisor.replicas('api');
    const sizes: number[] = [];
    supervisor.onUpstreamsChange(() => sizes.push(supervisor.upstreams('api').length));
    await supervisor.restart('api');
    assert.ok(sizes.length >= 4);
    assert.ok(Math.min(...sizes) >= 2, `healthy replicas during the restart: ${sizes.join(', ')}`);
    assert.deepEqual(
      supervisor.replicas('api').map((r) => [r.id, r.state]),
      [
        ['r3', 'healthy'],
        ['r4', 'healthy'],
      ],
    );
    for (const replica of old) assert.equal(isAlive(replica.pid!), false);
    assert.deepEqual(
      of('replica-exited').map((e) => [e.replica.id, e.expected]),
      [
        ['r1', true],
        ['r2', true],
      ],
    );
  });

  it('restart clears critical and starts the stopped replicas again', async (t) => {
    let crash = '1';
    const { supervisor } = harness(t);
    const config = withCount(1, {
      restart: { backoff: { initialMs: 10, factor: 1, maxMs: 10 }, maxRestarts: 1, windowMs: 60_000 },
    });
    // The environment is read at every spawn, so the fixture's crash can be turned off.
    Object.defineProperty(config, 'env', { get: () => ({ CRASH_AT_START: crash }) });
    await supervisor.start([config]);
    await until(() => supervisor.isCritical('api'), 'critical');
    crash = '0';
    await supervisor.restart('api');
    assert.equal(supervisor.isCritical('api'), false);
    assert.deepEqual(
      supervisor.replicas('api').map((r) => [r.id, r.state]),
      [['r1', 'healthy']],
    );
  });

  it('scales up (resolving once the new replicas pass) and down (stopping the newest first)', async (t) => {
    const { supervisor, of } = harness(t);
    await supervisor.start([withCount(1)]);
    await supervisor.scale('api', 3);
    assert.equal(supervisor.upstreams('api').length, 3);
    await supervisor.scale('api', 1);
    assert.deepEqual(
      supervisor.replicas('api').map((r) => r.id),
      ['r1'],
    );
    assert.deepEqual(
      of('replica-exited')
        .map((e) => [e.replica.id, e.expected])
        .sort(),
      [
        ['r2', true],
        ['r3', true],
      ],
    );
    await supervisor.scale('api', 0);
    assert.deepEqual(supervisor.upstreams('api'), []);
  });

  it('scales up without waiting for the probes when asked (waitReady: false): the new replicas serve later', async (t) => {
    const { supervisor } = harness(t);
    await supervisor.start([withCount(1)]);
    await supervisor.scale('api', 3, { waitReady: false });
    assert.equal(supervisor.replicas('api').length, 3, 'started');
    assert.equal(supervisor.upstreams('api').length, 1, 'not serving yet');
    await until(() => supervisor.upstreams('api').length === 3, 'the new replicas to pass', 10_000);
  });

  it('rolls out a new config one replica at a time and rolls back to the previous one', async (t) => {
    const { supervisor } = harness(t);
    const v1 = withCount(2, { env: { VERSION: 'one' } });
    await supervisor.start([v1]);
    assert.equal(await supervisor.rollback('api'), false, 'no previous revision yet');
    const sizes: number[] = [];
    supervisor.onUpstreamsChange(() => sizes.push(supervisor.upstreams('api').length));
    const versions = async () =>
      Promise.all(supervisor.upstreams('api').map(async (u) => (await getJson(u.port, '/')).version));

    await supervisor.rollout({ ...v1, env: { VERSION: 'two' } });
    assert.equal(supervisor.revision('api'), 2);
    assert.deepEqual(await versions(), ['two', 'two']);
    assert.deepEqual(
      supervisor.replicas('api').map((r) => r.revision),
      [2, 2],
    );

    assert.equal(await supervisor.rollback('api'), true);
    assert.equal(supervisor.revision('api'), 3);
    assert.deepEqual(await versions(), ['one', 'one']);
    assert.ok(Math.min(...sizes) >= 2, `healthy replicas during the rollouts: ${sizes.join(', ')}`);
  });

  it('abandons a rollout whose new replica never passes, keeping the old replicas', async (t) => {
    const { supervisor, of } = harness(t);
    const v1 = withCount(2, { env: { VERSION: 'one' } });
    await supervisor.start([v1]);
    const before = supervisor.replicas('api');

    await assert.rejects(supervisor.rollout({ ...v1, env: { VERSION: 'two', UNHEALTHY: '1' } }), (error) => {
      assert.ok(isRolloutError(error));
      assert.match(
        error.message,
        /^rollout of api revision 2 failed: api\/r3 did not become healthy \(HTTP 503/,
      );
      assert.match(error.message, /revision 1 keeps running$/);
      return true;
    });
    await assert.rejects(supervisor.rollout({ ...v1, env: { CRASH_AT_START: '1' } }), (error) => {
      assert.ok(isRolloutError(error));
      assert.match(error.message, /api\/r4 exited with code 1 before becoming healthy/);
      return true;
    });
    assert.equal(supervisor.revision('api'), 1);
    assert.deepEqual(supervisor.replicas('api'), before);
    assert.equal(supervisor.isCritical('api'), false, 'failed new replicas do not spend the restart budget');
    assert.equal(await supervisor.rollback('api'), false);
    assert.deepEqual(of('replica-restarting'), []);
  });
});
