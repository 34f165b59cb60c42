// `rebound validate FILE` run as a user runs it: bin/rebound.js in a child process.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'rebound-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rebound(...args: string[]) {
  const result = spawnSync(process.execPath, [join(root, 'bin', 'rebound.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('rebound validate', () => {
  it('accepts the demo config: exit 0 and a one-line summary', () => {
    const result = rebound('validate', 'examples/demo/rebound.yaml');
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 'examples/demo/rebound.yaml: valid (5 services, 5 policies)\n');
    assert.equal(result.code, 0);
  });

  it('lists every problem of a bad file as file:line:col path: message, exit 1', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `services:
  payment-api:
    command: node service.js
    replicas: { count: -1 }
    gateway: { port: 8080 }
policies:
  - name: P
    when: [{ metric: latency_p99, op: gt, value: 500 }]
    do: [reboot]
`,
    );
    const result = rebound('validate', file);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      `${file}:4:24 services.payment-api.replicas.count: must be >= 0, got -1`,
      `${file}:5:22 services.payment-api.gateway.port: port 8080 is already used by server.port`,
      `${file}:9:10 policies.0.do.0: unknown action "reboot", expected one of restart-service, scale-up, scale-down, enable-circuit-breaker, fallback-mode, failover, rollback-deployment, alert-oncall, exec`,
      `${file}: invalid (3 problems)`,
    ]);
  });

  it('--json prints the problems as data', () => {
    const file = join(dir, 'json.yaml');
    writeFileSync(file, 'services:\n  api: { command: x, replicas: { count: 1.5 } }\n');
    const result = rebound('validate', '--json', file);
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout), {
      valid: false,
      problems: [
        { path: 'services.api.replicas.count', line: 2, column: 41, message: 'must be an integer, got 1.5' },
      ],
    });
  });

  it('checks the experiment files of chaos.schedules, read next to the config file, exit 1', () => {
    const experiments = join(dir, 'experiments');
    mkdirSync(experiments);
    writeFileSync(
      join(experiments, 'boom.yaml'),
      'title: boom\ntarget: api\nmethod: [{ fault: { boom: {} } }]\n',
    );
    writeFileSync(
      join(experiments, 'ok.yaml'),
      'title: ok\ntarget: api\nmethod: [{ fault: { kill: {} } }]\n',
    );
    const file = join(dir, 'scheduled.yaml');
    writeFileSync(
      file,
      `services:
  api: { command: node server.js }
chaos:
  schedules:
    - { experiment: experiments/ok.yaml, cron: "0 3 * * 1-5", timezone: UTC }
    - { experiment: experiments/boom.yaml, every: 3600000 }
`,
    );
    const result = rebound('validate', file);
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      `${file}:6:21 chaos.schedules.1.experiment: experiments/boom.yaml: method.0.fault.boom: is not a known fault, expected one of kill, pause, latency, http-error, fail-first, down, bandwidth, reset-peer, cpu, memory`,
      `${file}: invalid (1 problem)`,
    ]);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('experiments/boom.yaml', 'experiments/ok.yaml, name: hourly'),
    );
    const fixed = rebound('validate', file);
    assert.equal(fixed.stderr, '');
    assert.equal(fixed.stdout, `${file}: valid (1 service, 0 policies)\n`);
    assert.equal(fixed.code, 0);
  });

  it('reports an unreadable file clearly, exit 1', () => {
    const missing = join(dir, 'nope.yaml');
    const result = rebound('validate', missing);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^${missing}:1:1 cannot read the file \\(ENOENT\\)$`, 'm'));
  });

  it('without FILE or with an unknown option: usage on stderr, exit 2', () => {
    const none = rebound('validate');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: rebound validate FILE/);
    const unknown = rebound('validate', '--frobnicate', 'x.yaml');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--frobnicate/);
  });

  it('validate --help prints its usage, exit 0', () => {
    const result = rebound('validate', '--help');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: rebound validate FILE/);
  });
});

describe('rebound', () => {
  it('--help lists the commands, exit 0', () => {
    const result = rebound('--help');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: rebound <command> \[args\]/);
    assert.match(result.stdout, /^ {2}validate {2}/m);
  });

  it('an unknown command prints usage on stderr, exit 2', () => {
    const result = rebound('frobnicate');
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^rebound: unknown command "frobnicate"/);
    assert.match(result.stderr, /Usage: rebound <command>/);
  });

  it('no command at all: usage on stderr, exit 2', () => {
    const result = rebound();
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Usage: rebound <command>/);
  });

  it('--version prints the package version', () => {
    const result = rebound('--version');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+/);
  });
});
