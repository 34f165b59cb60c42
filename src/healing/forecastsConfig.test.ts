// `predictedWithinMs` in rebound.yaml: where it is allowed, its bounds, and the operators it takes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExperiment } from '../chaos/index.ts';
import { parseConfig } from './config.ts';
import { type ConfigError, isConfigError } from './configErrors.ts';
import { PREDICTED_WITHIN_MAX_MS } from './configTypes.ts';

const SERVICES = 'services:\n  api: { command: node api.js }\n';

function problemsOf(yaml: string): string[] {
  try {
    parseConfig(SERVICES + yaml, { env: {}, source: 'rebound.yaml' });
  } catch (error) {
    assert.ok(isConfigError(error), String(error));
    return (error as ConfigError).problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  assert.fail('the config was accepted');
}

const policyWhen = (condition: string) => `
policies:
  - name: cpu
    when: [${condition}]
    do: [scale-up]
`;

describe('config: predictive policy conditions', () => {
  it('reads predictedWithinMs on a policy condition', () => {
    const config = parseConfig(
      SERVICES + policyWhen('{ metric: cpu_util, op: gt, value: 0.9, predictedWithinMs: 60000 }'),
      { env: {} },
    );
    assert.deepEqual(config.policies[0]!.when, [
      { metric: 'cpu_util', op: 'gt', value: 0.9, predictedWithinMs: 60_000 },
    ]);
    const plain = parseConfig(SERVICES + policyWhen('{ metric: cpu_util, op: gt, value: 0.9 }'), { env: {} });
    assert.equal(plain.policies[0]!.when[0]!.predictedWithinMs, undefined);
  });

  it('takes a positive whole number of milliseconds up to PREDICTED_WITHIN_MAX_MS', () => {
    assert.equal(PREDICTED_WITHIN_MAX_MS, 600_000);
    const at = 'policies.0.when.0.predictedWithinMs';
    for (const [value, message] of [
      ['0', 'must be >= 1, got 0'],
      ['-5', 'must be >= 1, got -5'],
      ['1.5', 'must be an integer, got 1.5'],
      ['600001', 'must be <= 600000, got 600001'],
      ['"60s"', 'must be a number, got "60s"'],
    ]) {
      assert.deepEqual(
        problemsOf(policyWhen(`{ metric: cpu_util, op: gt, value: 0.9, predictedWithinMs: ${value} }`)),
        [`${at}: ${message}`],
        value,
      );
    }
  });

  it('refuses it on eq and neq at its path, listed with every other problem', () => {
    const problems = problemsOf(`
server: { port: -1 }
policies:
  - name: equal
    when:
      - { metric: replicas, op: eq, value: 0, predictedWithinMs: 60000 }
      - { metric: cpu_util, op: lte, value: 0.1, predictedWithinMs: 60000 }
      - { metric: error_rate, op: neq, value: 0, predictedWithinMs: 1000 }
    do: [scale-up]
`);
    assert.deepEqual(problems, [
      'server.port: must be >= 0, got -1',
      'policies.0.when.0.predictedWithinMs: applies only to gt, gte, lt and lte (a trend says when a threshold is crossed, not when a value equals another), got op eq',
      'policies.0.when.2.predictedWithinMs: applies only to gt, gte, lt and lte (a trend says when a threshold is crossed, not when a value equals another), got op neq',
    ]);
  });

  it('refuses it in incident severity rules, which judge what is measured', () => {
    assert.deepEqual(
      problemsOf(`
incidents:
  severity:
    - { when: [{ metric: error_rate, op: gt, value: 0.5, predictedWithinMs: 60000 }], level: critical }
`),
      ['incidents.severity.0.when.0.predictedWithinMs: is not a known field'],
    );
  });

  it('leaves chaos experiments alone: their conditions have no predictedWithinMs', () => {
    assert.throws(
      () =>
        parseExperiment(
          'title: t\ntarget: api\nmethod: [{ wait: 10 }]\nabortWhen: [{ metric: error_rate, op: gt, value: 0.5, predictedWithinMs: 1000 }]\n',
        ),
      /predictedWithinMs/,
    );
  });
});
