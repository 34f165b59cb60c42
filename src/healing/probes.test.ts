import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HealthProbe } from './configTypes.ts';
import { freePort, isAlive } from './processes.ts';
import { probe } from './probes.ts';

const FIXTURE = resolve(import.meta.dirname, '../../test/fixtures/http-service.js');
const HOST = '127.0.0.1';

const http = (overrides: Partial<Extract<HealthProbe, { kind: 'http' }>> = {}): HealthProbe => ({
  kind: 'http',
  path: '/health',
  timeoutMs: 1_000,
  expectStatus: [200, 399],
  expectJson: undefined,
  ...overrides,
});

/** Starts the fixture service and resolves once it listens. */
async function startService(
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort(HOST);
  const child = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, PORT: String(port), HOST, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((done, fail) => {
    child.once('exit', (code) => fail(new Error(`fixture exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) done();
    });
  });
  children.push(child);
  return { child, port };
}

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

async function get(port: number, path: string): Promise<void> {
  const response = await fetch(`http://${HOST}:${port}${path}`);
  await response.arrayBuffer();
}

describe('probe: http', () => {
  it('passes on a 2xx /health and says the status', async () => {
    const { port } = await startService();
    const result = await probe(http(), { host: HOST, port });
    assert.equal(result.ok, true);
    assert.equal(result.detail, 'HTTP 200');
    assert.ok(result.durationMs >= 0 && result.durationMs < 1_000);
  });

  it('fails on a status outside expectStatus', async () => {
    const { port } = await startService({ UNHEALTHY: '1' });
    const result = await probe(http(), { host: HOST, port });
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'HTTP 503 (expected 200-399)');
    const exact = await probe(http({ expectStatus: [503, 503] }), { host: HOST, port });
    assert.equal(exact.ok, true);
  });

  it('checks the top-level JSON fields of expectJson', async () => {
    const { port } = await startService({ VERSION: '7' });
    const matching = await probe(http({ expectJson: { status: 'ok', version: '7' } }), { host: HOST, port });
    assert.equal(matching.ok, true);
    const wrong = await probe(http({ expectJson: { status: 'up' } }), { host: HOST, port });
    assert.equal(wrong.ok, false);
    assert.equal(wrong.detail, 'body field status is "ok", expected "up"');
    const missing = await probe(http({ expectJson: { ready: true } }), { host: HOST, port });
    assert.equal(missing.detail, 'body field ready is missing, expected true');
    const notJson = await probe(
      http({ path: '/nothing-here', expectStatus: [404, 404], expectJson: { a: 1 } }),
      {
        host: HOST,
        port,
      },
    );
    assert.equal(notJson.ok, false);
    assert.match(notJson.detail, /body field a is missing/);
  });

  it('fails at once when nothing listens', async () => {
    const port = await freePort(HOST);
    const result = await probe(http(), { host: HOST, port });
    assert.equal(result.ok, false);
    assert.match(result.detail, /ECONNREFUSED/);
    assert.ok(result.durationMs < 500, `took ${result.durationMs} ms`);
  });

  it('times out on a SIGSTOPped process, which still accepts connections', async () => {
    const { child, port } = await startService();
    await get(port, '/freeze');
    // The kernel completes the handshake from the listen backlog, so only the timeout can tell.
    const tcp = await probe({ kind: 'tcp', timeoutMs: 1_000 }, { host: HOST, port });
    assert.equal(tcp.ok, true, 'a tcp probe cannot see a stopped process');
    const result = await probe(http({ timeoutMs: 200 }), { host: HOST, port });
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'timed out after 200 ms');
    assert.ok(result.durationMs >= 190 && result.durationMs < 2_000, `took ${result.durationMs} ms`);
    child.kill('SIGKILL');
  });

  it('answers "aborted" when the signal aborts', async () => {
    const { port } = await startService();
    const controller = new AbortController();
    const pending = probe(http({ path: '/slow?ms=2000' }), { host: HOST, port }, controller.signal);
    setTimeout(() => controller.abort(), 20);
    const result = await pending;
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'aborted');
    assert.ok(result.durationMs < 1_000);
    const already = await probe(http(), { host: HOST, port }, AbortSignal.abort());
    assert.equal(already.detail, 'aborted');
  });
});

describe('probe: tcp', () => {
  it('passes when a connection is accepted and fails when refused', async () => {
    const { port } = await startService();
    const ok = await probe({ kind: 'tcp', timeoutMs: 500 }, { host: HOST, port });
    assert.deepEqual([ok.ok, ok.detail], [true, `connected to ${HOST}:${port}`]);
    const closed = await freePort(HOST);
    const refused = await probe({ kind: 'tcp', timeoutMs: 500 }, { host: HOST, port: closed });
    assert.equal(refused.ok, false);
    assert.match(refused.detail, /ECONNREFUSED/);
  });
});

describe('probe: exec', () => {
  const exec = (script: string, timeoutMs = 2_000): HealthProbe => ({
    kind: 'exec',
    command: `node -e ${script}`,
    argv: [process.execPath, '-e', script],
    timeoutMs,
  });

  it('passes on exit 0, with PORT, HOST and the service env set and no shell involved', async () => {
    const script =
      'process.exit(process.env.PORT === "4321" && process.env.HOST === "127.0.0.1" && process.env.MODE === "$HOME" ? 0 : 3)';
    const result = await probe(exec(script), { host: HOST, port: 4321, env: { MODE: '$HOME' } });
    assert.deepEqual([result.ok, result.detail], [true, 'exit 0']);
  });

  it('fails on another exit code and quotes what the command said', async () => {
    const result = await probe(exec('console.error("disk full"); process.exit(2)'), { host: HOST, port: 1 });
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'exit 2: "disk full"');
  });

  it('runs in the given directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebound-probe-'));
    try {
      const result = await probe(exec('process.exit(process.cwd() === process.env.WANT ? 0 : 1)'), {
        host: HOST,
        port: 1,
        cwd: dir,
        env: { WANT: dir },
      });
      assert.equal(result.ok, true, result.detail);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kills a command that outlives its timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebound-probe-'));
    const pidFile = join(dir, 'pid');
    try {
      const script = `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
      const result = await probe(exec(script, 300), { host: HOST, port: 1 });
      assert.equal(result.ok, false);
      assert.equal(result.detail, 'timed out after 300 ms');
      assert.ok(existsSync(pidFile), 'the command ran');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      const deadline = Date.now() + 2_000;
      while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(isAlive(pid), false, 'the timed-out command was killed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails when the program does not exist', async () => {
    const result = await probe(
      { kind: 'exec', command: 'no-such-program', argv: ['/nonexistent/no-such-program'], timeoutMs: 1_000 },
      { host: HOST, port: 1 },
    );
    assert.equal(result.ok, false);
    assert.match(result.detail, /ENOENT/);
  });
});
