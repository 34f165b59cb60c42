import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Severity, WebhookConfig } from './configTypes.ts';
import { formatWebhook, type Notification, PAGERDUTY_SUMMARY_MAX } from './webhookFormats.ts';

const notification: Notification = {
  id: 'rebound-payment-api-inc-7',
  action: 'trigger',
  service: 'payment-api',
  severity: 'critical',
  summary: 'payment-api: automatic healing failed (latency_p99 > 500)',
  tried: ['Critical Latency Spike: restart-service failed: exit 1; alert-oncall not run'],
  details: { incident: 'inc-7', state: 'critical' },
  at: Date.parse('2025-03-01T12:00:00.000Z'),
};

const webhook = (format: WebhookConfig['format'], extra: Partial<WebhookConfig> = {}): WebhookConfig => ({
  url: 'http://127.0.0.1:9999/hook',
  format,
  routingKey: undefined,
  headers: {},
  timeoutMs: 5_000,
  ...extra,
});

describe('formatWebhook: pagerduty', () => {
  const pagerduty = webhook('pagerduty', { routingKey: 'R0UTINGKEY0123456789abcdef012345' });

  it('builds an Events API v2 trigger with the dedup key and every payload field', () => {
    const { body, headers } = formatWebhook('pagerduty', notification, pagerduty);
    assert.deepEqual(body, {
      routing_key: 'R0UTINGKEY0123456789abcdef012345',
      event_action: 'trigger',
      dedup_key: 'rebound-payment-api-inc-7',
      payload: {
        summary: 'payment-api: automatic healing failed (latency_p99 > 500)',
        source: 'rebound/payment-api',
        severity: 'critical',
        timestamp: '2025-03-01T12:00:00.000Z',
        component: 'payment-api',
        group: 'rebound',
        class: 'incident',
        custom_details: {
          tried: ['Critical Latency Spike: restart-service failed: exit 1; alert-oncall not run'],
          incident: 'inc-7',
          state: 'critical',
        },
      },
      client: 'rebound',
    });
    assert.equal(headers['content-type'], 'application/json');
  });

  it('maps severities to PagerDuty’s four', () => {
    const mapped = (['critical', 'high', 'medium', 'low'] as Severity[]).map(
      (severity) =>
        (
          formatWebhook('pagerduty', { ...notification, severity }, pagerduty).body as {
            payload: { severity: string };
          }
        ).payload.severity,
    );
    assert.deepEqual(mapped, ['critical', 'error', 'warning', 'info']);
  });

  it('cuts the summary to 1024 characters, takes the kind as class and the link as client_url', () => {
    const long = 'x'.repeat(2_000);
    const body = formatWebhook(
      'pagerduty',
      { ...notification, summary: long, kind: 'crash-loop', link: 'http://127.0.0.1:8080/#/incidents/inc-7' },
      pagerduty,
    ).body as { payload: { summary: string; class: string }; client_url: string };
    assert.equal(body.payload.summary.length, PAGERDUTY_SUMMARY_MAX);
    assert.ok(body.payload.summary.endsWith('…'));
    assert.equal(body.payload.class, 'crash-loop');
    assert.equal(body.client_url, 'http://127.0.0.1:8080/#/incidents/inc-7');
  });

  it('sends only the routing key, the action and the dedup key to resolve', () => {
    const { body } = formatWebhook('pagerduty', { ...notification, action: 'resolve' }, pagerduty);
    assert.deepEqual(body, {
      routing_key: 'R0UTINGKEY0123456789abcdef012345',
      event_action: 'resolve',
      dedup_key: 'rebound-payment-api-inc-7',
    });
  });
});

describe('formatWebhook: generic', () => {
  it('sends rebound’s own JSON, version 1, with an ISO time', () => {
    const { body } = formatWebhook('generic', notification, webhook('generic'));
    assert.deepEqual(body, {
      version: 1,
      id: 'rebound-payment-api-inc-7',
      action: 'trigger',
      service: 'payment-api',
      severity: 'critical',
      summary: 'payment-api: automatic healing failed (latency_p99 > 500)',
      tried: ['Critical Latency Spike: restart-service failed: exit 1; alert-oncall not run'],
      details: { incident: 'inc-7', state: 'critical' },
      at: '2025-03-01T12:00:00.000Z',
    });
  });

  it('adds the configured headers over the defaults', () => {
    const { headers } = formatWebhook(
      'generic',
      notification,
      webhook('generic', { headers: { authorization: 'Bearer s3cret', 'user-agent': 'mine' } }),
    );
    assert.deepEqual(headers, {
      'content-type': 'application/json',
      'user-agent': 'mine',
      authorization: 'Bearer s3cret',
    });
  });
});

describe('formatWebhook: slack', () => {
  it('builds an incoming-webhook body: fallback text, header, severity and service, what was tried', () => {
    const { body } = formatWebhook(
      'slack',
      { ...notification, summary: 'p99 <500> & rising' },
      webhook('slack'),
    );
    assert.deepEqual(body, {
      text: '[critical] payment-api: p99 &lt;500&gt; &amp; rising',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'CRITICAL: payment-api needs a person' } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: 'p99 &lt;500&gt; &amp; rising' },
          fields: [
            { type: 'mrkdwn', text: '*Severity*\ncritical' },
            { type: 'mrkdwn', text: '*Service*\npayment-api' },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*Already tried*\n• Critical Latency Spike: restart-service failed: exit 1; alert-oncall not run',
          },
        },
        {
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: '2025-03-01T12:00:00.000Z · dedup key rebound-payment-api-inc-7' },
          ],
        },
      ],
    });
  });

  it('says resolved, and leaves out the tried section when nothing was tried', () => {
    const { body } = formatWebhook(
      'slack',
      { ...notification, action: 'resolve', tried: [], summary: 'payment-api recovered' },
      webhook('slack'),
    );
    const slack = body as { text: string; blocks: { type: string; text?: { text: string } }[] };
    assert.equal(slack.text, 'Resolved: payment-api: payment-api recovered');
    assert.equal(slack.blocks[0]!.text!.text, 'Resolved: payment-api');
    assert.deepEqual(
      slack.blocks.map((block) => block.type),
      ['header', 'section', 'context'],
    );
  });
});
