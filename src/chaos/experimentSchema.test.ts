import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  type ExperimentError,
  isExperimentError,
  parseExperiment,
  validateExperiment,
} from './experimentSchema.ts';

function problemsOf(text: string, options = {}): string[] {
  try {
    parseExperiment(text, options);
  } catch (error) {
    assert.ok(isExperimentError(error), String(error));
    return (error as ExperimentError).problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  assert.fail('expected an ExperimentError');
}

describe('parseExperiment', () => {
  it('reads the experiment of SPEC 5 with its defaults', () => {
    const experiment = parseExperiment(`
title: A killed replica is replaced within 2 s
target: payment-api
steadyState:
  - { http: { path: /, expectStatus: 200 } }
  - { metric: latency_p99, op: lt, value: 200 }
method:
  - { fault: { kill: { replicas: 1 } } }
  - { fault: { latency: { ms: 500, jitterMs: 50 } }, durationMs: 10000, intensity: 0.5 }
  - { fault: { http-error: { status: 503 } }, durationMs: 5000, intensity: 0.3 }
  - { fault: { pause: { replicas: 1 } }, durationMs: 5000 }
  - { fault: { cpu: { workers: 1 } }, durationMs: 10000 }
  - { wait: 2000 }
abortWhen: [{ metric: error_rate, op: gt, value: 0.5 }]
rollbacks: [{ restart-service: {} }]
expect: { recoveredWithinMs: 2000 }
`);
    assert.equal(experiment.title, 'A killed replica is replaced within 2 s');
    assert.deepEqual(experiment.steadyState, [
      { kind: 'http', path: '/', expectStatus: 200, timeoutMs: 1_000 },
      { kind: 'metric', metric: 'latency_p99', op: 'lt', value: 200 },
    ]);
    assert.deepEqual(experiment.method, [
      { kind: 'fault', fault: { kind: 'kill', replicas: 1 }, intensity: 1 },
      {
        kind: 'fault',
        fault: { kind: 'latency', ms: 500, jitterMs: 50 },
        intensity: 0.5,
        durationMs: 10_000,
      },
      { kind: 'fault', fault: { kind: 'http-error', status: 503 }, intensity: 0.3, durationMs: 5_000 },
      { kind: 'fault', fault: { kind: 'pause', replicas: 1 }, intensity: 1, durationMs: 5_000 },
      { kind: 'fault', fault: { kind: 'cpu', workers: 1 }, intensity: 1, durationMs: 10_000 },
      { kind: 'wait', ms: 2_000 },
    ]);
    assert.deepEqual(experiment.abortWhen, [{ metric: 'error_rate', op: 'gt', value: 0.5 }]);
    assert.deepEqual(experiment.rollbacks, [{ action: 'restart-service', params: {} }]);
    assert.deepEqual(experiment.expect, { recoveredWithinMs: 2_000 });
    assert.equal(experiment.allowDuringIncident, false);
  });

  it('reads JSON, every fault kind, empty faults and action names', () => {
    const experiment = parseExperiment(
      JSON.stringify({
        title: 'all kinds',
        target: 'payment-api',
        method: [
          { fault: { kill: null } },
          { fault: { 'http-error': {} } },
          { fault: { 'fail-first': { requests: 3 } } },
          { fault: { down: null } },
          { fault: { bandwidth: { rate: 100 } } },
          { fault: { 'reset-peer': {} } },
          { fault: { memory: { mb: 64 } } },
        ],
        rollbacks: ['restart-service', { 'scale-up': { by: 2 } }],
        steadyState: [{ http: { path: '/health' } }],
        blastRadius: { maxReplicas: 1, maxPercent: 50 },
        allowDuringIncident: true,
      }),
    );
    assert.deepEqual(
      experiment.method.map((step) => (step.kind === 'fault' ? step.fault : step)),
      [
        { kind: 'kill', replicas: 1 },
        { kind: 'http-error', status: 500 },
        { kind: 'fail-first', requests: 3, status: 503 },
        { kind: 'down' },
        { kind: 'bandwidth', rate: 100 },
        { kind: 'reset-peer' },
        { kind: 'memory', mb: 64 },
      ],
    );
    assert.deepEqual(experiment.steadyState[0], {
      kind: 'http',
      path: '/health',
      expectStatus: [200, 399],
      timeoutMs: 1_000,
    });
    assert.deepEqual(experiment.rollbacks, [
      { action: 'restart-service', params: {} },
      { action: 'scale-up', params: { by: 2 } },
    ]);
    assert.deepEqual(experiment.blastRadius, { maxReplicas: 1, maxPercent: 50 });
    assert.equal(experiment.allowDuringIncident, true);
  });

  it('reports every problem at once, each with its path', () => {
    const problems = problemsOf(`
title: ""
target: payment-api
steadyState:
  - { http: { path: health, expectStatus: 99 } }
  - { metric: latency_p99, op: less, value: 200 }
  - { foo: 1 }
method:
  - { fault: { kill: { replicas: 0 } } }
  - { fault: { latency: { ms: -5 } }, durationMs: 1000, intensity: 2 }
  - { fault: { boom: {} } }
  - { fault: { latency: { ms: 1 }, down: {} } }
  - { wait: 100, extra: 1 }
rollbacks: [restart-service, 5]
abortWhen: [{ metric: "error rate", op: gt, value: 0.5 }]
expect: { recoveredWithinMs: soon }
colour: blue
`);
    assert.deepEqual(problems, [
      'title: must not be empty',
      "steadyState.0.http.path: must start with '/'",
      'steadyState.0.http.expectStatus: must be >= 100, got 99',
      'steadyState.1.op: must be one of gt, gte, lt, lte, eq, neq, got "less"',
      'steadyState.2: must be { http: { path } } or { metric, op, value }',
      'method.0.fault.kill.replicas: must be >= 1, got 0',
      'method.1.fault.latency.ms: must be >= 0, got -5',
      'method.1.intensity: must be <= 1, got 2',
      'method.2.fault.boom: is not a known fault, expected one of kill, pause, latency, http-error, fail-first, down, bandwidth, reset-peer, cpu, memory',
      'method.3.fault: must name one fault (one of kill, pause, latency, http-error, fail-first, down, bandwidth, reset-peer, cpu, memory), got latency, down',
      'method.4.extra: is not a known field',
      'rollbacks.1: must be an action name or { <action>: { params } }',
      'abortWhen.0.metric: must be a metric name such as latency_p99',
      'expect.recoveredWithinMs: must be a number, got "soon"',
      'colour: is not a known field',
    ]);
  });

  it('names missing fields, a missing method and an empty file', () => {
    assert.deepEqual(problemsOf('description: nothing else'), [
      'title: is required',
      'target: is required',
      'method: is required',
    ]);
    assert.deepEqual(problemsOf('title: t\ntarget: a\nmethod: []'), ['method: must have at least 1 item']);
    assert.deepEqual(problemsOf(''), [': is empty: expected a mapping with title, target and method']);
    assert.deepEqual(problemsOf('title: [unclosed'), [
      ': YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('checks rules across fields: a timed kill, the blast radius, known actions', () => {
    const problems = problemsOf(
      `
title: t
target: payment-api
method:
  - { fault: { kill: { replicas: 2 } }, durationMs: 1000 }
  - { fault: { pause: { replicas: 3 } }, durationMs: 1000 }
rollbacks: [restart-service, reboot-datacenter]
blastRadius: { maxReplicas: 2 }
`,
      { actions: ['restart-service', 'scale-up'] },
    );
    assert.deepEqual(problems, [
      'method.0.durationMs: a kill is instantaneous and has no duration; add a { wait: ms } step after it',
      'method.1.fault.pause.replicas: exceeds blastRadius.maxReplicas (2), got 3',
      'rollbacks.1: unknown action "reboot-datacenter", expected one of restart-service, scale-up',
    ]);
  });

  it('refuses an intensity on faults without toxicity, and memory in fractions of a MB', () => {
    const problems = problemsOf(`
title: t
target: payment-api
method:
  - { fault: { kill: {} }, intensity: 0.5 }
  - { fault: { pause: {} }, durationMs: 1000, intensity: 0 }
  - { fault: { cpu: { workers: 1 } }, durationMs: 1000, intensity: 0.5 }
  - { fault: { memory: { mb: 64 } }, durationMs: 1000, intensity: 0.5 }
  - { fault: { down: }, durationMs: 1000, intensity: 0.5 }
  - { fault: { fail-first: { requests: 3 } }, durationMs: 1000, intensity: 0.5 }
  - { fault: { latency: { ms: 100 } }, durationMs: 1000, intensity: 0.5 }
  - { fault: { http-error: {} }, durationMs: 1000, intensity: 0.5 }
  - { fault: { bandwidth: { rate: 10 } }, durationMs: 1000, intensity: 0.5 }
  - { fault: { reset-peer: }, durationMs: 1000, intensity: 0.5 }
  - { fault: { cpu: { workers: 1 } }, durationMs: 1000, intensity: 1 }
`);
    const only = 'intensity is for latency, http-error, bandwidth, reset-peer';
    assert.deepEqual(problems, [
      `method.0.intensity: a kill fault has no toxicity (${only}), got 0.5`,
      `method.1.intensity: a pause fault has no toxicity (${only}), got 0`,
      `method.2.intensity: a cpu fault has no toxicity (${only}), got 0.5`,
      `method.3.intensity: a memory fault has no toxicity (${only}), got 0.5`,
      `method.4.intensity: a down fault has no toxicity (${only}), got 0.5`,
      `method.5.intensity: a fail-first fault has no toxicity (${only}), got 0.5`,
    ]);
    assert.deepEqual(
      problemsOf(`
title: t
target: payment-api
method:
  - { fault: { memory: { mb: 0.5 } }, durationMs: 1000 }
  - { fault: { memory: { mb: 0 } }, durationMs: 1000 }
`),
      [
        'method.0.fault.memory.mb: must be an integer, got 0.5',
        'method.1.fault.memory.mb: must be >= 1, got 0',
      ],
    );
  });

  it('names the source in its message', () => {
    assert.throws(
      () => validateExperiment({ title: 't', target: 'a', method: [{ wait: -1 }] }, { source: 'kill.yaml' }),
      (error: unknown) =>
        isExperimentError(error) && error.message === 'kill.yaml: method.0.wait: must be >= 0, got -1',
    );
  });

  it("accepts the demo's experiments", () => {
    const folder = new URL('../../examples/demo/experiments/', import.meta.url);
    const files = readdirSync(folder).filter((name) => name.endsWith('.yaml'));
    assert.ok(files.length >= 4, `found ${files.join(', ')}`);
    for (const file of files) {
      const experiment = parseExperiment(readFileSync(new URL(file, folder), 'utf8'), { source: file });
      assert.ok(experiment.expect, `${file} states its expected recovery time`);
    }
  });
});
