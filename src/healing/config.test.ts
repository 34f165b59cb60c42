import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CIRCUIT_BREAKER_DEFAULTS, isReboundError } from '../policies/index.ts';
import {
  CONFIG_DEFAULTS,
  ConfigError,
  type ConfigProblem,
  isConfigError,
  loadConfig,
  parseConfig,
  REDACTED,
  redactConfig,
} from './index.ts';

const minimal = `services:\n  api:\n    command: node server.js\n`;

/** The problems of a config that must fail. */
function problemsOf(text: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    parseConfig(text, { env });
  } catch (error) {
    assert.ok(isConfigError(error), `expected a ConfigError, got ${String(error)}`);
    return [...error.problems];
  }
  assert.fail('expected the config to be rejected');
}

function problemAt(problems: readonly ConfigProblem[], path: string): ConfigProblem {
  const found = problems.find((problem) => problem.path === path);
  assert.ok(
    found,
    `no problem at ${path}; got ${problems.map((p) => `${p.path}: ${p.message}`).join(' | ')}`,
  );
  return found;
}

describe('parseConfig: defaults', () => {
  it('fills in every default of a minimal config', () => {
    const config = parseConfig(minimal, { env: {} });
    assert.equal(config.store, 'sqlite:.rebound/state.db');
    assert.deepEqual(config.server, { host: '127.0.0.1', port: 8080, token: undefined });
    assert.deepEqual(config.limits, { actionsPerMinute: 60, actionsPerHour: 500 });
    assert.equal(config.incidents.groupWindowMs, 300_000);
    assert.deepEqual(config.policies, []);
    assert.deepEqual(config.escalation, []);
    const api = config.services.api!;
    assert.equal(api.name, 'api');
    assert.deepEqual(api.argv, ['node', 'server.js']);
    assert.deepEqual(api.replicas, { count: 1, min: 1, max: 10 });
    assert.deepEqual(api.restart, {
      backoff: { initialMs: 100, factor: 2, maxMs: 300_000 },
      maxRestarts: 5,
      windowMs: 600_000,
    });
    assert.deepEqual(api.health.probe, { kind: 'tcp', timeoutMs: 1_000 });
    assert.equal(api.health.intervalMs, 10_000);
    assert.equal(api.health.failureThreshold, 3);
    assert.equal(api.health.successThreshold, 1);
    assert.equal(api.stopGraceMs, 10_000);
    assert.deepEqual(api.breaker.trip, CIRCUIT_BREAKER_DEFAULTS.trip);
    assert.equal(api.breaker.openMs, CIRCUIT_BREAKER_DEFAULTS.openMs);
    assert.equal(api.gateway, undefined);
    assert.deepEqual(api.dependsOn, []);
    assert.equal(config.chaos.proxyApi, undefined);
  });

  it('reads the SPEC 4.1 example with its values and fills in the rest', () => {
    const config = parseConfig(
      `
store: postgres://rebound@db/rebound
server: { host: 127.0.0.1, port: 8080 }
services:
  database: { command: "postgres -D data" }
  payment-api:
    command: node examples/demo/service.js
    replicas: { count: 2, min: 1, max: 8 }
    gateway: { port: 9100 }
    health:
      http: { path: /health, timeoutMs: 1000 }
      intervalMs: 1000
      failureThreshold: 3
    restart: { backoff: { initialMs: 100, factor: 2, maxMs: 300000 }, maxRestarts: 5, windowMs: 600000 }
    dependsOn: [database]
    fallback: { status: 200, body: { degraded: true } }
    breaker: { trip: { kind: rate, windowMs: 10000, minimumCalls: 20, failureRate: 0.5 }, openMs: 5000 }
    autoscale: { metric: cpu_util, target: 0.7 }
policies:
  - name: Critical Latency Spike
    services: [payment-api]
    when: [{ metric: latency_p99, op: gt, value: 500 }]
    do: [restart-service, alert-oncall, { scale-up: { by: 2 } }, { exec: { command: "sh -c 'echo hi'" } }]
    priority: 10
    cooldownMs: 600000
  - name: Everywhere
    when: [{ metric: error_rate, op: gte, value: 0.5 }]
    do: [fallback-mode]
limits: { actionsPerMinute: 60, actionsPerHour: 500 }
escalation: [{ webhook: { url: http://127.0.0.1:9999/hook, format: pagerduty, routingKey: abc123 } }]
chaos: { proxyApi: {} }
`,
      { env: {} },
    );
    const api = config.services['payment-api']!;
    assert.deepEqual(Object.keys(config.services), ['database', 'payment-api']);
    assert.deepEqual(api.replicas, { count: 2, min: 1, max: 8 });
    assert.deepEqual(api.gateway, {
      port: 9100,
      host: '127.0.0.1',
      balance: 'least-loaded',
      timeoutMs: 30_000,
      toxics: [],
    });
    assert.deepEqual(api.health.probe, {
      kind: 'http',
      path: '/health',
      timeoutMs: 1000,
      expectStatus: [200, 399],
      expectJson: undefined,
    });
    assert.deepEqual(api.breaker.trip, {
      kind: 'rate',
      windowMs: 10_000,
      minimumCalls: 20,
      failureRate: 0.5,
    });
    assert.deepEqual(api.breaker.halfOpen, { maxCalls: 1, successes: 1 });
    assert.deepEqual(api.fallback, { status: 200, headers: {}, body: { degraded: true } });
    assert.deepEqual(api.autoscale?.min, 1);
    assert.deepEqual(api.autoscale?.max, 8);
    assert.equal(api.autoscale?.tolerance, 0.1);
    const [critical, everywhere] = config.policies;
    assert.deepEqual(critical!.do, [
      { type: 'restart-service' },
      { type: 'alert-oncall' },
      { type: 'scale-up', by: 2 },
      { type: 'exec', command: "sh -c 'echo hi'", argv: ['sh', '-c', 'echo hi'], timeoutMs: 30_000 },
    ]);
    assert.equal(critical!.cooldownMs, 600_000);
    assert.deepEqual(everywhere!.services, ['database', 'payment-api'], 'no services: every service');
    assert.equal(everywhere!.priority, 0);
    assert.equal(everywhere!.cooldownMs, CONFIG_DEFAULTS.policy.cooldownMs);
    assert.equal(config.escalation[0]!.webhook.format, 'pagerduty');
    assert.equal(config.escalation[0]!.webhook.timeoutMs, 5_000);
    assert.deepEqual(config.chaos.proxyApi, { host: '127.0.0.1', port: 8474 });
  });

  it('validates the demo config', async () => {
    const config = await loadConfig(join(import.meta.dirname, '../../examples/demo/rebound.yaml'), {
      env: {},
    });
    assert.equal(config.policies.length, 5);
    assert.deepEqual(
      config.policies.map((policy) => [policy.name, policy.priority]),
      [
        ['Critical Latency Spike', 10],
        ['High Error Rate', 9],
        ['Resource Exhaustion', 7],
        ['Moderate Latency', 5],
        ['Throughput Drop', 4],
      ],
    );
    assert.equal(config.services['payment-api']!.replicas.count, 2);
  });
});

describe('parseConfig: problems', () => {
  it('reports a range problem with its path, line, column and the SPEC wording', () => {
    const text = `services:\n  payment-api:\n    command: node a.js\n    replicas:\n      count: -1\n`;
    const error = (() => {
      try {
        parseConfig(text, { source: 'rebound.yaml', env: {} });
      } catch (caught) {
        return caught;
      }
    })();
    assert.ok(error instanceof ConfigError);
    assert.ok(isReboundError(error));
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.deepEqual(error.problems, [
      { path: 'services.payment-api.replicas.count', line: 5, column: 14, message: 'must be >= 0, got -1' },
    ]);
    assert.equal(
      error.message,
      'rebound.yaml:5:14 services.payment-api.replicas.count: must be >= 0, got -1',
    );
  });

  it('reports every problem of a file at once, in file order', () => {
    const problems = problemsOf(`server: { port: 99999 }
services:
  api:
    command: node a.js
    replicas: { count: 1.5 }
    bogus: true
    health: { http: { path: health }, intervalMs: -5 }
    breaker: { trip: { kind: sometimes } }
policies:
  - name: P
    when: [{ metric: latency_p99, op: greater, value: "500" }]
    do: [restart-servce]
`);
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`),
      [
        '1:17 server.port: must be <= 65535, got 99999',
        '5:24 services.api.replicas.count: must be an integer, got 1.5',
        '6:5 services.api.bogus: is not a known field',
        "7:29 services.api.health.http.path: must start with '/'",
        '7:51 services.api.health.intervalMs: must be >= 1, got -5',
        '8:30 services.api.breaker.trip.kind: must be one of consecutive, window, rate, count, got "sometimes"',
        '11:39 policies.0.when.0.op: must be one of gt, gte, lt, lte, eq, neq, got "greater"',
        '11:55 policies.0.when.0.value: must be a number, got "500"',
        `12:10 policies.0.do.0: unknown action "restart-servce", expected one of restart-service, scale-up, scale-down, enable-circuit-breaker, fallback-mode, failover, rollback-deployment, alert-oncall, exec`,
      ],
    );
  });

  it('reports a missing field at its parent, and a missing services section', () => {
    const missingCommand = problemsOf(`services:\n  api:\n    replicas: 2\n`);
    assert.deepEqual(missingCommand, [
      { path: 'services.api.command', line: 3, column: 5, message: 'is required' },
    ]);
    const noServices = problemsOf(`store: 'memory:'\n`);
    assert.deepEqual(
      noServices.map((p) => [p.path, p.message]),
      [['services', 'is required']],
    );
    assert.match(problemAt(problemsOf(`services: {}\n`), 'services').message, /at least one service/);
  });

  it('reports YAML syntax errors with their line and column', () => {
    const problems = problemsOf(`services:\n  api:\n    command: "node\n  other: [\n`);
    assert.ok(problems.length >= 1);
    assert.ok(problems.every((p) => p.path === '' && p.line >= 1 && p.column >= 1));
    assert.match(problems[0]!.message, /^YAML syntax error: /);
    const duplicate = problemsOf(`services:\n  api: { command: a }\n  api: { command: b }\n`);
    assert.equal(duplicate[0]!.line, 3);
  });

  it('rejects an empty file and a file that is not a mapping', () => {
    assert.match(problemsOf('')[0]!.message, /empty/);
    assert.match(problemsOf('- a\n- b\n')[0]!.message, /mapping/);
  });

  it('checks replicas.min <= count <= max', () => {
    const problems = problemsOf(`services:
  a: { command: x, replicas: { count: 1, min: 2, max: 5 } }
  b: { command: x, replicas: { count: 9, max: 5 } }
  c: { command: x, replicas: { count: 3, min: 4, max: 2 } }
`);
    assert.equal(
      problemAt(problems, 'services.a.replicas.count').message,
      'must be >= replicas.min (2), got 1',
    );
    assert.equal(
      problemAt(problems, 'services.b.replicas.count').message,
      'must be <= replicas.max (5), got 9',
    );
    assert.equal(
      problemAt(problems, 'services.c.replicas.min').message,
      'must be <= replicas.max (2), got 4',
    );
  });

  it('checks dependsOn: known services, not itself, no cycle', () => {
    const problems = problemsOf(`services:
  a: { command: x, dependsOn: [b] }
  b: { command: x, dependsOn: [c] }
  c: { command: x, dependsOn: [a, ghost] }
  d: { command: x, dependsOn: [d] }
`);
    assert.equal(problemAt(problems, 'services.c.dependsOn.1').message, 'unknown service "ghost"');
    assert.equal(problemAt(problems, 'services.d.dependsOn.0').message, 'a service cannot depend on itself');
    assert.equal(problemAt(problems, 'services.a.dependsOn').message, 'dependency cycle: a -> b -> c -> a');
    assert.equal(problems.filter((p) => /cycle/.test(p.message)).length, 1, 'each cycle once');
  });

  it('checks ports: gateways unique and not the server port', () => {
    const problems = problemsOf(`server: { port: 9000 }
services:
  a: { command: x, gateway: { port: 9100 } }
  b: { command: x, gateway: { port: 9100 } }
  c: { command: x, gateway: { port: 9000 } }
`);
    assert.equal(
      problemAt(problems, 'services.b.gateway.port').message,
      'port 9100 is already used by services.a.gateway.port',
    );
    assert.equal(
      problemAt(problems, 'services.c.gateway.port').message,
      'port 9000 is already used by server.port',
    );
    assert.equal(problems.length, 2);
  });

  it('checks policies: known services and actions, unique names, metric operators', () => {
    const problems = problemsOf(`services:
  a: { command: x }
policies:
  - name: P
    services: [a, ghost]
    when: [{ metric: "9bad", op: gt, value: 1 }]
    do: [exec, { failover: { target: nowhere } }, { scale-down: { by: 0 } }, { reboot: {} }, { restart-service: { hard: true } }]
  - name: P
    when: []
    do: []
`);
    assert.equal(problemAt(problems, 'policies.0.services.1').message, 'unknown service "ghost"');
    assert.match(problemAt(problems, 'policies.0.when.0.metric').message, /metric name/);
    assert.match(problemAt(problems, 'policies.0.do.0').message, /exec needs a command/);
    assert.equal(problemAt(problems, 'policies.0.do.1.failover.target').message, 'unknown service "nowhere"');
    assert.equal(problemAt(problems, 'policies.0.do.2.scale-down.by').message, 'must be an integer >= 1');
    assert.match(problemAt(problems, 'policies.0.do.3.reboot').message, /^unknown action "reboot"/);
    assert.equal(problemAt(problems, 'policies.0.do.4.restart-service.hard').message, 'is not a known field');
    assert.equal(problemAt(problems, 'policies.1.name').message, 'duplicates the name of policies.0');
    assert.equal(problemAt(problems, 'policies.1.when').message, 'must have at least 1 item');
    assert.equal(problemAt(problems, 'policies.1.do').message, 'must have at least 1 item');
  });

  it('checks escalation webhooks, failover targets, permissions and the store URL', () => {
    const problems = problemsOf(`store: mysql://root:hunter2@db/x
services:
  a: { command: x, failover: { target: b } }
permissions: { ghost: [restart-service], a: [reboot] }
escalation:
  - webhook: { url: "ftp://example.com", format: email }
  - webhook: { format: pagerduty, url: "https://events.pagerduty.com/v2/enqueue" }
`);
    assert.match(problemAt(problems, 'store').message, /^must be a URL starting with/);
    assert.equal(problemAt(problems, 'services.a.failover.target').message, 'unknown service "b"');
    assert.equal(problemAt(problems, 'permissions.ghost').message, 'unknown service "ghost"');
    assert.match(problemAt(problems, 'permissions.a.0').message, /^must be one of restart-service/);
    assert.equal(
      problemAt(problems, 'escalation.0.webhook.url').message,
      'must be an http:// or https:// URL',
    );
    assert.equal(
      problemAt(problems, 'escalation.0.webhook.format').message,
      'must be one of generic, pagerduty, slack, got "email"',
    );
    assert.match(
      problemAt(problems, 'escalation.1.webhook.routingKey').message,
      /required for format pagerduty/,
    );
    assert.ok(problems.every((p) => !p.message.includes('hunter2')));
  });

  it('requires server.token when the server is not on loopback', () => {
    const problems = problemsOf(`server: { host: 0.0.0.0 }\n${minimal}`);
    assert.deepEqual(
      problems.map((p) => [p.path, p.line]),
      [['server.token', 1]],
    );
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) {
      assert.equal(parseConfig(`server: { host: "${host}" }\n${minimal}`, { env: {} }).server.host, host);
    }
    assert.equal(
      parseConfig(`server: { host: 0.0.0.0, token: s3cret-token }\n${minimal}`, { env: {} }).server.token,
      's3cret-token',
    );
  });

  it('reports a command that cannot be split and one probe at most', () => {
    const problems = problemsOf(`services:
  a: { command: "node 'a.js", health: { http: {}, tcp: {} } }
  b: { command: "   " }
`);
    assert.match(problemAt(problems, 'services.a.command').message, /unterminated single quote/);
    assert.equal(problemAt(problems, 'services.a.health').message, 'give one probe, not http and tcp');
    assert.equal(problemAt(problems, 'services.b.command').message, 'must name a program');
  });
});

describe('parseConfig: environment variables', () => {
  it('substitutes ${NAME} and ${NAME:-default}, and $${ stays literal', () => {
    const config = parseConfig(
      `server: { token: "\${TOKEN}" }
services:
  api:
    command: node server.js --region \${REGION:-eu}
    env: { GREETING: "$\${not-a-var}", DB: "postgres://app:\${DB_PASSWORD}@db/app" }
`,
      { env: { TOKEN: 'tok-123456', DB_PASSWORD: 'pa55word' } },
    );
    assert.equal(config.server.token, 'tok-123456');
    assert.deepEqual(config.services.api!.argv, ['node', 'server.js', '--region', 'eu']);
    assert.equal(config.services.api!.env.GREETING, '${not-a-var}');
    assert.equal(config.services.api!.env.DB, 'postgres://app:pa55word@db/app');
  });

  it('reports each missing variable at its path, once, without follow-on noise', () => {
    const problems = problemsOf(
      `services:\n  api:\n    command: node a.js\nescalation: [{ webhook: { url: "\${HOOK_URL}" } }]\nserver: { token: "\${TOKEN}" }\n`,
    );
    assert.deepEqual(
      problems.map((p) => [p.path, p.line, p.message]),
      [
        [
          'escalation.0.webhook.url',
          4,
          'environment variable HOOK_URL is not set (write ${HOOK_URL:-default} for a default)',
        ],
        ['server.token', 5, 'environment variable TOKEN is not set (write ${TOKEN:-default} for a default)'],
      ],
    );
  });

  it('uses process.env by default', () => {
    process.env.REBOUND_TEST_COMMAND = 'node from-env.js';
    try {
      const config = parseConfig(`services:\n  api: { command: "\${REBOUND_TEST_COMMAND}" }\n`);
      assert.deepEqual(config.services.api!.argv, ['node', 'from-env.js']);
    } finally {
      delete process.env.REBOUND_TEST_COMMAND;
    }
  });
});

describe('secrets', () => {
  it('never appear in error messages', () => {
    const problems = problemsOf(
      `server: { host: 0.0.0.0, token: 42 }
services:
  api: { command: x, env: { KEY: { nested: true } }, gateway: { port: "\${SECRET_PORT}" } }
escalation: [{ webhook: { url: "\${HOOK}", format: slack, headers: { Authorization: [1] } } }]
`,
      { SECRET_PORT: 'supersecretvalue', HOOK: 'notaurl-with-secret-xyz' },
    );
    const text = new ConfigError('rebound.yaml', problems).message;
    assert.doesNotMatch(text, /supersecretvalue|notaurl-with-secret-xyz/);
    assert.match(
      text,
      /services\.api\.gateway\.port: must be a number\n|services\.api\.gateway\.port: must be a number$/m,
    );
  });

  it('are redacted by redactConfig: token, routing key, headers, URL passwords, env values', () => {
    const config = parseConfig(
      `store: postgres://rebound:db-password-1@db:5432/rebound
server: { host: 0.0.0.0, token: "\${TOKEN}" }
services:
  api:
    command: node a.js --key \${API_KEY}
    env: { PLAIN: hello, API_TOKEN: literal-token-value, FROM_ENV: "\${API_KEY}" }
escalation:
  - webhook: { url: "https://hooks.slack.com/services/T0/B0/XYZSECRET", format: slack }
  - webhook: { url: "https://user:hookpass@example.com/hook?key=qsecret", format: pagerduty, routingKey: rk-secret-1, headers: { X-Api-Key: hdr-secret } }
`,
      { env: { TOKEN: 'bearer-token-value', API_KEY: 'api-key-value' } },
    );
    const redacted = redactConfig(config);
    const text = JSON.stringify(redacted);
    for (const secret of [
      'db-password-1',
      'bearer-token-value',
      'api-key-value',
      'literal-token-value',
      'XYZSECRET',
      'hookpass',
      'qsecret',
      'rk-secret-1',
      'hdr-secret',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal(redacted.server.token, REDACTED);
    assert.equal(redacted.services.api!.env.PLAIN, 'hello');
    assert.equal(redacted.escalation[1]!.webhook.routingKey, REDACTED);
    assert.match(redacted.store, /^postgres:\/\/rebound:redacted@db:5432\/rebound$/);
    assert.equal(redacted.services.api!.replicas.count, 1, 'everything else is kept');
    assert.equal(config.server.token, 'bearer-token-value', 'the original is untouched');
  });
});

describe('loadConfig', () => {
  it('names the file in messages and reports an unreadable file as a problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebound-config-'));
    try {
      const file = join(dir, 'rebound.yaml');
      writeFileSync(file, 'services:\n  api: { command: x, replicas: -1 }\n');
      await assert.rejects(loadConfig(file), (error: unknown) => {
        assert.ok(isConfigError(error));
        assert.equal(error.message, `${file}:2:32 services.api.replicas.count: must be >= 0, got -1`);
        return true;
      });
      await assert.rejects(loadConfig(join(dir, 'missing.yaml')), /cannot read the file \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('chaos.schedules', () => {
  const KILL = `title: kill one
target: api
method: [{ fault: { kill: { replicas: 1 } } }]
blastRadius: { maxReplicas: 2, maxPercent: 25 }
`;
  const withSchedules = (schedules: string) =>
    `services:\n  api: { command: node server.js, replicas: 4 }\nchaos:\n  schedules:\n${schedules}`;

  function inDirectory(files: Record<string, string>, run: (dir: string) => Promise<void> | void) {
    return async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rebound-schedules-'));
      try {
        mkdirSync(join(dir, 'experiments'));
        for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
        await run(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
  }

  it(
    'reads each experiment relative to the config file, merges the blast radius, defaults the name',
    inDirectory(
      {
        'experiments/kill-replica.yaml': KILL,
        'experiments/kill.json': JSON.stringify({ title: 'json', target: 'api', method: [{ wait: 10 }] }),
      },
      async (dir) => {
        const file = join(dir, 'rebound.yaml');
        writeFileSync(
          file,
          withSchedules(`    - { experiment: experiments/kill-replica.yaml, every: 3600000, blastRadius: { maxReplicas: 1, maxPercent: 50 } }
    - { experiment: experiments/kill.json, cron: "0 3 * * 1-5", timezone: Europe/Paris, name: nightly, enabled: false }
`),
        );
        const config = await loadConfig(file, { env: {} });
        const [first, second] = config.chaos.schedules;
        assert.equal(config.chaos.schedules.length, 2);
        assert.equal(first!.name, 'kill-replica');
        assert.equal(first!.file, 'experiments/kill-replica.yaml');
        assert.equal(first!.every, 3_600_000);
        assert.equal(first!.cron, undefined);
        assert.equal(first!.enabled, true);
        assert.equal(first!.experiment.title, 'kill one');
        assert.deepEqual(
          first!.experiment.blastRadius,
          { maxReplicas: 1, maxPercent: 25 },
          'the stricter of each',
        );
        assert.deepEqual(
          { ...second, experiment: second!.experiment.title },
          {
            name: 'nightly',
            file: 'experiments/kill.json',
            experiment: 'json',
            every: undefined,
            cron: '0 3 * * 1-5',
            timezone: 'Europe/Paris',
            enabled: false,
          },
        );
        assert.deepEqual(parseConfig(minimal, { env: {} }).chaos.schedules, [], 'none by default');
      },
    ),
  );

  it(
    'reports every problem of the schedules and of their experiment files at once, with paths',
    inDirectory(
      {
        'experiments/boom.yaml': 'title: boom\ntarget: api\nmethod: [{ fault: { boom: {} } }]\n',
        'experiments/reboot.yaml': 'title: reboot\ntarget: api\nmethod: [{ wait: 1 }]\nrollbacks: [reboot]\n',
        'experiments/elsewhere.yaml': 'title: elsewhere\ntarget: billing\nmethod: [{ wait: 1 }]\n',
        'experiments/ok.yaml': KILL,
      },
      (dir) => {
        const problems = (() => {
          try {
            parseConfig(
              withSchedules(`    - { experiment: experiments/boom.yaml, every: 60000 }
    - { experiment: experiments/missing.yaml, every: 60000 }
    - { experiment: experiments/elsewhere.yaml, every: 60000 }
    - { experiment: experiments/ok.yaml }
    - { experiment: experiments/ok.yaml, every: 500, cron: "* * * * *" }
    - { experiment: experiments/ok.yaml, cron: "0 3 * * 8", name: bad-cron }
    - { experiment: experiments/ok.yaml, cron: "0 3 * * *", timezone: Mars/Olympus, name: bad-zone }
    - { experiment: experiments/ok.yaml, every: 60000, timezone: UTC, name: zone-without-cron }
    - { experiment: experiments/reboot.yaml, every: 60000 }
`),
              { env: {}, source: join(dir, 'rebound.yaml') },
            );
          } catch (error) {
            assert.ok(isConfigError(error));
            return error.problems.map((problem) => `${problem.line} ${problem.path}: ${problem.message}`);
          }
          assert.fail('expected the config to be rejected');
        })();
        assert.deepEqual(problems, [
          '5 chaos.schedules.0.experiment: experiments/boom.yaml: method.0.fault.boom: is not a known fault, expected one of kill, pause, latency, http-error, fail-first, down, bandwidth, reset-peer, cpu, memory',
          '6 chaos.schedules.1.experiment: cannot read experiments/missing.yaml (ENOENT)',
          '7 chaos.schedules.2.experiment: experiments/elsewhere.yaml: target: unknown service "billing"',
          '8 chaos.schedules.3: give exactly one of every (milliseconds) and cron (a pattern)',
          '9 chaos.schedules.4: give exactly one of every (milliseconds) and cron (a pattern)',
          '9 chaos.schedules.4.experiment: the schedule name "ok" duplicates that of chaos.schedules.3; give each a distinct name',
          '9 chaos.schedules.4.every: must be >= 1000, got 500',
          '10 chaos.schedules.5.cron: is not a valid cron pattern: Invalid value for dayOfWeek: 8',
          '11 chaos.schedules.6.timezone: unknown time zone "Mars/Olympus", expected an IANA name such as Europe/Paris or UTC',
          '12 chaos.schedules.7.timezone: applies only to a cron schedule',
          '13 chaos.schedules.8.experiment: experiments/reboot.yaml: rollbacks.0: unknown action "reboot", expected one of restart-service, start-service, stop-service, scale',
        ]);
      },
    ),
  );
});
