// `rebound chaos`: the proxy subcommand serves the Toxiproxy API until a signal; run and stop refuse
// bad input before calling anything.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { capture } from '../../test/support/cliOutput.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chaosCommand } from './chaos.ts';
import { until } from '../../test/support/waiting.ts';

describe('rebound chaos', () => {
  it('proxy serves the Toxiproxy API until SIGTERM, then exits 0', async () => {
    const { out, output } = capture();
    const exit = chaosCommand.run(['proxy', '--host', '127.0.0.1', '--port', '0'], output);
    await until(() => out.stdout.includes('http://'), 'the API address', 5000);
    const url = /http:\/\/\S+/.exec(out.stdout)?.[0] as string;
    const created = await fetch(`${url}/proxies`, {
      method: 'POST',
      body: JSON.stringify({ name: 'db', listen: '127.0.0.1:0', upstream: '127.0.0.1:5432' }),
    });
    assert.equal(created.status, 201);
    const version = (await fetch(`${url}/version`).then((response) => response.json())) as {
      version: string;
    };
    assert.match(version.version, /^\d+\.\d+\.\d+$/);
    process.emit('SIGTERM');
    assert.equal(await exit, 0);
    assert.match(out.stdout, /stopped/);
    await assert.rejects(fetch(`${url}/version`));
  });

  it("run wants one FILE (exit 2) and lists an invalid one's problems without starting (exit 1)", async () => {
    const missing = capture();
    assert.equal(await chaosCommand.run(['run'], missing.output), 2);
    assert.match(missing.out.stderr, /expected one FILE, got 0/);

    const directory = mkdtempSync(join(tmpdir(), 'rebound-chaos-cli-'));
    const file = join(directory, 'bad.yaml');
    writeFileSync(file, 'title: no target\nmethod: []\n');
    const invalid = capture();
    // The URL is never called: nothing is sent for an invalid experiment.
    assert.equal(await chaosCommand.run(['run', file, '--api', 'http://127.0.0.1:9'], invalid.output), 1);
    assert.match(invalid.out.stderr, /target/);
    assert.match(invalid.out.stderr, /is invalid; nothing was started/);
    rmSync(directory, { recursive: true, force: true });
  });

  it('run refuses a rollback action the control plane does not have, before sending anything', async () => {
    let requests = 0;
    const api = createServer((_request, response) => {
      requests++;
      response.statusCode = 500;
      response.end();
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    const { port } = api.address() as { port: number };
    const directory = mkdtempSync(join(tmpdir(), 'rebound-chaos-cli-'));
    const file = join(directory, 'rollback.yaml');
    writeFileSync(
      file,
      'title: t\ntarget: api\nmethod: [{ wait: 10 }]\nrollbacks: [restart-service, reboot-datacenter]\n',
    );
    try {
      const { out, output } = capture();
      assert.equal(await chaosCommand.run(['run', file, '--api', `http://127.0.0.1:${port}`], output), 1);
      assert.match(
        out.stderr,
        /rollbacks\.1: unknown action "reboot-datacenter", expected one of restart-service/,
      );
      assert.match(out.stderr, /is invalid; nothing was started/);
      assert.equal(requests, 0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
      await new Promise((resolve) => api.close(resolve));
    }
  });

  it('stop says so when no rebound up answers (exit 1)', async () => {
    const { out, output } = capture();
    assert.equal(await chaosCommand.run(['stop', '--url', 'http://127.0.0.1:9'], output), 1);
    assert.match(out.stderr, /cannot reach rebound/);
  });

  it('refuses a missing or unknown subcommand and a bad port with exit 2', async () => {
    for (const args of [[], ['explode'], ['proxy', '--port', 'eighty'], ['proxy', '--bogus']]) {
      const { out, output } = capture();
      assert.equal(await chaosCommand.run(args, output), 2, args.join(' '));
      assert.notEqual(out.stderr, '');
    }
  });

  it('prints its help with exit 0', async () => {
    const { out, output } = capture();
    assert.equal(await chaosCommand.run(['--help'], output), 0);
    assert.match(out.stdout, /rebound chaos proxy|proxy \[--host HOST\]/);
  });
});
