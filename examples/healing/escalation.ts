// Escalation: one page in the three webhook formats (generic, PagerDuty Events API v2, Slack), and
// its delivery: persisted before it is sent, retried with backoff until the receiver takes it,
// refused for good on a 4xx, and picked up again by the next run when rebound stopped first.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Escalator, formatWebhook, type Notification, parseConfig } from 'rebound/healing';
import { openStore } from 'rebound/store';

const notification: Notification = {
  id: 'rebound-payment-api-inc-7f3a', // the dedup key: one per incident
  action: 'trigger',
  service: 'payment-api',
  severity: 'critical',
  summary: 'payment-api is critical: it crashed 6 times within 600 s and is no longer restarted',
  tried: ['supervisor: 6 restarts within 600000 ms: the service is critical'],
  details: { incident: 'inc-7f3a', state: 'critical' },
  at: Date.parse('2025-01-01T12:00:00Z'),
};

// --- the three formats of one notification ---
const pagerDuty = {
  url: 'https://events.pagerduty.com/v2/enqueue',
  format: 'pagerduty' as const,
  routingKey: 'R0UTINGKEY0123456789',
  headers: {},
  timeoutMs: 5_000,
};
const { body, headers } = formatWebhook('pagerduty', notification, pagerDuty);
assert.deepEqual(body, {
  routing_key: 'R0UTINGKEY0123456789',
  event_action: 'trigger',
  dedup_key: 'rebound-payment-api-inc-7f3a',
  payload: {
    summary: 'payment-api is critical: it crashed 6 times within 600 s and is no longer restarted',
    source: 'rebound/payment-api',
    severity: 'critical', // rebound's high is PagerDuty's error, medium warning, low info
    timestamp: '2025-01-01T12:00:00.000Z',
    component: 'payment-api',
    group: 'rebound',
    class: 'incident',
    custom_details: {
      tried: ['supervisor: 6 restarts within 600000 ms: the service is critical'],
      incident: 'inc-7f3a',
      state: 'critical',
    },
  },
  client: 'rebound',
});
assert.equal(headers['content-type'], 'application/json');
console.log(`pagerduty body:\n${JSON.stringify(body, null, 2)}`);

// A resolve names only the alert it closes.
assert.deepEqual(formatWebhook('pagerduty', { ...notification, action: 'resolve' }, pagerDuty).body, {
  routing_key: 'R0UTINGKEY0123456789',
  event_action: 'resolve',
  dedup_key: 'rebound-payment-api-inc-7f3a',
});
const generic = formatWebhook('generic', notification, { ...pagerDuty, format: 'generic' }).body as {
  version: number;
  at: string;
};
assert.equal(generic.version, 1);
assert.equal(generic.at, '2025-01-01T12:00:00.000Z');
const slack = formatWebhook('slack', notification, { ...pagerDuty, format: 'slack' }).body as {
  text: string;
  blocks: { type: string }[];
};
assert.equal(slack.text, '[critical] payment-api: ' + notification.summary);
assert.deepEqual(
  slack.blocks.map((block) => block.type),
  ['header', 'section', 'section', 'context'],
);
console.log(`slack text: ${slack.text}`);

// --- delivery: a receiver that fails twice with 503, and one that refuses the page (400) ---
let calls = 0;
const received: unknown[] = [];
const receiver = createServer((request, response) => {
  let text = '';
  request.on('data', (chunk: Buffer) => (text += chunk));
  request.on('end', () => {
    if (request.url === '/refuses') {
      response.writeHead(400).end('{"message":"invalid routing key"}');
      return;
    }
    if (++calls <= 2) {
      response.writeHead(503).end('overloaded');
      return;
    }
    received.push(JSON.parse(text));
    response.writeHead(202).end('{"status":"success"}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
const config = parseConfig(
  `
services: { payment-api: { command: payment-api } }
escalation:
  - webhook: { url: '${base}/pages', format: generic }
  - webhook: { url: '${base}/refuses', format: pagerduty, routingKey: '\${PD_ROUTING_KEY}' }
    minSeverity: high
`,
  { env: { PD_ROUTING_KEY: 'R0UTINGKEY0123456789' } },
);

const store = await openStore('memory:');
// Short waits for the example; the defaults are 1 s doubling to 60 s, with jitter.
const escalator = new Escalator({ targets: config.escalation, store, retry: { initialMs: 20, maxMs: 100 } });
await escalator.send(notification); // resolves once persisted, one delivery per target; sends in the background

for (let waited = 0; waited < 5_000; waited += 20) {
  const pending = await escalator.deliveries({ status: 'pending' });
  if (pending.length === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const deliveries = await escalator.deliveries();
const byTarget = Object.fromEntries(deliveries.map((delivery) => [delivery.format, delivery]));
assert.equal(byTarget.generic!.status, 'delivered');
assert.equal(byTarget.generic!.attempts, 3); // 503, 503, 202
assert.equal(received.length, 1);
assert.equal(byTarget.pagerduty!.status, 'rejected'); // a 4xx is not retried (but 408 and 429 are)
assert.equal(byTarget.pagerduty!.attempts, 1);
assert.equal(byTarget.pagerduty!.lastError, 'HTTP 400: {"message":"invalid routing key"}');
for (const delivery of deliveries) {
  console.log(
    `${delivery.format} to ${delivery.target}: ${delivery.status} after ${delivery.attempts} attempt(s)`,
  );
}
// The routing key is never shown, nor stored.
assert.doesNotMatch(JSON.stringify(deliveries), /R0UTINGKEY/);
const stored = await store.records.list('escalation');
assert.doesNotMatch(JSON.stringify(stored), /R0UTINGKEY/);
await escalator.close();

// --- rebound stops while a page is still being retried: the next run's resume() sends it ---
calls = 0;
const first = new Escalator({ targets: config.escalation.slice(0, 1), store, retry: { initialMs: 5_000 } });
await first.send({ ...notification, id: 'rebound-payment-api-inc-8b21' });
await new Promise((resolve) => setTimeout(resolve, 100)); // the first attempt fails with a 503
await first.close(); // stops retrying; the delivery stays pending in the store
assert.equal((await first.deliveries({ status: 'pending' })).length, 1);
calls = 2; // the receiver is fine again
const next = new Escalator({ targets: config.escalation.slice(0, 1), store });
await next.resume();
for (let waited = 0; waited < 5_000 && received.length < 2; waited += 20) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
assert.equal(received.length, 2);
assert.equal((await next.deliveries({ status: 'pending' })).length, 0);
console.log('a page pending when rebound stopped: delivered by the next run');

await next.close();
await store.close();
receiver.close();
