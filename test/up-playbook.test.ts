// `rebound up` end to end: an incident's playbook (a durable workflow) acts on a firing alert, rebound
// is killed with SIGKILL while the playbook waits to verify, and the restarted rebound resumes it on
// the same store to the end without running its action a second time.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, reboundUp, type RunningRebound, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

function config(gatewayPort: number): string {
  return `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    replicas: { count: 1, min: 1, max: 2 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
policies: []
`;
}

/** An Alertmanager webhook (version 4) with one firing alert about `web`. */
function firingAlert() {
  const alert = {
    status: 'firing',
    labels: { alertname: 'HighErrorRate', service: 'web', severity: 'high' },
    annotations: { summary: 'error rate above 20%' },
    startsAt: new Date().toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus/graph',
    fingerprint: 'f00dfeed',
  };
  return {
    version: '4',
    groupKey: '{}:{alertname="HighErrorRate"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'rebound',
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: 'http://alertmanager:9093',
    alerts: [alert],
  };
}

interface Playbook {
  status: string;
  steps: { name: string; status: string }[];
}

async function playbookOf(rebound: RunningRebound, id: string): Promise<Playbook | undefined> {
  const { body } = await rebound.api(`/api/incidents/${id}`);
  return body.playbook as Playbook | undefined;
}

async function playbookAttempts(rebound: RunningRebound): Promise<{ id: string; status: string }[]> {
  const { body } = await rebound.api('/api/healing?service=web');
  return (body.attempts as { id: string; policy: string | null; status: string }[]).filter(
    (attempt) => attempt.policy === 'incident-response',
  );
}

describe('rebound up: the incident playbook', () => {
  it('resumes a playbook after a kill -9 mid-incident, without running its action twice', async () => {
    const gatewayPort = await freePort();
    const first = await reboundUp(config(gatewayPort));
    await untilHealthy(first, 'web');
    const posted = await first.api('/api/alerts/alertmanager', { body: firingAlert() });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));

    let id = '';
    await until(
      async () => {
        const { body } = await first.api('/api/incidents');
        id = (body.incidents as { id: string }[])[0]?.id ?? '';
        return id !== '';
      },
      'an incident for the alert',
      10_000,
    );
    // Killed while the playbook waits to verify: its action ran, the settle sleep is checkpointed.
    await until(
      async () => (await playbookOf(first, id))?.steps.some((step) => step.name === 'settle') ?? false,
      'the playbook to remediate and settle',
      15_000,
    );
    const before = await playbookOf(first, id);
    assert.equal(before?.status, 'running');
    assert.deepEqual(
      before?.steps.map((step) => `${step.name} ${step.status}`),
      [
        'gather-context succeeded',
        'diagnose succeeded',
        'hold-off succeeded',
        'remediate succeeded',
        'settle succeeded',
      ],
    );
    assert.equal((await playbookAttempts(first)).length, 1);
    assert.equal(await first.stop('SIGKILL'), null);

    const second = await reboundUp(config(gatewayPort), { directory: first.directory });
    try {
      await until(
        async () => (await playbookOf(second, id))?.status === 'succeeded',
        'the resumed playbook to finish',
        25_000,
      );
      const done = await playbookOf(second, id);
      assert.deepEqual(
        done?.steps.map((step) => step.name),
        ['gather-context', 'diagnose', 'hold-off', 'remediate', 'settle', 'verify', 'conclude'],
      );
      const attempts = await playbookAttempts(second);
      assert.equal(attempts.length, 1, JSON.stringify(attempts));
      assert.equal(attempts[0]!.status, 'succeeded');
      const { body: incident } = await second.api(`/api/incidents/${id}`);
      const entries = (incident.timeline as { kind: string; summary: string }[]).filter((entry) =>
        entry.summary.startsWith('playbook:'),
      );
      assert.equal(entries.filter((entry) => entry.kind === 'action').length, 1, JSON.stringify(entries));
      assert.match(entries.find((entry) => /diagnosed/.test(entry.summary))!.summary, /error-rate/);
      assert.match(entries.at(-1)!.summary, /^playbook: verified/);
    } finally {
      assert.equal(await second.stop('SIGTERM'), 0);
      first.cleanup();
    }
  });
});
