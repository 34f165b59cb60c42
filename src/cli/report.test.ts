// `rebound report` against a real API server over loopback, backed by the in-memory ControlPlane.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../test/support/cliOutput.ts';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { freePort } from '../healing/processes.ts';
import { type ApiServer, startApiServer } from '../server/index.ts';
import { reportCommand } from './report.ts';

const report = (...args: string[]) => runCommand(reportCommand, args);

let server: ApiServer;
const directory = mkdtempSync(join(tmpdir(), 'rebound-report-'));
before(async () => {
  server = await startApiServer({
    controlPlane: fakeControlPlane(),
    host: '127.0.0.1',
    port: 0,
    token: 'secret',
  });
});
after(async () => {
  await server.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('rebound report', () => {
  it('prints the Markdown with its charts embedded when no --out is given', async () => {
    const result = await report('--url', server.url);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^# Reliability report\n/);
    assert.match(result.stdout, /## Runbook\n/);
    assert.match(result.stdout, /!\[Recovery time per experiment run\]\(data:image\/svg\+xml;base64,/);
  });

  it('--out FILE writes the report and its SVG charts beside it, linked relatively', async () => {
    const file = join(directory, 'weekly.md');
    const result = await report('--out', file, '--url', server.url);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    const charts = join(directory, 'weekly-charts');
    assert.equal(result.stdout, `wrote ${file} (2 charts in ${charts})\n`);
    const markdown = readFileSync(file, 'utf8');
    assert.match(markdown, /^# Reliability report\n/);
    assert.ok(markdown.includes('](weekly-charts/recovery-times.svg)'));
    assert.ok(markdown.includes('](weekly-charts/incident-resolution.svg)'));
    assert.deepEqual(readdirSync(charts).sort(), ['incident-resolution.svg', 'recovery-times.svg']);
    assert.match(
      readFileSync(join(charts, 'recovery-times.svg'), 'utf8'),
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
    );
  });

  it('creates the folders of --out, and a name without extension gets <name>-charts', async () => {
    const file = join(directory, 'nested', 'deeper', 'report');
    const result = await report('--out', file, '--url', server.url);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(file));
    assert.ok(existsSync(join(directory, 'nested', 'deeper', 'report-charts', 'recovery-times.svg')));
  });

  it('says so and exits 1 when the files cannot be written', async () => {
    // The charts folder's name is taken by a file: the folder cannot be made.
    writeFileSync(join(directory, 'blocked-charts'), 'a file');
    const result = await report('--out', join(directory, 'blocked.md'), '--url', server.url);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^rebound report: cannot write .*blocked\.md \((EEXIST|ENOTDIR)\)\n$/);
    assert.equal(existsSync(join(directory, 'blocked.md')), false);
  });

  it('says clearly when rebound is not running, exit 1, as rebound status does', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const file = join(directory, 'never.md');
    const result = await report('--out', file, '--url', deadUrl);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `rebound report: cannot reach rebound at ${deadUrl}: is \`rebound up\` running?\n`,
    );
    assert.equal(existsSync(file), false, 'nothing written');
  });

  it('--help prints the usage, exit 0; an unknown option or an argument is a usage error, exit 2', async () => {
    const help = await report('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: rebound report \[--out FILE\]/);
    assert.match(help.stdout, /-charts\//);
    const unknown = await report('--format', 'html');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^rebound report: Unknown option '--format'/);
    const extra = await report('payment-api');
    assert.equal(extra.code, 2);
  });
});
