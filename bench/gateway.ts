// Gateway benchmark: requests/s and p50/p99 latency of a small HTTP answer, direct to the upstream,
// through rebound's gateway, through nginx `proxy_pass` (one worker, keep-alive upstream) and
// through a naive node:http proxy, measured with wrk in interleaved rounds (medians reported).
// Goal (issue 4): the gateway's throughput >= nginx's, with a p99 within 2 ms of nginx's.
//
// Each server runs in its own process: the upstream and the gateway are this file started again
// with `--child upstream|gateway|naive`, so nothing shares an event loop with anything else.
//
//   npm run bench -- gateway           BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5),
//                                      BENCH_CONNECTIONS (default 32), BENCH_GATEWAY_THREADS (default 1:
//                                      more runs that many gateways in worker threads on one port)

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, Agent } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { format as formatText } from 'node:util';
import { cpuTicks, machine, median, startChild, stopProcess, table } from './harness.ts';

const WRK = '/usr/bin/wrk';
const NGINX = '/usr/sbin/nginx';
const BODY = Buffer.from('{"ok":true,"service":"bench","items":[1,2,3]}');

const child = process.argv.indexOf('--child');
if (child >= 0) {
  await runChild(process.argv[child + 1]!, Number(process.argv[child + 2] ?? 0));
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// Children: each prints its port as one JSON line, then serves until killed.

async function runChild(role: string, upstreamPort: number): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  if (role === 'upstream') {
    const server = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      response.end(BODY);
    });
    server.keepAliveTimeout = 65_000;
    server.listen(0, '127.0.0.1', () => announce((server.address() as { port: number }).port));
  } else if (role === 'gateway') {
    const port = await startBenchGateway(upstreamPort, 0);
    // BENCH_GATEWAY_THREADS > 1: more gateways in worker threads on the same port (SO_REUSEPORT).
    const threads = Number(process.env.BENCH_GATEWAY_THREADS ?? 1);
    const { Worker } = await import('node:worker_threads');
    await Promise.all(
      Array.from({ length: threads - 1 }, async () => {
        const worker = new Worker(import.meta.filename, {
          argv: ['--child', 'gateway-thread', String(upstreamPort), String(port)],
          execArgv: ['--conditions=source'],
        });
        await once(worker, 'message');
      }),
    );
    announce(port);
  } else if (role === 'gateway-thread') {
    await startBenchGateway(upstreamPort, Number(process.argv[child + 3]));
    const { parentPort } = await import('node:worker_threads');
    parentPort!.postMessage('listening');
  } else if (role === 'naive') {
    // What a first attempt usually looks like: http.request per request over a keep-alive agent.
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    const server = createServer((request, response) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: upstreamPort,
          path: request.url,
          method: request.method,
          headers: request.headers,
          agent,
        },
        (answer) => {
          response.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(response);
        },
      );
      outgoing.on('error', () => {
        response.statusCode = 502;
        response.end();
      });
      request.pipe(outgoing);
    });
    server.keepAliveTimeout = 65_000;
    server.listen(0, '127.0.0.1', () => announce((server.address() as { port: number }).port));
  } else {
    throw new Error(`unknown child role ${role}`);
  }
}

async function startBenchGateway(upstreamPort: number, port: number): Promise<number> {
  const { startGateway } = await import('../src/healing/gateway.ts');
  const gateway = await startGateway({
    service: 'bench',
    host: '127.0.0.1',
    port,
    balance: 'least-loaded',
    timeoutMs: 30_000,
    breaker: {
      trip: { kind: 'consecutive', failures: 5 },
      openMs: 5_000,
      openBackoff: undefined,
      halfOpen: { maxCalls: 1, successes: 1 },
      slowCall: undefined,
    },
    fallback: undefined,
    reusePort: Number(process.env.BENCH_GATEWAY_THREADS ?? 1) > 1,
  });
  gateway.setUpstreams([{ id: 'bench-1', host: '127.0.0.1', port: upstreamPort }]);
  return gateway.address.port;
}

function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

// ---------------------------------------------------------------------------------------------
// The parent: starts everything, runs wrk, prints the tables.

interface Server {
  name: string;
  port: number;
  /** The process whose CPU time is charged to this contender (nginx: its worker). */
  pid: number;
  stop: () => void;
}

interface Sample {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  cpuMicrosPerRequest: number;
}

async function main(): Promise<void> {
  const missing = [WRK, NGINX].filter((path) => !existsSync(path));
  if (missing.length > 0) {
    console.error(
      `missing ${missing.join(' and ')}: install them with\n  sudo apt-get install wrk nginx-light`,
    );
    process.exit(1);
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const servers: Server[] = [];
  const stopAll = () => {
    for (const server of servers) server.stop();
  };
  process.on('exit', stopAll);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));

  try {
    const upstream = await startServer('direct', 'upstream', 0);
    servers.push(upstream);
    servers.push(await startServer('rebound gateway', 'gateway', upstream.port));
    servers.push(startNginx(upstream.port));
    servers.push(await startServer('naive node:http proxy', 'naive', upstream.port));
    for (const server of servers) await waitUntilAnswering(server.port);

    console.log(
      `# gateway benchmark\n\n${machine()}; ${wrkVersion()}; ${nginxVersion()}\n` +
        `wrk -t1 -c${connections} -d${seconds}s --latency, a ${BODY.length}-byte JSON answer; ` +
        `${rounds} interleaved rounds, medians; gateway threads: ${process.env.BENCH_GATEWAY_THREADS ?? 1}\n`,
    );
    for (const server of servers) wrk(server.port, Math.min(2, seconds), connections); // warm up
    const samples = new Map<string, Sample[]>(servers.map((server) => [server.name, []]));
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so no contender always runs right after the same one.
      const order = servers.map((_, index) => servers[(index + round) % servers.length]!);
      for (const server of order) {
        const before = cpuTicks(server.pid);
        const sample = wrk(server.port, seconds, connections);
        const ticks = cpuTicks(server.pid) - before;
        sample.cpuMicrosPerRequest = (ticks * 10_000) / (sample.requestsPerSecond * seconds);
        samples.get(server.name)!.push(sample);
        process.stderr.write(
          formatText(
            'round %d %s: %d req/s, p50 %s, p99 %s\n',
            round + 1,
            server.name,
            Math.round(sample.requestsPerSecond),
            ms(sample.p50),
            ms(sample.p99),
          ),
        );
      }
    }
    report(servers, samples);
  } finally {
    stopAll();
  }
}

function report(servers: Server[], samples: Map<string, Sample[]>): void {
  const medians = new Map(
    servers.map((server) => {
      const list = samples.get(server.name)!;
      return [
        server.name,
        {
          requestsPerSecond: median(list.map((s) => s.requestsPerSecond)),
          p50: median(list.map((s) => s.p50)),
          p99: median(list.map((s) => s.p99)),
          errors: list.reduce((sum, s) => sum + s.errors, 0),
          cpuMicrosPerRequest: median(list.map((s) => s.cpuMicrosPerRequest)),
        },
      ] as const;
    }),
  );
  console.log(
    table(
      ['target', 'req/s', 'p50', 'p99', 'errors', 'CPU µs/request (that process)'],
      servers.map((server) => {
        const m = medians.get(server.name)!;
        return [
          server.name,
          Math.round(m.requestsPerSecond),
          ms(m.p50),
          ms(m.p99),
          m.errors,
          m.cpuMicrosPerRequest.toFixed(1),
        ];
      }),
    ),
  );
  const gateway = medians.get('rebound gateway')!;
  const nginx = medians.get('nginx proxy_pass')!;
  const naive = medians.get('naive node:http proxy')!;
  const throughputRatio = gateway.requestsPerSecond / nginx.requestsPerSecond;
  const p99Gap = gateway.p99 - nginx.p99;
  console.log('\n## gateway vs nginx (medians)\n');
  console.log(
    table(
      ['comparison', 'measured', 'goal', 'met'],
      [
        [
          'throughput: gateway / nginx',
          `${throughputRatio.toFixed(2)}x`,
          '>= 1x',
          throughputRatio >= 1 ? 'yes' : 'no',
        ],
        [
          'p99: gateway - nginx',
          `${p99Gap >= 0 ? '+' : ''}${p99Gap.toFixed(2)} ms`,
          '<= +2 ms',
          p99Gap <= 2 ? 'yes' : 'no',
        ],
        ['p50: gateway / nginx', `${(gateway.p50 / nginx.p50).toFixed(2)}x`, '', ''],
        [
          'throughput: naive node proxy / nginx',
          `${(naive.requestsPerSecond / nginx.requestsPerSecond).toFixed(2)}x`,
          '',
          '',
        ],
        [
          'throughput: gateway / naive node proxy',
          `${(gateway.requestsPerSecond / naive.requestsPerSecond).toFixed(2)}x`,
          '',
          '',
        ],
      ],
    ),
  );
}

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

async function startServer(name: string, role: string, upstreamPort: number): Promise<Server> {
  const child = await startChild<{ port: number }>(import.meta.filename, [role, String(upstreamPort)]);
  return { name, port: child.ready.port, pid: child.pid, stop: child.stop };
}

function startNginx(upstreamPort: number): Server {
  const directory = mkdtempSync(join(tmpdir(), 'rebound-bench-nginx-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const runAs = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : '';
  const config = `${runAs}worker_processes 1;
daemon off;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${directory}/body;
  proxy_temp_path ${directory}/proxy;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  upstream bench { server 127.0.0.1:${upstreamPort}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const file = join(directory, 'nginx.conf');
  writeFileSync(file, config);
  const master = spawn(NGINX, ['-c', file, '-p', directory, '-e', join(directory, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return {
    name: 'nginx proxy_pass',
    port,
    get pid() {
      return nginxWorker(master.pid!);
    },
    stop: () => {
      stopProcess(master);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** nginx's one worker process (its CPU time is what serves requests). */
function nginxWorker(masterPid: number): number {
  try {
    const children = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8')
      .trim()
      .split(/\s+/);
    return Number(children[0]) || masterPid;
  } catch {
    return masterPid;
  }
}

async function waitUntilAnswering(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      });
      outgoing.on('error', () => resolve(false));
      outgoing.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answers 200 on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function wrk(port: number, seconds: number, connections: number): Sample {
  const output = execFileSync(
    WRK,
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`],
    { encoding: 'utf8' },
  );
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? Number.NaN);
  const latency = (percent: string) => {
    const match = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
    if (!match) return Number.NaN;
    const value = Number(match[1]);
    return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    p50: latency('50'),
    p99: latency('99'),
    errors:
      (number(/Non-2xx or 3xx responses: (\d+)/) || 0) +
      (socketErrors ? socketErrors.slice(1).reduce((sum, value) => sum + Number(value), 0) : 0),
    cpuMicrosPerRequest: 0,
  };
}

function wrkVersion(): string {
  const { stdout } = spawnSync(WRK, ['-v'], { encoding: 'utf8' });
  return (stdout.split('\n')[0] ?? '').replace(/ Copyright.*/, '').trim() || 'wrk';
}

function nginxVersion(): string {
  const { stderr } = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  return stderr.trim() || 'nginx';
}
