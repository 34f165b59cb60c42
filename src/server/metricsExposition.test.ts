// /metrics: the exposition parsed back value by value, following the control plane at scrape
// time, and accepted by Prometheus' own linter (`promtool check metrics`).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { createMetricsExposition } from './metricsExposition.ts';

interface Family {
  type: string;
  help: string;
  /** `name{labels}` as written → value. */
  samples: Map<string, number>;
}

/** A strict reader of the text format 0.0.4 as prom-client writes it (labels in the order given). */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) {
      found = { type: '', help: '', samples: new Map() };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) (.+)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (help) family(help[1]!).help = help[2]!;
    else if (type) family(type[1]!).type = type[2]!;
    else if (sample) {
      const name = sample[1]!;
      const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      family(base).samples.set(`${name}${sample[2] ?? ''}`, Number(sample[3]));
    } else assert.fail(`not a line of the text format: ${JSON.stringify(line)}`);
  }
  return families;
}

/** Equal up to the rounding of a unit conversion (123.4 ms / 1000 is 0.12340000000000001 s). */
function assertClose(actual: number | undefined, expected: number, message: string): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) < 1e-12,
    `${message}: ${actual} !== ${expected}`,
  );
}

function value(families: Map<string, Family>, sample: string): number | undefined {
  const name = sample.replace(/\{.*$/, '');
  return families.get(name)?.samples.get(sample);
}

describe('the Prometheus exposition', () => {
  it('has every control plane metric with its type and help', async () => {
    const exposition = createMetricsExposition(fakeControlPlane());
    const families = parseExposition(await exposition.render());
    const expected: Record<string, string> = {
      rebound_build_info: 'gauge',
      rebound_service_up: 'gauge',
      rebound_service_state: 'gauge',
      rebound_replicas: 'gauge',
      rebound_gateway_requests_per_second: 'gauge',
      rebound_gateway_latency_seconds: 'gauge',
      rebound_gateway_error_ratio: 'gauge',
      rebound_gateway_inflight: 'gauge',
      rebound_gateway_requests_total: 'counter',
      rebound_gateway_errors_total: 'counter',
      rebound_replica_restarts_total: 'counter',
      rebound_circuit_state: 'gauge',
      rebound_circuit_health_ratio: 'gauge',
      rebound_healing_attempts_total: 'counter',
      rebound_healing_success_ratio: 'gauge',
      rebound_healing_mean_recovery_seconds: 'gauge',
      rebound_escalations_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) {
      const family = families.get(name);
      assert.ok(family, `${name} is missing`);
      assert.equal(family.type, type, name);
      assert.ok(family.help.length > 10, `${name} has a help text`);
      assert.ok(family.samples.size > 0, `${name} has samples`);
    }
    assert.equal(exposition.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('reports the services, replicas and gateway traffic', async () => {
    const families = parseExposition(await createMetricsExposition(fakeControlPlane()).render());
    const expected: Record<string, number> = {
      'rebound_build_info{version="0.1.0-test"}': 1,
      'rebound_service_up{service="payment-api"}': 1,
      'rebound_service_up{service="database"}': 0,
      'rebound_service_state{service="payment-api",state="healthy"}': 1,
      'rebound_service_state{service="payment-api",state="critical"}': 0,
      'rebound_service_state{service="database",state="critical"}': 1,
      'rebound_service_state{service="database",state="healthy"}': 0,
      'rebound_replicas{service="payment-api",state="healthy"}': 1,
      'rebound_replicas{service="payment-api",state="starting"}': 1,
      'rebound_replicas{service="payment-api",state="backoff"}': 0,
      'rebound_replicas{service="database",state="backoff"}': 1,
      'rebound_gateway_requests_per_second{service="payment-api"}': 45.6,
      'rebound_gateway_latency_seconds{service="payment-api",percentile="50"}': 0.012,
      'rebound_gateway_latency_seconds{service="payment-api",percentile="95"}': 0.08,
      'rebound_gateway_latency_seconds{service="payment-api",percentile="99"}': 0.1234,
      'rebound_gateway_error_ratio{service="payment-api"}': 0.021,
      'rebound_gateway_inflight{service="payment-api"}': 2,
      'rebound_replica_restarts_total{service="payment-api",replica="payment-api-1"}': 1,
      'rebound_replica_restarts_total{service="payment-api",replica="payment-api-2"}': 0,
      'rebound_replica_restarts_total{service="database",replica="database-1"}': 6,
    };
    for (const [sample, expectedValue] of Object.entries(expected)) {
      assertClose(value(families, sample), expectedValue, sample);
    }
    // A service without a gateway has no gateway series (rather than zeros that look like traffic).
    assert.equal(value(families, 'rebound_gateway_requests_per_second{service="database"}'), undefined);
    assert.equal(
      families.get('rebound_service_state')!.samples.size,
      12,
      'six states for each of two services',
    );
  });

  it('reports the requests and failures through each gateway since it started as counters', async () => {
    const controlPlane = fakeControlPlane();
    const exposition = createMetricsExposition(controlPlane);
    let families = parseExposition(await exposition.render());
    assert.equal(value(families, 'rebound_gateway_requests_total{service="payment-api"}'), 98_765);
    assert.equal(value(families, 'rebound_gateway_errors_total{service="payment-api"}'), 123);
    assert.equal(value(families, 'rebound_gateway_requests_total{service="database"}'), undefined);
    // They follow the gateway's totals, not the window: they only grow while it runs.
    const [service] = controlPlane.services();
    controlPlane.setService('payment-api', {
      metrics: { ...service!.metrics, requests: 0, errors: 0, requests_total: 99_000, errors_total: 130 },
    });
    families = parseExposition(await exposition.render());
    assert.equal(value(families, 'rebound_gateway_requests_total{service="payment-api"}'), 99_000);
    assert.equal(value(families, 'rebound_gateway_errors_total{service="payment-api"}'), 130);
  });

  it('reports availability, error budget and burn rates over the SLO window', async () => {
    const families = parseExposition(await createMetricsExposition(fakeControlPlane()).render());
    // The fake's payment-api: 1000 responses, 250 failed, against 0.5: availability 0.75, budget
    // 1 − 0.25 / 0.5 = 0.5, burn rate 0.25 / 0.5 = 0.5 over both windows.
    assert.equal(families.get('rebound_slo_availability')?.type, 'gauge');
    assert.equal(value(families, 'rebound_slo_availability{service="payment-api"}'), 0.75);
    assert.equal(value(families, 'rebound_slo_error_budget_remaining{service="payment-api"}'), 0.5);
    for (const window of ['1h', '6h']) {
      assert.equal(value(families, `rebound_slo_burn_rate{service="payment-api",window="${window}"}`), 0.5);
    }
    // The database has no traffic and no SLO: no series rather than zeros.
    assert.equal(value(families, 'rebound_slo_availability{service="database"}'), undefined);
    assert.equal(value(families, 'rebound_slo_error_budget_remaining{service="database"}'), undefined);
    assert.equal(value(families, 'rebound_slo_burn_rate{service="database",window="1h"}'), undefined);
  });

  it('reports the circuit breakers and the healing statistics', async () => {
    const families = parseExposition(await createMetricsExposition(fakeControlPlane()).render());
    const expected: Record<string, number> = {
      'rebound_circuit_state{kind="gateway",name="payment-api",state="closed"}': 1,
      'rebound_circuit_state{kind="gateway",name="payment-api",state="open"}': 0,
      'rebound_circuit_state{kind="webhook",name="pager",state="isolated"}': 1,
      'rebound_circuit_state{kind="webhook",name="pager",state="closed"}': 0,
      'rebound_circuit_health_ratio{kind="gateway",name="payment-api"}': 1,
      'rebound_healing_attempts_total{status="succeeded"}': 1,
      'rebound_healing_attempts_total{status="failed"}': 1,
      'rebound_healing_attempts_total{status="running"}': 1,
      rebound_healing_success_ratio: 0.5,
      rebound_healing_mean_recovery_seconds: 2.3,
      rebound_escalations_total: 1,
    };
    for (const [sample, expectedValue] of Object.entries(expected)) {
      assertClose(value(families, sample), expectedValue, sample);
    }
  });

  it("includes the process's own metrics, prefixed rebound_", async () => {
    const families = parseExposition(await createMetricsExposition(fakeControlPlane()).render());
    assert.equal(families.get('rebound_process_cpu_user_seconds_total')?.type, 'counter');
    assert.ok((value(families, 'rebound_process_resident_memory_bytes') ?? 0) > 0);
    const without = parseExposition(
      await createMetricsExposition(fakeControlPlane(), { processMetrics: false }).render(),
    );
    assert.equal(without.has('rebound_process_cpu_user_seconds_total'), false);
  });

  it('reads the control plane at every scrape', async () => {
    const controlPlane = fakeControlPlane();
    const exposition = createMetricsExposition(controlPlane);
    await exposition.render();
    controlPlane.setService('payment-api', {
      state: 'recovering',
      metrics: { latency_p99: 900, error_rate: 0.5, throughput: 1, inflight: 0 },
    });
    controlPlane.breakers.get('gateway', 'payment-api').isolate();
    const families = parseExposition(await exposition.render());
    assert.equal(value(families, 'rebound_service_up{service="payment-api"}'), 0);
    assert.equal(value(families, 'rebound_service_state{service="payment-api",state="recovering"}'), 1);
    assert.equal(value(families, 'rebound_service_state{service="payment-api",state="healthy"}'), 0);
    assert.equal(
      value(families, 'rebound_gateway_latency_seconds{service="payment-api",percentile="99"}'),
      0.9,
    );
    // A percentile no longer reported is gone, not left at its old value.
    assert.equal(
      value(families, 'rebound_gateway_latency_seconds{service="payment-api",percentile="50"}'),
      undefined,
    );
    assert.equal(
      value(families, 'rebound_circuit_state{kind="gateway",name="payment-api",state="isolated"}'),
      1,
    );
  });

  it('is accepted by `promtool check metrics` (Debian package prometheus)', async () => {
    const text = await createMetricsExposition(fakeControlPlane()).render();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(
      result.error,
      undefined,
      'promtool must be installed (Debian package prometheus) to check the exposition',
    );
    assert.equal(result.status, 0, `promtool check metrics: ${result.stdout}${result.stderr}`);
  });
});
