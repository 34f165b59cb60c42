import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BreakerRegistry } from '../policies/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { until } from '../../test/support/waiting.ts';
import { freePort } from './processes.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/support/webhookReceiver.ts';
import { parseConfig } from './config.ts';
import type { EscalationConfig } from './configTypes.ts';
import {
  type DeliveryView,
  Escalator,
  type EscalatorOptions,
  isEscalatorClosedError,
  type Notification,
  WEBHOOK_BREAKER_KIND,
} from './escalation.ts';

const ROUTING_KEY = 'R0UTINGKEYabcdef0123456789abcdef';
const HEADER_SECRET = 'Bearer h3ader-s3cret-value';

const page = (extra: Partial<Notification> = {}): Notification => ({
  id: 'rebound-api-inc-1',
  action: 'trigger',
  service: 'api',
  severity: 'critical',
  summary: 'api: automatic healing failed (latency_p99 > 500)',
  tried: ['Critical Latency Spike: restart-service succeeded but latency_p99 still 800'],
  details: { incident: 'inc-1' },
  at: Date.parse('2025-03-01T12:00:00.000Z'),
  ...extra,
});

/** Escalation targets as rebound.yaml gives them. */
function targets(yaml: string): readonly EscalationConfig[] {
  return parseConfig(`services:\n  api: { command: node api.js }\nescalation:\n${yaml}`, { env: {} })
    .escalation;
}

const fast: Pick<EscalatorOptions, 'retry' | 'breaker'> = {
  retry: { initialMs: 5, maxMs: 20 },
  breaker: { failures: 50, openMs: 60_000 },
};

describe('Escalator', () => {
  let receiver: WebhookReceiver;
  let store: Store;
  const escalators: Escalator[] = [];
  const escalator = (options: Omit<EscalatorOptions, 'store'> & { store?: EscalatorOptions['store'] }) => {
    const created = new Escalator({ store, ...fast, ...options });
    escalators.push(created);
    return created;
  };
  const deliveriesOf = async (instance: Escalator, status?: string) =>
    instance.deliveries(status === undefined ? {} : { status });
  const waitForStatus = async (instance: Escalator, status: string, count = 1): Promise<DeliveryView[]> => {
    let found: DeliveryView[] = [];
    await until(
      async () => (found = await deliveriesOf(instance, status)).length >= count,
      `${count} ${status} deliveries`,
    );
    return found;
  };

  before(async () => {
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  // Each test gets a fresh store and receiver state.
  const fresh = async () => {
    for (const instance of escalators.splice(0)) await instance.close();
    store = await openStore('memory:');
    receiver.received.length = 0;
    receiver.answerAlways({ status: 202, body: { status: 'success' } });
  };

  it('persists a pending delivery, then posts it to the webhook and records it delivered', async () => {
    await fresh();
    const instance = escalator({
      targets: targets(`  - name: ops
    webhook:
      url: ${receiver.origin}/hook
      headers: { authorization: "${HEADER_SECRET}" }`),
    });
    const seen: string[] = [];
    instance.onDelivery((delivery) => seen.push(`${delivery.status}/${delivery.attempts}`));
    await instance.send(page());
    // send() resolves once persisted: the record exists before the answer came back.
    const stored = await store.records.list('escalation');
    assert.equal(stored.length, 1);
    assert.equal(JSON.parse(stored[0]!.data).status, 'pending');
    assert.equal(stored[0]!.service, 'api');

    const [delivered] = await waitForStatus(instance, 'delivered');
    const [request] = await receiver.waitFor(1);
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, '/hook');
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers.authorization, HEADER_SECRET);
    assert.deepEqual(request!.body, {
      version: 1,
      id: 'rebound-api-inc-1',
      action: 'trigger',
      service: 'api',
      severity: 'critical',
      summary: 'api: automatic healing failed (latency_p99 > 500)',
      tried: ['Critical Latency Spike: restart-service succeeded but latency_p99 still 800'],
      details: { incident: 'inc-1' },
      at: '2025-03-01T12:00:00.000Z',
    });
    assert.equal(delivered!.target, 'ops');
    assert.equal(delivered!.format, 'generic');
    assert.equal(delivered!.attempts, 1);
    assert.equal(delivered!.lastError, null);
    assert.equal(delivered!.notificationId, 'rebound-api-inc-1');
    assert.ok(delivered!.deliveredAt !== null);
    assert.deepEqual(seen, ['pending/0', 'delivered/1']);
  });

  it('sends a PagerDuty Events API v2 body with the routing key, and never shows the key', async () => {
    await fresh();
    const instance = escalator({
      targets: targets(
        `  - webhook: { url: "${receiver.origin}/v2/enqueue", format: pagerduty, routingKey: ${ROUTING_KEY} }`,
      ),
    });
    await instance.send(page());
    const [request] = await receiver.waitFor(1);
    const body = request!.body as {
      routing_key: string;
      event_action: string;
      dedup_key: string;
      payload: unknown;
    };
    assert.equal(request!.path, '/v2/enqueue');
    assert.equal(body.routing_key, ROUTING_KEY);
    assert.equal(body.event_action, 'trigger');
    assert.equal(body.dedup_key, 'rebound-api-inc-1');
    const views = await waitForStatus(instance, 'delivered');
    assert.ok(!JSON.stringify(views).includes(ROUTING_KEY));
    // The store holds no routing key either: it is taken from the config at delivery time.
    const stored = await store.records.list('escalation');
    assert.ok(!stored[0]!.data.includes(ROUTING_KEY));
  });

  it('sends only to targets whose minSeverity the notification reaches', async () => {
    await fresh();
    const instance = escalator({
      targets: targets(`  - { name: pager, minSeverity: high, webhook: { url: "${receiver.origin}/pager" } }
  - { name: chat, webhook: { url: "${receiver.origin}/chat" } }
  - { name: critical-only, minSeverity: critical, webhook: { url: "${receiver.origin}/critical" } }`),
    });
    await instance.send(page({ severity: 'medium', id: 'medium' }));
    await instance.send(page({ severity: 'high', id: 'high' }));
    await waitForStatus(instance, 'delivered', 3);
    const byPath = receiver.received.map(
      (request) => `${request.path} ${(request.body as { id: string }).id}`,
    );
    assert.deepEqual(byPath.sort(), ['/chat high', '/chat medium', '/pager high']);
  });

  it('retries after a 500 and a 429 (honouring Retry-After), then records the delivery', async () => {
    await fresh();
    receiver.answerNext(
      { status: 500, body: 'upstream exploded' },
      { status: 429, headers: { 'retry-after': '0.05' }, body: { message: 'slow down' } },
    );
    const instance = escalator({
      targets: targets(`  - { name: ops, webhook: { url: "${receiver.origin}/hook" } }`),
    });
    const failures: string[] = [];
    instance.onDelivery((delivery) => {
      if (delivery.status === 'pending' && delivery.lastError !== null) failures.push(delivery.lastError);
    });
    await instance.send(page());
    const [delivered] = await waitForStatus(instance, 'delivered');
    assert.equal(delivered!.attempts, 3);
    assert.deepEqual(failures, ['HTTP 500: upstream exploded', 'HTTP 429: {"message":"slow down"}']);
    const requests = receiver.received;
    assert.equal(requests.length, 3);
    assert.equal(requests[0]!.text, requests[2]!.text);
    // Retry-After: 0.05 s between the 429 and the next request.
    assert.ok(requests[2]!.at - requests[1]!.at >= 45, `waited ${requests[2]!.at - requests[1]!.at} ms`);
  });

  it('sends a resolve only after the trigger it resolves was delivered', async () => {
    await fresh();
    receiver.answerNext({ status: 503 }, { status: 503 });
    const instance = escalator({
      targets: targets(
        `  - webhook: { url: "${receiver.origin}/v2/enqueue", format: pagerduty, routingKey: ${ROUTING_KEY} }`,
      ),
    });
    await instance.send(page());
    await instance.send(page({ action: 'resolve' }));
    await waitForStatus(instance, 'delivered', 2);
    const sent = receiver.received.map((request) => {
      const body = request.body as { event_action: string; dedup_key: string };
      return `${body.event_action} ${body.dedup_key}`;
    });
    assert.deepEqual(sent, [
      'trigger rebound-api-inc-1',
      'trigger rebound-api-inc-1',
      'trigger rebound-api-inc-1',
      'resolve rebound-api-inc-1',
    ]);
  });

  it('records a 400 as rejected and does not send it again', async () => {
    await fresh();
    receiver.answerNext({ status: 400, body: { message: `invalid routing key ${ROUTING_KEY}` } });
    const instance = escalator({
      targets: targets(
        `  - webhook: { url: "${receiver.origin}/v2/enqueue", format: pagerduty, routingKey: ${ROUTING_KEY} }`,
      ),
    });
    await instance.send(page());
    const [rejected] = await waitForStatus(instance, 'rejected');
    assert.equal(rejected!.attempts, 1);
    assert.match(rejected!.lastError!, /^HTTP 400: /);
    // The receiver echoed the key: the message shows it redacted.
    assert.ok(!rejected!.lastError!.includes(ROUTING_KEY), rejected!.lastError!);
    assert.ok(rejected!.lastError!.includes('[redacted]'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(receiver.received.length, 1);
    assert.deepEqual(await deliveriesOf(instance, 'pending'), []);
  });

  it('opens the target’s breaker when it is dead, and stops connecting while it is open', async () => {
    await fresh();
    const port = await freePort('127.0.0.1');
    const breakers = new BreakerRegistry();
    const instance = escalator({
      targets: targets(`  - { name: dead, webhook: { url: "http://127.0.0.1:${port}/hook" } }`),
      breakers,
      breaker: { failures: 3, openMs: 60_000 },
    });
    const errors: string[] = [];
    instance.onDelivery((delivery) => {
      if (delivery.lastError !== null) errors.push(delivery.lastError);
    });
    await instance.send(page());
    await until(() => errors.some((error) => error.includes('is open')), 'the breaker to refuse a delivery');
    const breaker = breakers.get(WEBHOOK_BREAKER_KIND, 'dead');
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.stats().failures, 3);
    assert.match(errors[0]!, /^request failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    assert.match(errors.at(-1)!, /circuit 'webhook:dead' is open/);
    const [pending] = await deliveriesOf(instance, 'pending');
    assert.equal(pending!.attempts, 3);
  });

  it('lets a trial through once the breaker’s open period is over, and delivers', async () => {
    await fresh();
    receiver.answerAlways({ status: 503, body: 'down for maintenance' });
    const breakers = new BreakerRegistry();
    const instance = escalator({
      targets: targets(`  - { name: flaky, webhook: { url: "${receiver.origin}/hook" } }`),
      breakers,
      breaker: { failures: 2, openMs: 300 },
    });
    const errors: string[] = [];
    instance.onDelivery((delivery) => {
      if (delivery.lastError !== null) errors.push(delivery.lastError);
    });
    await instance.send(page());
    await until(() => errors.some((error) => error.includes('is open')), 'the breaker to open');
    assert.equal(receiver.received.length, 2);
    receiver.answerAlways({ status: 202 });
    const [delivered] = await waitForStatus(instance, 'delivered');
    assert.equal(delivered!.attempts, 3);
    assert.equal(breakers.get(WEBHOOK_BREAKER_KIND, 'flaky').state, 'closed');
  });

  it('keeps an undelivered page pending across close(), and a new Escalator on the same store sends it', async () => {
    await fresh();
    receiver.answerAlways({ status: 503 });
    const config = targets(`  - { name: ops, webhook: { url: "${receiver.origin}/hook" } }`);
    const first = escalator({ targets: config });
    await first.send(page());
    await receiver.waitFor(2);
    await first.close();
    await assert.rejects(first.send(page()), isEscalatorClosedError);
    const [pending] = await deliveriesOf(first, 'pending');
    assert.ok(pending!.attempts >= 2);
    assert.equal(pending!.lastError, 'HTTP 503');
    const sentBefore = receiver.received.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(receiver.received.length, sentBefore, 'nothing is sent after close()');

    receiver.answerAlways({ status: 202 });
    const second = escalator({ targets: config });
    await second.resume();
    const [delivered] = await waitForStatus(second, 'delivered');
    assert.equal(delivered!.id, pending!.id);
    assert.equal(delivered!.attempts, pending!.attempts + 1);
    assert.equal(receiver.received.length, sentBefore + 1);
    assert.deepEqual(receiver.received.at(-1)!.body, receiver.received[0]!.body);
  });

  it('leaves a pending delivery whose target left the config pending, saying why', async () => {
    await fresh();
    receiver.answerAlways({ status: 503 });
    const first = escalator({
      targets: targets(`  - { name: old, webhook: { url: "${receiver.origin}/old" } }`),
    });
    await first.send(page());
    await receiver.waitFor(1);
    await first.close();
    const second = escalator({
      targets: targets(`  - { name: new, webhook: { url: "${receiver.origin}/new" } }`),
    });
    await second.resume();
    const [pending] = await deliveriesOf(second, 'pending');
    assert.equal(pending!.lastError, 'its target is no longer in the config');
    assert.equal(pending!.target, 'old');
  });

  it('refuses to send when the store cannot persist, and sends nothing', async () => {
    await fresh();
    const instance = escalator({
      targets: targets(`  - { name: ops, webhook: { url: "${receiver.origin}/hook" } }`),
      store: {
        records: {
          ...store.records,
          put: async () => {
            throw new Error('disk full');
          },
        },
      },
    });
    await assert.rejects(instance.send(page()), /disk full/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(receiver.received.length, 0);
  });

  it('shows no routing key, header value or Slack webhook path in its views', async () => {
    await fresh();
    receiver.answerAlways({ status: 500, body: `bad ${HEADER_SECRET}` });
    const slackPath = '/services/T000/B000/XXXXsecretXXXX';
    const instance = escalator({
      targets: targets(`  - webhook:
      url: "${receiver.origin}${slackPath}"
      format: slack
      headers: { authorization: "${HEADER_SECRET}" }
  - webhook: { url: "${receiver.origin}/v2/enqueue", format: pagerduty, routingKey: ${ROUTING_KEY} }`),
    });
    await instance.send(page());
    await receiver.waitFor(4);
    const views = await instance.deliveries();
    assert.equal(views.length, 2);
    const text = JSON.stringify(views);
    for (const secret of [ROUTING_KEY, HEADER_SECRET, 'XXXXsecretXXXX']) {
      assert.ok(!text.includes(secret), `${secret} shows in ${text}`);
    }
    assert.ok(views.some((view) => view.target === `${receiver.origin}/redacted`));
  });

  after(async () => {
    for (const instance of escalators.splice(0)) await instance.close();
  });
});
