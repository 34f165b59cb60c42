// `rebound incidents` against a real API server over loopback, backed by the in-memory ControlPlane.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { capture, runCommand } from '../../test/support/cliOutput.ts';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { type ApiServer, startApiServer } from '../server/index.ts';
import { formatIncidents, incidentsCommand } from './incidents.ts';
import { main } from './main.ts';

const incidents = (...args: string[]) => runCommand(incidentsCommand, args);

let server: ApiServer;
const controlPlane = fakeControlPlane();
const TOKEN = 'secret';
before(async () => {
  server = await startApiServer({ controlPlane, host: '127.0.0.1', port: 0, token: TOKEN });
});
after(() => server.close());

describe('rebound incidents', () => {
  it('prints one line per incident: id, service, severity, status, title, opened, resolved, acked', async () => {
    const result = await incidents('--url', server.url);
    assert.equal(result.stderr, '');
    assert.equal(
      result.stdout,
      [
        'ID     SERVICE   SEVERITY  STATUS     TITLE                 OPENED                RESOLVED  ACKED',
        'inc-1  database  critical  escalated  database is critical  2025-01-01 00:00:00Z  -         -',
        '',
      ].join('\n'),
    );
    assert.equal(result.code, 0);
  });

  it('--status filters (through the API), and refuses a status that does not exist, exit 2', async () => {
    const open = await incidents('--status', 'open', '--url', server.url);
    assert.equal(open.code, 0);
    assert.equal(open.stdout, 'no open incidents\n');
    const escalated = await incidents('--status', 'escalated', '--json', '--url', server.url);
    assert.deepEqual(
      JSON.parse(escalated.stdout).incidents.map((incident: { id: string }) => incident.id),
      ['inc-1'],
    );
    const bad = await incidents('--status', 'closed', '--url', server.url);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^rebound incidents: --status must be one of open, mitigating, resolved, escalated/,
    );
  });

  it('cuts a long title in the table and shows resolved and acknowledged times', () => {
    const text = formatIncidents([
      {
        id: 'inc-2',
        service: 'api',
        severity: 'high',
        status: 'resolved',
        title: `api: ${'x'.repeat(100)}`,
        openedAt: '2025-01-01T00:00:00.000Z',
        resolvedAt: '2025-01-01T00:05:00.000Z',
        acknowledgedAt: '2025-01-01T00:01:00.000Z',
      },
    ]);
    const row = text.split('\n')[1]!;
    assert.match(row, /api: x{54}… {2}2025-01-01 00:00:00Z {2}2025-01-01 00:05:00Z {2}2025-01-01 00:01:00Z$/);
  });

  it('ack, note and resolve act on an incident with the token; a second resolve fails, exit 1', async () => {
    const unauthorized = await incidents('ack', 'inc-1', '--url', server.url);
    assert.equal(unauthorized.code, 1);
    assert.match(unauthorized.stderr, /REBOUND_TOKEN/);
    assert.deepEqual(controlPlane.calls, []);

    const ack = await incidents('ack', 'inc-1', '--url', server.url, '--token', TOKEN);
    assert.deepEqual([ack.code, ack.stdout], [0, 'inc-1: acknowledged at 2025-01-02 00:00:00Z\n']);
    const note = await incidents(
      'note',
      'inc-1',
      'database disk full',
      '--url',
      server.url,
      '--token',
      TOKEN,
    );
    assert.deepEqual([note.code, note.stdout], [0, 'inc-1: note added\n']);
    const resolve = await incidents('resolve', 'inc-1', '--json', '--url', server.url, '--token', TOKEN);
    assert.equal(resolve.code, 0);
    const resolved = JSON.parse(resolve.stdout);
    assert.equal(resolved.status, 'resolved');
    assert.deepEqual(
      resolved.timeline
        .slice(-3)
        .map((entry: { kind: string; summary: string }) => [entry.kind, entry.summary]),
      [
        ['note', 'acknowledged by an operator'],
        ['note', 'database disk full'],
        ['decision', 'status escalated → resolved: resolved by an operator'],
      ],
    );
    const again = await incidents('resolve', 'inc-1', '--url', server.url, '--token', TOKEN);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^rebound incidents: incident inc-1 is resolved already/);
    const unknown = await incidents('ack', 'inc-404', '--url', server.url, '--token', TOKEN);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no incident "inc-404"/);
    assert.deepEqual(controlPlane.calls, ['ack inc-1', 'note inc-1 database disk full', 'resolve inc-1']);
  });

  it('--help prints the usage, exit 0; missing arguments and unknown subcommands are usage errors, exit 2', async () => {
    const help = await incidents('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: rebound incidents/);
    assert.match(help.stdout, /rebound incidents ack ID/);
    assert.match(help.stdout, /REBOUND_TOKEN/);
    const ackHelp = await incidents('ack', '--help');
    assert.equal(ackHelp.code, 0);
    for (const args of [
      ['ack'],
      ['resolve', 'a', 'b'],
      ['note', 'inc-1'],
      ['close', 'inc-1'],
      ['--verbose'],
    ]) {
      const result = await incidents(...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^rebound incidents: /);
    }
  });

  it('is a command of `rebound`', async () => {
    const { out, output } = capture();
    assert.equal(await main(['--help'], output), 0);
    assert.match(out.stdout, /\n {2}incidents +list the incidents/);
  });
});
