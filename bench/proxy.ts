// Fault proxy benchmark: what rebound's TCP fault proxy (src/chaos/proxy.ts) costs with no toxics,
// against a direct connection to the same upstream, in one run: one large transfer (MB/s), many
// small request/answer exchanges over keep-alive connections (req/s), the round-trip latency of one
// connection (p50/p99) and a 64 KB HTTP GET, the case Toxiproxy publishes (598 µs direct, 965 µs
// through it). Goal (issue 5): under 100 µs added at p50, and at least 1 GB/s through the proxy.
// A bare node:net pipe (a 'data' listener writing to the other socket, nothing else) runs beside
// it as the floor of any relay written in Node on this machine.
//
// The upstream servers, the proxy and the bare pipe each run in their own process (this file
// started again with `--child upstream|proxy|pipe`); the load comes from this process. Cases run in
// interleaved rounds: the throughput cases measure each target in turn (the order rotates every
// round), the latency cases alternate between the targets one request at a time. Medians of the
// rounds are reported.
//
//   npm run bench -- proxy     BENCH_ROUNDS (default 3), BENCH_SECONDS (default 3, each run of
//                              small exchanges), BENCH_CONNECTIONS (default 32), BENCH_TRANSFER_MB
//                              (default 1024), BENCH_SAMPLES (default 20000 round trips),
//                              BENCH_GETS (default 2000), BENCH_CASES (e.g. 1,3: only those),
//                              BENCH_CPU_PROF=DIR (writes a --cpu-prof profile of the proxy there)

import { Agent, createServer as createHttpServer, get as httpGet } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { format as formatText } from 'node:util';
import { cpuTicks, machine, median, startChild, table } from './harness.ts';

const MESSAGE_BYTES = 64;
const HTTP_BODY = Buffer.alloc(64 * 1024, 'x');
/** What the source server writes at a time, and what the clients read into. */
const BLOCK_BYTES = 256 * 1024;

interface Ports {
  source: number;
  echo: number;
  http: number;
}

// ---------------------------------------------------------------------------------------------
// Children: each prints its ports as one JSON line, then serves until killed.

async function runChild(role: string, upstreamPorts: string | undefined): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  if (role === 'upstream') {
    announce({ source: await listen(serveSource), echo: await listen(serveEcho), http: await listenHttp() });
  } else if (role === 'proxy') {
    const upstream = JSON.parse(upstreamPorts!) as Ports;
    const { createProxyRegistry } = await import('../src/chaos/proxyRegistry.ts');
    const registry = createProxyRegistry();
    const proxied = async (name: keyof Ports): Promise<number> => {
      const view = await registry.create({
        name,
        listen: '127.0.0.1:0',
        upstream: `127.0.0.1:${upstream[name]}`,
      });
      return Number(view.listen.split(':').at(-1));
    };
    announce({ source: await proxied('source'), echo: await proxied('echo'), http: await proxied('http') });
  } else if (role === 'pipe') {
    const upstream = JSON.parse(upstreamPorts!) as Ports;
    const piped = (name: keyof Ports): Promise<number> => listen((socket) => pipe(socket, upstream[name]));
    announce({ source: await piped('source'), echo: await piped('echo'), http: await piped('http') });
  } else {
    throw new Error(`unknown child role ${role}`);
  }
}

/** The least a relay in Node does: each side's chunks written to the other, with backpressure. */
function pipe(client: Socket, upstreamPort: number): void {
  const upstream = connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
  const destroyBoth = (): void => {
    client.destroy();
    upstream.destroy();
  };
  for (const [source, destination] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    source.on('error', destroyBoth);
    source.on('end', () => destination.end());
    source.on('data', (chunk: Buffer) => {
      if (destination.write(chunk)) return;
      source.pause();
      destination.once('drain', () => source.resume());
    });
  }
}

/** Reads a byte count ending in a newline, writes that many bytes, then closes. */
function serveSource(socket: Socket): void {
  const block = Buffer.alloc(BLOCK_BYTES, 'y');
  let request = '';
  const onData = (chunk: Buffer): void => {
    request += chunk.toString('latin1');
    if (!request.includes('\n')) return;
    socket.off('data', onData);
    let remaining = Number(request.slice(0, request.indexOf('\n')));
    const pump = (): void => {
      while (remaining > 0) {
        const piece = remaining >= block.length ? block : block.subarray(0, remaining);
        remaining -= piece.length;
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  };
  socket.on('data', onData);
}

function serveEcho(socket: Socket): void {
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
}

function listen(handle: (socket: Socket) => void): Promise<number> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    handle(socket);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

function listenHttp(): Promise<number> {
  const server = createHttpServer((request, response) => {
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': HTTP_BODY.length,
    });
    response.end(HTTP_BODY);
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

function announce(ports: Ports): void {
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

// ---------------------------------------------------------------------------------------------
// The load: each function measures one case, against one port or alternating between several.

/** Streams `bytes` from the source server; bytes per second. */
async function transfer(port: number, bytes: number): Promise<number> {
  let received = 0;
  const socket = connect({
    host: '127.0.0.1',
    port,
    noDelay: true,
    onread: {
      buffer: Buffer.allocUnsafe(BLOCK_BYTES),
      callback: (length) => {
        received += length;
        return true;
      },
    },
  });
  await onceOrError(socket, 'connect');
  const start = process.hrtime.bigint();
  socket.write(`${bytes}\n`);
  await onceOrError(socket, 'end');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  socket.destroy();
  if (received !== bytes) throw new Error(`transfer got ${received} bytes of ${bytes}`);
  return bytes / seconds;
}

/** `connections` keep-alive connections each sending 64 B and waiting for the 64 B echo, for `seconds`; requests per second. */
async function exchanges(port: number, connections: number, seconds: number): Promise<number> {
  const message = Buffer.alloc(MESSAGE_BYTES, 'z');
  let completed = 0;
  let running = true;
  const sockets = await Promise.all(
    Array.from({ length: connections }, async () => {
      let pending = MESSAGE_BYTES;
      const socket: Socket = connect({
        host: '127.0.0.1',
        port,
        noDelay: true,
        onread: {
          buffer: Buffer.allocUnsafe(4096),
          callback: (length) => {
            pending -= length;
            if (pending > 0) return true;
            completed++;
            pending += MESSAGE_BYTES;
            if (running) socket.write(message);
            return true;
          },
        },
      });
      await onceOrError(socket, 'connect');
      return socket;
    }),
  );
  const start = process.hrtime.bigint();
  for (const socket of sockets) socket.write(message);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  running = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = completed / elapsed;
  for (const socket of sockets) socket.destroy();
  return rate;
}

/**
 * Sequential 64 B round trips, one connection per port, alternating between the ports one round
 * trip at a time so that every port sees the machine in the same state; each port's times in µs.
 */
async function roundTrips(ports: number[], samples: number): Promise<number[][]> {
  const message = Buffer.alloc(MESSAGE_BYTES, 'z');
  const times: number[][] = ports.map(() => []);
  let current = 0;
  let pending = MESSAGE_BYTES;
  let sent = 0n;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const send = (): void => {
    pending = MESSAGE_BYTES;
    sent = process.hrtime.bigint();
    sockets[current]!.write(message);
  };
  const sockets = ports.map((port) =>
    connect({
      host: '127.0.0.1',
      port,
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(4096),
        callback: (length) => {
          pending -= length;
          if (pending > 0) return true;
          times[current]!.push(Number(process.hrtime.bigint() - sent) / 1000);
          current = (current + 1) % ports.length;
          if (times[current]!.length >= samples) done();
          else send();
          return true;
        },
      },
    }),
  );
  await Promise.all(sockets.map((socket) => onceOrError(socket, 'connect')));
  send();
  await finished;
  for (const socket of sockets) socket.destroy();
  return times;
}

/** Sequential GETs of a 64 KB body, one keep-alive connection per port, alternating; each port's times in µs. */
async function httpGets(ports: number[], count: number): Promise<number[][]> {
  const agents = ports.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  const times: number[][] = ports.map(() => []);
  for (let i = 0; i < count; i++) {
    for (const [index, port] of ports.entries()) {
      const start = process.hrtime.bigint();
      await httpGet64k(port, agents[index]!);
      times[index]!.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  }
  for (const agent of agents) agent.destroy();
  return times;
}

function httpGet64k(port: number, agent: Agent): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request = httpGet({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
      let length = 0;
      response.on('data', (chunk: Buffer) => (length += chunk.length));
      response.on('end', () => {
        if (length === HTTP_BODY.length) resolve();
        else reject(new Error(`GET got ${length} bytes of ${HTTP_BODY.length}`));
      });
    });
    request.on('error', reject);
  });
}

function onceOrError(socket: Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.once(event, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The parent: starts the children, runs the rounds, prints the tables.

interface Target {
  name: 'direct' | 'proxy' | 'pipe';
  ports: Ports;
  /** The relay's process, whose CPU time is charged to it; none for direct. */
  pid?: number;
}

interface Result {
  value: number;
  /** The second figure of a latency case: p99 of the round trips, p50 of the GETs. */
  tail?: number;
}

/** One measurement of one case against one target, with its relay process's CPU ticks in that run. */
interface Sample extends Result {
  cpuTicks: number;
}

interface Settings {
  rounds: number;
  seconds: number;
  connections: number;
  transferBytes: number;
  samples: number;
  gets: number;
}

interface BenchCase {
  name: string;
  unit: string;
  /**
   * Measures each target, in the order given or alternating request by request; one result per
   * target. A warm-up is a shorter run whose results are dropped.
   */
  run: (targets: Ports[], settings: Settings, warmUp: boolean) => Promise<Result[]>;
}

const MB = 1e6;
const MIB = 2 ** 20;

async function inTurn(targets: Ports[], measure: (ports: Ports) => Promise<number>): Promise<Result[]> {
  const results: Result[] = [];
  for (const ports of targets) results.push({ value: await measure(ports) });
  return results;
}

const CASES: BenchCase[] = [
  {
    name: 'transfer',
    unit: 'MB/s',
    run: (targets, s, warmUp) =>
      inTurn(
        targets,
        async (ports) => (await transfer(ports.source, warmUp ? 64 * MIB : s.transferBytes)) / MB,
      ),
  },
  {
    name: 'exchanges',
    unit: 'req/s',
    run: (targets, s, warmUp) =>
      inTurn(targets, (ports) => exchanges(ports.echo, s.connections, warmUp ? 0.5 : s.seconds)),
  },
  {
    name: 'round trip',
    unit: 'µs',
    run: async (targets, s, warmUp) => {
      const times = await roundTrips(
        targets.map((ports) => ports.echo),
        warmUp ? 2000 : s.samples,
      );
      return times.map((each) => ({ value: percentile(each, 50), tail: percentile(each, 99) }));
    },
  },
  {
    name: 'GET',
    unit: 'µs',
    run: async (targets, s, warmUp) => {
      const times = await httpGets(
        targets.map((ports) => ports.http),
        warmUp ? 200 : s.gets,
      );
      return times.map((each) => ({ value: mean(each), tail: percentile(each, 50) }));
    },
  },
];

async function main(): Promise<void> {
  const settings: Settings = {
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    seconds: Number(process.env.BENCH_SECONDS ?? 3),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
    transferBytes: Number(process.env.BENCH_TRANSFER_MB ?? 1024) * MIB,
    samples: Number(process.env.BENCH_SAMPLES ?? 20_000),
    gets: Number(process.env.BENCH_GETS ?? 2000),
  };
  const stops: (() => void)[] = [];
  const stopAll = (): void => stops.forEach((stop) => stop());
  process.on('exit', stopAll);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));
  try {
    await run(settings, stops);
  } finally {
    stopAll();
  }
}

async function run(settings: Settings, stops: (() => void)[]): Promise<void> {
  const upstream = await startRole('upstream', []);
  stops.push(upstream.stop);
  const profile = process.env.BENCH_CPU_PROF;
  const upstreamPorts = JSON.stringify(upstream.ports);
  const proxy = await startRole(
    'proxy',
    profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
    upstreamPorts,
  );
  stops.push(proxy.stop);
  const bare = await startRole('pipe', [], upstreamPorts);
  stops.push(bare.stop);
  const targets: Target[] = [
    { name: 'direct', ports: upstream.ports },
    { name: 'proxy', ports: proxy.ports, pid: proxy.pid },
    { name: 'pipe', ports: bare.ports, pid: bare.pid },
  ];
  // BENCH_CASES=3,4 runs only those cases (to profile one of them).
  const only = process.env.BENCH_CASES?.split(',').map(Number);
  const cases = CASES.filter((_, index) => !only || only.includes(index + 1));

  console.log(
    `# fault proxy benchmark\n\n${machine()}\n` +
      `no toxics; ${settings.rounds} interleaved rounds, medians; ` +
      `transfer ${settings.transferBytes / MIB} MiB; ${settings.connections} connections × ` +
      `${MESSAGE_BYTES} B exchanges for ${settings.seconds} s; ${settings.samples} sequential ` +
      `${MESSAGE_BYTES} B round trips; ${settings.gets} sequential 64 KiB GETs (node:http, keep-alive)\n`,
  );
  const ports = targets.map((target) => target.ports);
  for (const benchCase of cases) await benchCase.run(ports, settings, true);
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < settings.rounds; round++) {
    // Rotate the order so no target always runs right after the same one.
    const order = targets.map((_, index) => targets[(index + round) % targets.length]!);
    for (const benchCase of cases) {
      const before = order.map((target) => cpuTicks(target.pid));
      const results = await benchCase.run(
        order.map((target) => target.ports),
        settings,
        false,
      );
      for (const [index, target] of order.entries()) {
        const sample = { ...results[index]!, cpuTicks: cpuTicks(target.pid) - before[index]! };
        const key = `${benchCase.name}/${target.name}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stderr.write(
          formatText(
            'round %d %s %s: %s %s%s\n',
            round + 1,
            benchCase.name,
            target.name,
            sample.value.toFixed(1),
            benchCase.unit,
            sample.tail === undefined ? '' : ` (${sample.tail.toFixed(1)})`,
          ),
        );
      }
    }
  }
  report(settings, samples);
}

function report(settings: Settings, samples: Map<string, Sample[]>): void {
  const pick = (name: string, target: Target['name'], field: 'value' | 'tail' = 'value'): number =>
    median((samples.get(`${name}/${target}`) ?? []).map((sample) => sample[field] ?? Number.NaN));
  /** A relay's CPU time per unit of work in µs (medians of the rounds), from ticks of 10 ms. */
  const cpu = (name: string, target: Target['name'], units: number): number =>
    (median((samples.get(`${name}/${target}`) ?? []).map((sample) => sample.cpuTicks)) * 10_000) / units;
  const signed = (value: number, digits: number): string =>
    `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

  interface Row {
    label: string;
    name: string;
    field?: 'value' | 'tail';
    show: (value: number) => string;
    /** What the proxy adds, from its figure and the direct one; by default the difference in µs. */
    added?: (proxied: number, direct: number) => string;
    /** The unit of work a relay's CPU time is divided by, and how many it did in a round. */
    cpu?: { per: string; units: (target: Target['name']) => number };
  }
  const mib = settings.transferBytes / MIB;
  const latency = (value: number): string => `${value.toFixed(1)} µs`;
  const rows: Row[] = [
    {
      label: `1. one ${mib} MiB transfer, MB/s`,
      name: 'transfer',
      show: (value) => value.toFixed(0),
      added: (proxied, direct) => `${signed(((1e6 / proxied - 1e6 / direct) * MIB) / MB, 0)} µs per MiB`,
      cpu: { per: 'MiB', units: () => mib },
    },
    {
      label: `2. ${MESSAGE_BYTES} B request / ${MESSAGE_BYTES} B answer, ${settings.connections} connections, req/s`,
      name: 'exchanges',
      show: (value) => value.toFixed(0),
      added: (proxied, direct) => `${signed(1e6 / proxied - 1e6 / direct, 1)} µs per request`,
      cpu: { per: 'request', units: (target) => pick('exchanges', target) * settings.seconds },
    },
    {
      label: '2. the same, MB/s (requests + answers)',
      name: 'exchanges',
      show: (value) => ((value * 2 * MESSAGE_BYTES) / MB).toFixed(2),
      added: () => '',
    },
    {
      label: `3. sequential ${MESSAGE_BYTES} B round trip, one connection, p50`,
      name: 'round trip',
      show: latency,
      cpu: { per: 'round trip', units: () => settings.samples },
    },
    {
      label: '3. the same, p99',
      name: 'round trip',
      field: 'tail',
      show: latency,
    },
    {
      label: '4. 64 KB HTTP GET, mean (Toxiproxy: 598 µs direct, 965 µs through it)',
      name: 'GET',
      show: latency,
      cpu: { per: 'GET', units: () => settings.gets },
    },
    {
      label: '4. the same, p50',
      name: 'GET',
      field: 'tail',
      show: latency,
    },
  ];
  console.log(
    table(
      [
        'case',
        'direct',
        'rebound proxy',
        'bare node:net pipe',
        'proxy / direct',
        'added by the proxy',
        'proxy / bare pipe',
        'CPU per unit: proxy, bare pipe',
      ],
      rows
        .filter((row) => samples.has(`${row.name}/direct`)) // a case left out by BENCH_CASES
        .map((row) => {
          const direct = pick(row.name, 'direct', row.field);
          const proxied = pick(row.name, 'proxy', row.field);
          const piped = pick(row.name, 'pipe', row.field);
          const cpuOf = (target: Target['name']): string =>
            cpu(row.name, target, row.cpu!.units(target)).toFixed(1);
          return [
            row.label,
            row.show(direct),
            row.show(proxied),
            row.show(piped),
            ratio(proxied, direct),
            row.added ? row.added(proxied, direct) : `${signed(proxied - direct, 1)} µs`,
            ratio(proxied, piped),
            row.cpu ? `${cpuOf('proxy')}, ${cpuOf('pipe')} µs per ${row.cpu.per}` : '',
          ];
        }),
    ),
  );
  const addedP50 = pick('round trip', 'proxy') - pick('round trip', 'direct');
  const throughput = (pick('transfer', 'proxy') * MB) / 1e9;
  const verdict = (value: number, met: boolean): string =>
    Number.isNaN(value) ? 'not run' : met ? 'yes' : 'no';
  console.log('\n## goals (issue 5)\n');
  console.log(
    table(
      ['goal', 'measured', 'met'],
      [
        [
          'added latency at p50 (3.) < 100 µs',
          `${signed(addedP50, 1)} µs`,
          verdict(addedP50, addedP50 < 100),
        ],
        [
          'throughput through the proxy (1.) >= 1 GB/s',
          `${throughput.toFixed(2)} GB/s`,
          verdict(throughput, throughput >= 1),
        ],
      ],
    ),
  );
}

function percentile(values: number[], percent: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * percent) / 100))] ?? Number.NaN;
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

async function startRole(
  role: string,
  nodeOptions: string[],
  upstreamPorts?: string,
): Promise<{ ports: Ports; pid: number; stop: () => void }> {
  const args = upstreamPorts ? [role, upstreamPorts] : [role];
  const child = await startChild<Ports>(import.meta.filename, args, nodeOptions);
  return { ports: child.ready, pid: child.pid, stop: child.stop };
}

// Last, so every constant above is initialised before a child or the parent starts.
const child = process.argv.indexOf('--child');
if (child >= 0) {
  await runChild(process.argv[child + 1]!, process.argv[child + 2]);
} else {
  await main();
}
