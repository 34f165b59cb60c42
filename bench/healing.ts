// Healing benchmark: how fast `rebound up`'s control plane replaces a replica killed with SIGKILL
// (until the replacement answers) and one frozen with SIGSTOP (found by its probe, then replaced),
// while steady traffic through the gateway counts every failed request. Side by side, in the same
// run: the floor (spawning the same service until it answers, with no supervisor at all) and what
// systemd (RestartSec 100 ms) and Kubernetes (liveness 10 s × 3, restart back-off 10 s) would take
// on top of that floor with their defaults.

import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseConfig, startControlPlane } from 'rebound/healing';
import { openStore } from 'rebound/store';
import { machine, table } from './harness.ts';

const KILLS = Number(process.env.BENCH_KILLS ?? 20);
const HANGS = Number(process.env.BENCH_HANGS ?? 5);
const root = join(import.meta.dirname, '..');
const service = join(root, 'examples/demo/service.js');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function get(port: number): Promise<number> {
  return new Promise((resolve) => {
    const call = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    call.on('timeout', () => call.destroy());
    call.on('error', () => resolve(0));
    call.end();
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p + 0.5))]!;
}

const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(0)} ms`);

/** The floor: spawn the service and poll until it answers, with nothing else involved. */
async function spawnToServing(port: number): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [service], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'ignore',
  });
  while ((await get(port)) !== 200) await sleep(1);
  const elapsed = performance.now() - started;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return elapsed;
}

const gatewayPort = 19_100 + Math.floor(Math.random() * 500);
const config = parseConfig(`
server: { port: 0 }
services:
  web:
    command: ${process.execPath} ${service}
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    # The demo's probe: faster than Kubernetes' default so a hang is found in seconds.
    health: { http: { path: /health, timeoutMs: 500 }, intervalMs: 1000, failureThreshold: 3 }
    # Room for every kill of the run (the default budget, 5 restarts in 10 min, would declare the
    # service critical after the fifth).
    restart: { maxRestarts: 1000 }
    stopGraceMs: 2000
policies: []
`);

// The floor first, before the control plane and the traffic run, on a quiet machine.
const floor: number[] = [];
for (let i = 0; i < 7; i++) floor.push(await spawnToServing(gatewayPort + 600));

const store = await openStore('memory:');
const plane = await startControlPlane({ config, store, log: process.env.BENCH_LOG ? console.log : () => {} });
const replicas = () => plane.service('web').replicas;
const healthyCount = () => replicas().filter((replica) => replica.state === 'healthy').length;
while (healthyCount() < 2) await sleep(5);

// Steady traffic through the gateway for the whole run: two loops, every failure counted.
const traffic = { ok: 0, failed: 0 };
let sending = true;
const loop = async () => {
  while (sending) {
    if ((await get(gatewayPort)) === 200) traffic.ok++;
    else traffic.failed++;
    await sleep(2);
  }
};
const loops = [loop(), loop()];

/** Waits until replica `id` runs a pid other than `pid` and answers on its own port; ms since `from`. */
async function replaced(id: string, pid: number, from: number, timeoutMs: number): Promise<number> {
  const deadline = from + timeoutMs;
  for (;;) {
    const replica = replicas().find((candidate) => candidate.id === id);
    if (
      replica?.pid &&
      replica.pid !== pid &&
      replica.state === 'healthy' &&
      (await get(replica.port)) === 200
    ) {
      return performance.now() - from;
    }
    if (performance.now() > deadline) {
      throw new Error(`replica ${id} not replaced within ${timeoutMs} ms: ${JSON.stringify(replicas())}`);
    }
    await sleep(1);
  }
}

const kills: number[] = [];
for (let i = 0; i < KILLS; i++) {
  const victim = replicas()[i % 2]!;
  const started = performance.now();
  process.kill(victim.pid!, 'SIGKILL');
  kills.push(await replaced(victim.id, victim.pid!, started, 10_000));
  // Past PM2's min_uptime (1 s), so that the next kill of this replica is a crash, not a crash loop.
  await sleep(1100);
}

const duringKills = { ...traffic };
const hangs: number[] = [];
for (let i = 0; i < HANGS; i++) {
  const victim = replicas()[i % 2]!;
  const started = performance.now();
  process.kill(victim.pid!, 'SIGSTOP');
  hangs.push(await replaced(victim.id, victim.pid!, started, 30_000));
  await sleep(1100);
}

sending = false;
await Promise.all(loops);
await plane.close();
await store.close();

const floorMedian = percentile(floor, 0.5);
console.log(`# Healing: ${machine()}`);
console.log(`${KILLS} SIGKILLs and ${HANGS} SIGSTOPs of one of 2 replicas of examples/demo/service.js\n`);
console.log(
  table(
    ['', 'median', 'p95', 'note'],
    [
      [
        'spawn → serving, no supervisor (floor)',
        ms(floorMedian),
        ms(percentile(floor, 0.95)),
        'Node start-up of the service',
      ],
      [
        'rebound: SIGKILL → replacement serving',
        ms(percentile(kills, 0.5)),
        ms(percentile(kills, 0.95)),
        'goal: median < 150 ms',
      ],
      ['systemd Restart=always, RestartSec 100 ms', `≈ ${ms(100 + floorMedian)}`, '', '100 ms + floor'],
      [
        'Kubernetes restart of a crashed container',
        `≈ ${ms(floorMedian)} to 10 s`,
        '',
        'first restart at once, then 10 s back-off doubling',
      ],
      [
        'rebound: SIGSTOP → replacement serving',
        ms(percentile(hangs, 0.5)),
        ms(percentile(hangs, 0.95)),
        'probe every 1 s, 3 misses of 500 ms',
      ],
      [
        'Kubernetes liveness defaults (10 s × 3)',
        `≈ ${ms(30_000 + floorMedian)}`,
        '',
        'period 10 s, failureThreshold 3',
      ],
    ],
  ),
);
const duringHangs = { ok: traffic.ok - duringKills.ok, failed: traffic.failed - duringKills.failed };
console.log(
  `\nrequests through the gateway during the kills: ${duringKills.ok + duringKills.failed}, failed: ${duringKills.failed} (goal: 0)`,
);
console.log(
  `during the hangs: ${duringHangs.ok + duringHangs.failed}, failed: ${duringHangs.failed} ` +
    '(a request sent to a replica just before it froze waits for it; the client gives up after 5 s)',
);
