// The Prometheus text parser: the exposition format line by line, real prom-client output in both
// formats, and which samples become a service's metrics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  collectDefaultMetrics,
  Gauge,
  type OpenMetricsContentType,
  Registry,
  type RegistryContentType,
} from 'prom-client';
import { parsePrometheusText, serviceMetricsFromSamples, type PrometheusSample } from './prometheusText.ts';

const EXPOSITION = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# A summary with no observations yet:
rpc_duration_seconds{quantile="0.5"} NaN
cpu_util 0.42
latency_p99 812.5
`;

const sample = (
  name: string,
  labels: Record<string, string>,
  value: number,
  timestampMs?: number,
): PrometheusSample =>
  timestampMs === undefined ? { name, labels, value } : { name, labels, value, timestampMs };

describe('parsePrometheusText', () => {
  it('reads every sample of a 0.0.4 exposition: labels, escapes, timestamps, Inf and NaN', () => {
    const { samples, malformed } = parsePrometheusText(EXPOSITION);
    assert.equal(malformed, 0);
    assert.deepEqual(samples, [
      sample('http_requests_total', { method: 'post', code: '200' }, 1027, 1395066363000),
      sample('http_requests_total', { method: 'post', code: '400' }, 3, 1395066363000),
      sample(
        'msdos_file_access_time_seconds',
        { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' },
        1.458255915e9,
      ),
      sample('metric_without_timestamp_and_labels', {}, 12.47),
      sample('something_weird', { problem: 'division by zero' }, Infinity, -3982045),
      sample('http_request_duration_seconds_bucket', { le: '0.05' }, 24054),
      sample('http_request_duration_seconds_bucket', { le: '+Inf' }, 144320),
      sample('http_request_duration_seconds_sum', {}, 53423),
      sample('http_request_duration_seconds_count', {}, 144320),
      sample('rpc_duration_seconds', { quantile: '0.5' }, NaN),
      sample('cpu_util', {}, 0.42),
      sample('latency_p99', {}, 812.5),
    ]);
  });

  it('reads the spellings of special and scientific values', () => {
    const text = ['a -Inf', 'b +inf', 'c Inf', 'd nan', 'e -1.5e-3', 'f .5', 'g 1E3', 'h -0', 'i 7.'].join(
      '\n',
    );
    const values = parsePrometheusText(text).samples.map((s) => s.value);
    assert.deepEqual(values, [-Infinity, Infinity, Infinity, NaN, -0.0015, 0.5, 1000, -0, 7]);
  });

  it('skips and counts malformed lines, keeping the good ones around them', () => {
    const bad = [
      'no_value',
      'bad value here x',
      '1starts_with_digit 1',
      'metric{label="unterminated} 1',
      'metric{label=unquoted} 1',
      'metric{label="v" 1',
      'metric{label="bad escape \\t"} 1',
      'metric{a="1",a="2"} 1',
      'metric{-x="1"} 1',
      'metric 1 2 3',
      'metric twelve',
      'metric 1 yesterday',
      '{"utf8.name"} 1',
    ];
    const text = ['good_first 1', ...bad, 'good_last{x="y"} 2'].join('\n');
    const { samples, malformed } = parsePrometheusText(text);
    assert.equal(malformed, bad.length);
    assert.deepEqual(
      samples.map((s) => s.name),
      ['good_first', 'good_last'],
    );
  });

  it('takes blanks inside braces or none after them, a trailing comma, CRLF, tabs, leading blanks', () => {
    const text =
      'up{ job = "api" , instance="a:1", } 1\r\n\tdown\t0\t5\r\n   spaced   3  \r\ntight{a="1"}2\n';
    assert.deepEqual(parsePrometheusText(text), {
      samples: [
        sample('up', { job: 'api', instance: 'a:1' }, 1),
        sample('down', {}, 0, 5),
        sample('spaced', {}, 3),
        sample('tight', { a: '1' }, 2),
      ],
      malformed: 0,
    });
  });

  it('keeps label values with braces, commas, hashes and unicode as they are', () => {
    const text = 'm{q="a,b}{c} # not an exemplar",u="héllo 😀"} 1';
    assert.deepEqual(parsePrometheusText(text).samples, [
      sample('m', { q: 'a,b}{c} # not an exemplar', u: 'héllo 😀' }, 1),
    ]);
  });

  it('reads OpenMetrics: exemplars ignored, timestamps in seconds, nothing after # EOF', () => {
    const text = [
      '# TYPE requests counter',
      '# UNIT requests_seconds seconds',
      'requests_total{path="/"} 17 1700000000.5 # {trace_id="abc"} 0.3 1700000000.1',
      'requests_created{path="/"} 1.7e9',
      'latency_p99 812 # {trace_id="def"} 900',
      '# EOF',
      'after_eof 1',
    ].join('\n');
    assert.deepEqual(parsePrometheusText(text), {
      samples: [
        sample('requests_total', { path: '/' }, 17, 1700000000500),
        sample('requests_created', { path: '/' }, 1.7e9),
        sample('latency_p99', {}, 812),
      ],
      malformed: 0,
    });
  });

  it('answers nothing for an empty text or only comments', () => {
    assert.deepEqual(parsePrometheusText(''), { samples: [], malformed: 0 });
    assert.deepEqual(parsePrometheusText('\n# HELP x y\n# TYPE x gauge\n\n'), { samples: [], malformed: 0 });
  });

  it('keeps a label named like an Object.prototype member as an ordinary label', () => {
    const [parsed] = parsePrometheusText('m{__proto__="x",constructor="y",toString="z"} 1').samples;
    assert.deepEqual(Object.keys(parsed!.labels), ['__proto__', 'constructor', 'toString']);
    assert.equal(Object.getPrototypeOf(parsed!.labels), Object.prototype);
    assert.equal(parsed!.labels.constructor, 'y');
  });

  it('reads what prom-client 15 exposes, in the Prometheus and the OpenMetrics format', async () => {
    const openMetrics = new Registry<OpenMetricsContentType>();
    openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registries = [new Registry(), openMetrics] as Registry<RegistryContentType>[];
    for (const registry of registries) {
      const { contentType } = registry;
      collectDefaultMetrics({ register: registry });
      const gauge = new Gauge({ name: 'cpu_util', help: 'CPU in use, 0–1', registers: [registry] });
      gauge.set(0.37);
      const labelled = new Gauge({
        name: 'queue_depth',
        help: 'Jobs waiting',
        labelNames: ['queue'],
        registers: [registry],
      });
      labelled.set({ queue: 'say "hi"\\n' }, 4);
      const text = await registry.metrics();
      assert.equal(text.trimEnd().endsWith('# EOF'), registry === openMetrics, contentType);
      const { samples, malformed } = parsePrometheusText(text);
      assert.equal(malformed, 0, contentType);
      const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
      assert.equal(samples.length, lines.length, contentType);
      assert.deepEqual(
        samples.find((s) => s.name === 'queue_depth'),
        sample('queue_depth', { queue: 'say "hi"\\n' }, 4),
      );
      const metrics = serviceMetricsFromSamples(samples);
      assert.equal(metrics.cpu_util, 0.37, contentType);
      assert.ok(metrics.process_cpu_seconds_total! >= 0, contentType);
      assert.ok(metrics.process_resident_memory_bytes! > 1_000_000, contentType);
      assert.equal(metrics.queue_depth, undefined, contentType);
    }
  });
});

describe('serviceMetricsFromSamples', () => {
  it('takes every unlabelled, finite sample by name, the last of a name winning', () => {
    const { samples } = parsePrometheusText(EXPOSITION + 'cpu_util 0.5\nerror_rate NaN\nthroughput +Inf\n');
    assert.deepEqual(serviceMetricsFromSamples(samples), {
      metric_without_timestamp_and_labels: 12.47,
      http_request_duration_seconds_sum: 53423,
      http_request_duration_seconds_count: 144320,
      cpu_util: 0.5,
      latency_p99: 812.5,
    });
  });

  it('passes the process metrics through under their names', () => {
    const { samples } = parsePrometheusText(
      'process_cpu_seconds_total 12.5\nprocess_resident_memory_bytes 5.1e7\nmemory_util 0.8\nqueue_depth 3\n',
    );
    assert.deepEqual(serviceMetricsFromSamples(samples), {
      process_cpu_seconds_total: 12.5,
      process_resident_memory_bytes: 5.1e7,
      memory_util: 0.8,
      queue_depth: 3,
    });
  });

  it('treats a sample named __proto__ as a metric, not as the prototype', () => {
    const metrics = serviceMetricsFromSamples([sample('__proto__', {}, 1), sample('cpu_util', {}, 0.2)]);
    assert.deepEqual(Object.keys(metrics), ['__proto__', 'cpu_util']);
    assert.equal(Object.getPrototypeOf(metrics), Object.prototype);
  });
});
