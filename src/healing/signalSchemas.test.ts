// The signal bodies: events and Alertmanager webhooks accepted or refused with every problem at its
// path, and alerts turned into a service's metrics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertmanagerAlert } from './controlPlaneTypes.ts';
import {
  alertMetrics,
  alertService,
  MAX_EVENT_METRICS,
  parseAlertmanagerPayload,
  parseMetricsEvent,
  type SignalParse,
} from './signalSchemas.ts';

// Byte for byte what Alertmanager 0.25.0 (Debian's prometheus-alertmanager) POSTed to a webhook
// receiver for one alert posted to its API, firing and then resolved. Alertmanager's documentation
// shows only the template of this body (<string>, <object>), so these were captured from the real thing.
const FIRING = String.raw`{"receiver":"rebound","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighLatency","instance":"127.0.0.1:9100","service":"payment-api","severity":"critical"},"annotations":{"description":"payment-api p99 is 812 ms","summary":"p99 latency above 500 ms"},"startsAt":"2026-11-24T03:10:02Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example:9090/graph?g0.expr=latency_p99+%3E+500\u0026g0.tab=1","fingerprint":"8e7be50b66b14daa"}],"groupLabels":{"alertname":"HighLatency","service":"payment-api"},"commonLabels":{"alertname":"HighLatency","instance":"127.0.0.1:9100","service":"payment-api","severity":"critical"},"commonAnnotations":{"description":"payment-api p99 is 812 ms","summary":"p99 latency above 500 ms"},"externalURL":"http://vm:39093","version":"4","groupKey":"{}:{alertname=\"HighLatency\", service=\"payment-api\"}","truncatedAlerts":0}`;
const RESOLVED = String.raw`{"receiver":"rebound","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"HighLatency","instance":"127.0.0.1:9100","service":"payment-api","severity":"critical"},"annotations":{"description":"payment-api p99 is 812 ms","summary":"p99 latency above 500 ms"},"startsAt":"2026-11-24T03:10:02Z","endsAt":"2026-11-24T03:10:06Z","generatorURL":"http://prometheus.example:9090/graph?g0.expr=latency_p99+%3E+500\u0026g0.tab=1","fingerprint":"8e7be50b66b14daa"}],"groupLabels":{"alertname":"HighLatency","service":"payment-api"},"commonLabels":{"alertname":"HighLatency","instance":"127.0.0.1:9100","service":"payment-api","severity":"critical"},"commonAnnotations":{"description":"payment-api p99 is 812 ms","summary":"p99 latency above 500 ms"},"externalURL":"http://vm:39093","version":"4","groupKey":"{}:{alertname=\"HighLatency\", service=\"payment-api\"}","truncatedAlerts":0}`;

function problems<T>(result: SignalParse<T>): [string, string][] {
  assert.equal(result.ok, false, 'expected the body to be refused');
  return result.ok ? [] : result.problems.map((problem) => [problem.path, problem.message]);
}

function valueOf<T>(result: SignalParse<T>): T {
  if (!result.ok) assert.fail(`refused: ${JSON.stringify(result.problems)}`);
  return result.value;
}

function alertOf(overrides: Partial<AlertmanagerAlert> = {}): AlertmanagerAlert {
  return {
    status: 'firing',
    labels: { alertname: 'HighLatency', service: 'payment-api' },
    annotations: {},
    startsAt: '2026-11-24T03:10:02Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    fingerprint: 'f1',
    ...overrides,
  };
}

describe('parseMetricsEvent', () => {
  it('accepts a service and its metrics, answering a copy', () => {
    const metrics = { latency_p99: 812.5, error_rate: 0.15, throughput: 240, cpu_util: 0.9, _custom: -1 };
    const body = { service: 'payment-api', metrics };
    const value = valueOf(parseMetricsEvent(body));
    assert.deepEqual(value, body);
    metrics.cpu_util = 0;
    assert.equal(value.metrics.cpu_util, 0.9);
  });

  it('accepts exactly MAX_EVENT_METRICS metrics and refuses one more', () => {
    const many = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`m_${i}`, i]));
    assert.equal(MAX_EVENT_METRICS, 100);
    valueOf(parseMetricsEvent({ service: 's', metrics: many(100) }));
    assert.deepEqual(problems(parseMetricsEvent({ service: 's', metrics: many(101) })), [
      ['metrics', 'must have at most 100 metrics, got 101'],
    ]);
  });

  it('reports every problem at its path at once', () => {
    const body = {
      service: '',
      metrics: { 'cpu-util': 1, '9lives': 1, x: 'high', y: null, ok: 1 },
      extra: 1,
    };
    assert.deepEqual(problems(parseMetricsEvent(body)), [
      ['service', 'must not be empty'],
      ['metrics["cpu-util"]', 'is not a metric name (letters, digits and _, not starting with a digit)'],
      ['metrics["9lives"]', 'is not a metric name (letters, digits and _, not starting with a digit)'],
      ['metrics.x', 'must be a finite number, got "high"'],
      ['metrics.y', 'must be a finite number, got null'],
      ['extra', 'is not a known field'],
    ]);
  });

  it('refuses what is not a finite number, even when it did not come from JSON', () => {
    assert.deepEqual(
      problems(parseMetricsEvent({ service: 's', metrics: { a: Infinity, b: NaN, c: -Infinity, d: [1] } })),
      [
        ['metrics.a', 'must be a finite number, got Infinity'],
        ['metrics.b', 'must be a finite number, got NaN'],
        ['metrics.c', 'must be a finite number, got -Infinity'],
        ['metrics.d', 'must be a finite number, got an array'],
      ],
    );
  });

  it('refuses missing, empty and mistyped parts, and bodies that are not objects', () => {
    assert.deepEqual(problems(parseMetricsEvent({})), [
      ['service', 'is required'],
      ['metrics', 'is required'],
    ]);
    assert.deepEqual(problems(parseMetricsEvent({ service: 7, metrics: {} })), [
      ['service', 'must be a string, got 7'],
      ['metrics', 'must have at least one metric'],
    ]);
    assert.deepEqual(problems(parseMetricsEvent({ service: 's', metrics: [1] })), [
      ['metrics', 'must be an object of metric names to numbers, got an array'],
    ]);
    assert.deepEqual(problems(parseMetricsEvent(null)), [['', 'must be an object, got null']]);
    assert.deepEqual(problems(parseMetricsEvent([])), [['', 'must be an object, got an array']]);
    assert.deepEqual(problems(parseMetricsEvent('{"service":"s"}')), [
      ['', 'must be an object, got "{\\"service\\":\\"s\\"}"'],
    ]);
  });

  it('refuses __proto__ as a metric name instead of dropping it', () => {
    const body: unknown = JSON.parse('{"service":"s","metrics":{"__proto__":1,"cpu_util":0.5}}');
    assert.deepEqual(problems(parseMetricsEvent(body)), [
      ['metrics.__proto__', 'is not allowed as a metric name'],
    ]);
  });
});

describe('parseAlertmanagerPayload', () => {
  it("accepts Alertmanager's real firing webhook, every field kept", () => {
    const value = valueOf(parseAlertmanagerPayload(JSON.parse(FIRING)));
    assert.deepEqual(value, JSON.parse(FIRING));
    assert.equal(
      value.alerts[0]!.generatorURL,
      'http://prometheus.example:9090/graph?g0.expr=latency_p99+%3E+500&g0.tab=1',
    );
    assert.equal(value.groupKey, '{}:{alertname="HighLatency", service="payment-api"}');
    assert.equal(alertService(value.alerts[0]!), 'payment-api');
    assert.deepEqual(alertMetrics(value.alerts[0]!), { alert_firing: 1, 'alert:HighLatency': 1 });
  });

  it("accepts Alertmanager's real resolved webhook", () => {
    const value = valueOf(parseAlertmanagerPayload(JSON.parse(RESOLVED)));
    assert.deepEqual(value, JSON.parse(RESOLVED));
    assert.equal(value.status, 'resolved');
    assert.deepEqual(alertMetrics(value.alerts[0]!), { alert_firing: 0, 'alert:HighLatency': 0 });
  });

  it('accepts and drops fields it does not know, at the top and in alerts', () => {
    const body = JSON.parse(FIRING);
    body.orgId = 1;
    body.alerts[0].silenceURL = 'http://grafana/silence';
    body.alerts[0].values = { B: 44.2 };
    const value = valueOf(parseAlertmanagerPayload(body));
    assert.deepEqual(value, JSON.parse(FIRING));
    assert.equal('orgId' in value, false);
  });

  it('defaults what Alertmanager always sends but a hand-written alert may leave out', () => {
    const body = { version: '4', status: 'firing', alerts: [{ ...alertOf(), generatorURL: undefined }] };
    assert.deepEqual(valueOf(parseAlertmanagerPayload(body)), {
      version: '4',
      status: 'firing',
      alerts: [alertOf()],
      groupKey: '',
      truncatedAlerts: 0,
      receiver: '',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: '',
    });
    assert.deepEqual(
      valueOf(parseAlertmanagerPayload({ version: '4', status: 'resolved', alerts: [] })).alerts,
      [],
    );
  });

  it('refuses every version but "4", saying which it got', () => {
    for (const [version, got] of [
      ['3', '"3"'],
      [4, '4'],
      ['4.0', '"4.0"'],
      ['', '""'],
    ] as const) {
      const body = { ...JSON.parse(FIRING), version };
      assert.deepEqual(problems(parseAlertmanagerPayload(body)), [
        ['version', `must be "4" (the webhook version Alertmanager sends), got ${got}`],
      ]);
    }
    const { version: _version, ...withoutVersion } = JSON.parse(FIRING);
    assert.deepEqual(problems(parseAlertmanagerPayload(withoutVersion)), [['version', 'is required']]);
  });

  it('reports every problem of the payload and its alerts at its path', () => {
    const body = {
      version: '4',
      status: 'up',
      truncatedAlerts: -1,
      groupLabels: [],
      alerts: [
        alertOf(),
        {
          status: 'pending',
          labels: { alertname: 'X', severity: 3 },
          annotations: null,
          startsAt: 'yesterday',
          endsAt: '2026-13-45T99:00:00Z',
          generatorURL: 5,
          fingerprint: '',
        },
        {},
      ],
    };
    assert.deepEqual(problems(parseAlertmanagerPayload(body)), [
      ['status', 'must be one of "firing", "resolved", got "up"'],
      ['alerts[1].status', 'must be one of "firing", "resolved", got "pending"'],
      ['alerts[1].labels.severity', 'must be a string, got 3'],
      ['alerts[1].annotations', 'must be an object, got null'],
      ['alerts[1].startsAt', 'must be an RFC 3339 time such as "2024-05-01T12:00:00Z", got "yesterday"'],
      [
        'alerts[1].endsAt',
        'must be an RFC 3339 time such as "2024-05-01T12:00:00Z", got "2026-13-45T99:00:00Z"',
      ],
      ['alerts[1].generatorURL', 'must be a string, got 5'],
      ['alerts[1].fingerprint', 'must not be empty'],
      ['alerts[2].status', 'is required'],
      ['alerts[2].labels', 'is required'],
      ['alerts[2].annotations', 'is required'],
      ['alerts[2].startsAt', 'is required'],
      ['alerts[2].endsAt', 'is required'],
      ['alerts[2].fingerprint', 'is required'],
      ['truncatedAlerts', 'must be >= 0, got -1'],
      ['groupLabels', 'must be an object, got an array'],
    ]);
  });

  it('takes the times Alertmanager writes: nanoseconds, offsets, the zero time', () => {
    for (const time of [
      '2018-08-03T09:52:26.739266876+02:00',
      '2023-02-06T13:08:45.828Z',
      '0001-01-01T00:00:00Z',
    ]) {
      valueOf(
        parseAlertmanagerPayload({ version: '4', status: 'firing', alerts: [alertOf({ startsAt: time })] }),
      );
    }
  });

  it('refuses a body that is not an object, and an alerts that is not an array', () => {
    assert.deepEqual(problems(parseAlertmanagerPayload(undefined)), [['', 'is required']]);
    assert.deepEqual(problems(parseAlertmanagerPayload([JSON.parse(FIRING)])), [
      ['', 'must be an object, got an array'],
    ]);
    assert.deepEqual(problems(parseAlertmanagerPayload({ version: '4', status: 'firing', alerts: {} })), [
      ['alerts', 'must be an array, got an object'],
    ]);
  });
});

describe('alertService', () => {
  it('reads the label service, else job, else app; undefined when none names one', () => {
    assert.equal(alertService(alertOf({ labels: { service: 'a', job: 'b', app: 'c' } })), 'a');
    assert.equal(alertService(alertOf({ labels: { job: 'b', app: 'c' } })), 'b');
    assert.equal(alertService(alertOf({ labels: { app: 'c' } })), 'c');
    assert.equal(alertService(alertOf({ labels: { service: '', job: 'b' } })), 'b');
    assert.equal(alertService(alertOf({ labels: { alertname: 'X' } })), undefined);
  });
});

describe('alertMetrics', () => {
  it('sets alert_firing and alert:<alertname> to 1 while firing, 0 once resolved', () => {
    assert.deepEqual(alertMetrics(alertOf()), { alert_firing: 1, 'alert:HighLatency': 1 });
    assert.deepEqual(alertMetrics(alertOf({ status: 'resolved' })), {
      alert_firing: 0,
      'alert:HighLatency': 0,
    });
  });

  it('sets only alert_firing for an alert without an alertname', () => {
    assert.deepEqual(alertMetrics(alertOf({ labels: { service: 's' } })), { alert_firing: 1 });
    assert.deepEqual(alertMetrics(alertOf({ labels: { alertname: '' } })), { alert_firing: 1 });
  });
});
