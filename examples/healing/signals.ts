// The signals policies are evaluated against, beside the gateway's traffic: metrics POSTed to
// /api/events, Prometheus text scraped from a service, and Alertmanager webhooks (version 4).

import assert from 'node:assert/strict';
import {
  alertMetrics,
  alertService,
  parseAlertmanagerPayload,
  parseMetricsEvent,
  parsePrometheusText,
  serviceMetricsFromSamples,
} from 'rebound/healing';

// --- POST /api/events: a service and its metrics, checked strictly, every problem with its path ---
const event = parseMetricsEvent({ service: 'payment-api', metrics: { cpu_util: 0.95, queue_depth: 120 } });
assert.ok(event.ok);
assert.deepEqual(event.value.metrics, { cpu_util: 0.95, queue_depth: 120 });
const bad = parseMetricsEvent({ service: 'payment-api', metrics: { cpu_util: 'high' }, extra: 1 });
assert.ok(!bad.ok);
assert.deepEqual(bad.problems, [
  { path: 'metrics.cpu_util', message: 'must be a finite number, got "high"' },
  { path: 'extra', message: 'is not a known field' },
]);
console.log(`event refused: ${bad.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);

// --- a scrape of /metrics: unlabelled samples are taken under their own names ---
const scraped = parsePrometheusText(`# HELP cpu_util CPU used over the last second.
# TYPE cpu_util gauge
cpu_util 0.93
memory_util 0.88
process_resident_memory_bytes 7.3e+07
http_requests_total{code="200"} 1027
http_request_duration_seconds{quantile="0.99"} NaN
`);
assert.equal(scraped.malformed, 0);
const metrics = serviceMetricsFromSamples(scraped.samples);
// Labelled series are left out (which of several would be "the" value?), and so are NaN and ±Inf.
assert.deepEqual(metrics, { cpu_util: 0.93, memory_util: 0.88, process_resident_memory_bytes: 73_000_000 });
console.log(`scraped: ${JSON.stringify(metrics)}`);

// --- Alertmanager's webhook: the service from the label service, else job, else app ---
const payload = parseAlertmanagerPayload({
  version: '4',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'HighLatency', job: 'payment-api', severity: 'critical' },
      annotations: { summary: 'p99 above 500 ms for 5 minutes' },
      startsAt: '2025-01-01T12:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: 'c0ffee',
    },
  ],
});
assert.ok(payload.ok);
const [alert] = payload.value.alerts;
assert.equal(alertService(alert!), 'payment-api');
// While it fires, two metrics a policy can name: alert_firing, and alert:<alertname>.
assert.deepEqual(alertMetrics(alert!), { alert_firing: 1, 'alert:HighLatency': 1 });
console.log(`alert for ${alertService(alert!)}: ${JSON.stringify(alertMetrics(alert!))}`);

const wrongVersion = parseAlertmanagerPayload({ version: '3', status: 'firing', alerts: [] });
assert.ok(!wrongVersion.ok);
assert.deepEqual(wrongVersion.problems, [
  { path: 'version', message: 'must be "4" (the webhook version Alertmanager sends), got "3"' },
]);
console.log(`refused: version ${wrongVersion.problems[0]!.message}`);
