// The incident tracker: grouping, the timeline's shape (and older stored incidents read as it),
// operator acknowledge / resolve / notes; severity rules; what pages about an incident say.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../policies/index.ts';
import { openStore } from '../store/index.ts';
import type { AttemptView, IncidentView } from './controlPlaneTypes.ts';
import { isConflictError, isNotFoundError } from './errors.ts';
import {
  attemptsTried,
  escalationSummary,
  needsResolvedNotification,
  resolvedNotification,
  triedLine,
} from './incidentNotifications.ts';
import { burnRateSignal } from './burnRateSignal.ts';
import { IncidentTracker, incidentSeverity } from './incidents.ts';

const START = Date.parse('2025-01-01T00:00:00.000Z');

async function tracker() {
  const store = await openStore('memory:');
  const clock = manualClock(START);
  let next = 0;
  const incidents = new IncidentTracker({
    store,
    clock,
    groupWindowMs: 300_000,
    newId: () => `inc-${++next}`,
  });
  return { store, clock, incidents };
}

describe('IncidentTracker', () => {
  it('groups signals within the window into one incident whose severity only rises', async () => {
    const { clock, incidents } = await tracker();
    incidents.note('api', 'signal', 'replica r1 exited', {
      opens: true,
      severity: 'high',
      data: { replica: 'r1' },
    });
    clock.advance(60_000);
    incidents.note('api', 'signal', 'alert Slow firing', { opens: true, severity: 'low' });
    incidents.note('api', 'signal', 'api unhealthy', { opens: true, severity: 'critical' });
    const [incident] = await incidents.list();
    assert.equal((await incidents.list()).length, 1);
    assert.equal(incident!.severity, 'critical');
    assert.deepEqual(incident!.timeline[0], {
      at: '2025-01-01T00:00:00.000Z',
      kind: 'signal',
      summary: 'replica r1 exited',
      data: { replica: 'r1' },
    });
    assert.deepEqual(
      incident!.timeline.map((entry) => entry.data),
      [{ replica: 'r1' }, {}, {}],
    );
  });

  it('unchangedList reads the store again only after an incident changed, or for an earlier since', async () => {
    const { store, clock, incidents } = await tracker();
    let reads = 0;
    const list = store.records.list.bind(store.records);
    store.records.list = (kind, filter) => {
      reads++;
      return list(kind, filter);
    };
    incidents.note('api', 'signal', 'replica r1 exited', { opens: true, severity: 'high' });
    assert.equal((await incidents.unchangedList(START)).length, 1);
    assert.equal((await incidents.unchangedList(START)).length, 1);
    assert.equal(reads, 1, 'nothing changed between the two');
    clock.advance(60_000);
    incidents.note('web', 'signal', 'replica r1 exited', { opens: true, severity: 'high' });
    assert.equal((await incidents.unchangedList(START)).length, 2, 'a new incident is seen');
    assert.equal(reads, 2);
    assert.deepEqual(
      (await incidents.unchangedList(START + 1)).map((incident) => incident.service),
      ['web'],
      'only those opened at or after since: the api incident opened a minute before',
    );
    assert.equal(reads, 2, 'a later since is read from the last list');
    await incidents.unchangedList(START - 1);
    assert.equal(reads, 3, 'an earlier since is another read');
  });

  it('records a status change as a decision with from and to', async () => {
    const { incidents } = await tracker();
    incidents.note('api', 'signal', 'crash', { opens: true });
    incidents.setStatus('api', 'mitigating', 'healing with policy "Restart"', { policy: 'Restart' });
    const incident = (await incidents.list())[0]!;
    assert.equal(incident.status, 'mitigating');
    assert.deepEqual(incident.timeline[1], {
      at: '2025-01-01T00:00:00.000Z',
      kind: 'decision',
      summary: 'status open → mitigating: healing with policy "Restart"',
      data: { from: 'open', to: 'mitigating', policy: 'Restart' },
    });
  });

  it('acknowledges once, resolves (409 the second time) and takes notes; unknown ids are NOT_FOUND', async () => {
    const { clock, incidents } = await tracker();
    const { id } = incidents.note('api', 'signal', 'crash', { opens: true })!;
    clock.advance(1000);
    const acknowledged = await incidents.acknowledge(id);
    assert.equal(acknowledged.acknowledgedAt, '2025-01-01T00:00:01.000Z');
    clock.advance(1000);
    assert.equal((await incidents.acknowledge(id)).acknowledgedAt, '2025-01-01T00:00:01.000Z');
    await incidents.addNote(id, 'looking at the database');
    const resolved = await incidents.resolve(id);
    assert.equal(resolved.status, 'resolved');
    assert.equal(resolved.resolvedAt, '2025-01-01T00:00:02.000Z');
    await assert.rejects(incidents.resolve(id), isConflictError);
    await assert.rejects(incidents.acknowledge('inc-404'), isNotFoundError);
    assert.deepEqual(
      (await incidents.get(id)).timeline.map((entry) => [entry.kind, entry.summary]),
      [
        ['signal', 'crash'],
        ['note', 'acknowledged by an operator'],
        ['note', 'looking at the database'],
        ['decision', 'status open → resolved: resolved by an operator'],
      ],
    );
    // The operator's resolve is the live incident's: nothing more joins it without a new signal.
    assert.equal(incidents.openFor('api'), undefined);
    assert.equal(incidents.note('api', 'action', 'late'), undefined);
  });

  it('reads incidents stored by earlier versions: message becomes summary, old kinds are mapped', async () => {
    const { store, incidents } = await tracker();
    const old = {
      id: 'inc-old',
      service: 'api',
      status: 'open',
      severity: 'high',
      title: 'api crashed',
      openedAt: '2024-12-31T00:00:00.000Z',
      resolvedAt: null,
      timeline: [
        { at: '2024-12-31T00:00:00.000Z', kind: 'signal', message: 'replica exited' },
        { at: '2024-12-31T00:00:01.000Z', kind: 'suppression', message: 'page held back' },
        { at: '2024-12-31T00:00:02.000Z', kind: 'state', message: 'api healthy → unhealthy' },
      ],
    };
    await store.records.put({
      kind: 'incident',
      id: 'inc-old',
      service: 'api',
      at: START - 86_400_000,
      data: JSON.stringify(old),
    });
    await incidents.resume();
    const incident = await incidents.get('inc-old');
    assert.equal(incident.acknowledgedAt, null);
    assert.deepEqual(
      incident.timeline.map((entry) => [entry.kind, entry.summary, entry.data]),
      [
        ['signal', 'replica exited', {}],
        ['suppressed', 'page held back', {}],
        ['decision', 'api healthy → unhealthy', {}],
      ],
    );
    // Resumed: later entries join it.
    assert.equal(incidents.note('api', 'action', 'restarted')?.id, 'inc-old');
  });
});

describe('incidentSeverity', () => {
  const rules = [
    { when: [{ metric: 'error_rate', op: 'gt' as const, value: 0.5 }], level: 'critical' as const },
    { when: [{ metric: 'latency_p99', op: 'gt' as const, value: 500 }], level: 'high' as const },
    { when: [{ metric: 'latency_p99', op: 'gt' as const, value: 200 }], level: 'low' as const },
  ];

  it('takes the first rule that matches the metrics', () => {
    assert.equal(
      incidentSeverity({ rules, metrics: { latency_p99: 900 }, noHealthyReplica: false, signal: 'medium' }),
      'high',
    );
    assert.equal(
      incidentSeverity({ rules, metrics: { latency_p99: 300 }, noHealthyReplica: true, signal: 'high' }),
      'low',
    );
    assert.equal(
      incidentSeverity({
        rules,
        metrics: { latency_p99: 900, error_rate: 0.9 },
        noHealthyReplica: false,
        signal: 'low',
      }),
      'critical',
    );
  });

  it('without a match: critical when no replica is healthy, else the level of the signal', () => {
    assert.equal(
      incidentSeverity({ rules, metrics: {}, noHealthyReplica: true, signal: 'medium' }),
      'critical',
    );
    assert.equal(
      incidentSeverity({ rules, metrics: { latency_p99: 100 }, noHealthyReplica: false, signal: 'medium' }),
      'medium',
    );
    assert.equal(
      incidentSeverity({ rules: [], metrics: {}, noHealthyReplica: false, signal: 'high' }),
      'high',
    );
  });
});

describe('pages about an incident', () => {
  const attempt = (
    id: string,
    startedAt: string,
    policy: string | null,
    status: AttemptView['status'],
  ): AttemptView => ({
    id,
    source: policy === null ? 'supervisor' : 'policy',
    policy,
    service: 'api',
    trigger: { source: 'gateway', metrics: {}, conditions: [] },
    actions: [
      { type: 'restart-service', status: 'succeeded', message: '', startedAt, endedAt: startedAt },
      { type: 'scale-up', status: 'failed', message: '', startedAt, endedAt: startedAt },
    ],
    status,
    outcome: `${id} ${status}`,
    verified: false,
    startedAt,
    endedAt: startedAt,
  });

  it('an escalation lists every attempt since the incident opened, once, oldest first', () => {
    const opener = attempt('a-00', '2024-12-31T23:59:59.999Z', 'Opener', 'failed');
    const incident = {
      openedAt: '2025-01-01T00:00:00.000Z',
      timeline: [
        {
          at: '2025-01-01T00:00:00.000Z',
          kind: 'decision' as const,
          summary: 'policy fired',
          data: { attempt: 'a-00' },
        },
      ],
    };
    const before = attempt('a-0', '2024-12-31T23:00:00.000Z', 'Old', 'succeeded');
    const first = attempt('a-1', '2025-01-01T00:00:01.000Z', null, 'escalated');
    const second = attempt('a-2', '2025-01-01T00:00:05.000Z', 'Slow', 'running');
    const secondNow = { ...second, status: 'failed' as const, outcome: 'latency_p99 still 900' };
    const tried = attemptsTried(incident, [second, first, before, opener], [secondNow]);
    assert.deepEqual(
      tried.map((t) => [t.id, t.status]),
      [
        ['a-00', 'failed'],
        ['a-1', 'escalated'],
        ['a-2', 'failed'],
      ],
    );
    assert.equal(
      triedLine(tried[2]!),
      'policy "Slow" (restart-service succeeded, scale-up failed): failed: latency_p99 still 900',
    );
    assert.equal(
      escalationSummary('api: automatic healing failed', tried.slice(1)),
      'api: automatic healing failed; already tried: supervisor (restart-service succeeded, scale-up failed): escalated: a-1 escalated; ' +
        'policy "Slow" (restart-service succeeded, scale-up failed): failed: latency_p99 still 900',
    );
    assert.equal(escalationSummary('x', []), 'x; nothing was tried automatically');
  });

  it('a resolved notification goes out for an incident that paged or whose pages were held back, not otherwise', () => {
    const incident: IncidentView = {
      id: 'inc-9',
      service: 'api',
      severity: 'high',
      status: 'resolved',
      title: 'api: latency_p99 > 500',
      openedAt: '2025-01-01T00:00:00.000Z',
      resolvedAt: '2025-01-01T00:05:00.000Z',
      acknowledgedAt: null,
      timeline: [{ at: '2025-01-01T00:00:00.000Z', kind: 'signal', summary: 'slow', data: {} }],
    };
    assert.equal(needsResolvedNotification(incident), false);
    const held = {
      ...incident,
      timeline: [
        ...incident.timeline,
        { at: '2025-01-01T00:00:01.000Z', kind: 'suppressed' as const, summary: 'page held back', data: {} },
      ],
    };
    assert.equal(needsResolvedNotification(held), true);
    const paged = {
      ...incident,
      timeline: [
        ...incident.timeline,
        {
          at: '2025-01-01T00:00:01.000Z',
          kind: 'notification' as const,
          summary: 'page sent',
          data: { action: 'trigger' },
        },
      ],
    };
    assert.equal(needsResolvedNotification(paged), true);
    const notification = resolvedNotification(held, 'healthy for 60000 ms', START, 'healthy');
    assert.equal(notification.action, 'resolve');
    assert.equal(notification.id, 'rebound-api-inc-9');
    assert.equal(notification.severity, 'high');
    assert.equal(
      notification.summary,
      'api recovered: healthy for 60000 ms (1 page held back while it healed)',
    );
    assert.equal(notification.details.held, 1);
  });
});

describe('burn-rate alerts as signals', () => {
  const alert = {
    service: 'api',
    threshold: 14.4,
    longBurnRate: 20,
    shortBurnRate: 31.25,
    longWindowMs: 3_600_000,
    shortWindowMs: 300_000,
  };

  it('a fast alert is a high signal, a slow one medium, with the alert as data', () => {
    const fast = burnRateSignal({ ...alert, alert: 'fast' });
    assert.equal(fast.level, 'high');
    assert.equal(
      fast.summary,
      'api: fast burn-rate alert firing: error budget burning at 20.0× over 60 min and 31.3× over 5 min (threshold 14.4×)',
    );
    assert.equal(fast.title, 'api: error budget burning (fast burn-rate alert)');
    assert.deepEqual(fast.data, { ...alert, alert: 'fast' });
    assert.equal(burnRateSignal({ ...alert, alert: 'slow', threshold: 6 }).level, 'medium');
  });

  it('opens an incident, and a fast one raises the severity of the open one', async () => {
    const { incidents } = await tracker();
    const slow = burnRateSignal({ ...alert, alert: 'slow', threshold: 6 });
    incidents.note('api', 'signal', slow.summary, {
      opens: true,
      severity: slow.level,
      title: slow.title,
      data: slow.data,
    });
    const fast = burnRateSignal({ ...alert, alert: 'fast' });
    incidents.note('api', 'signal', fast.summary, { opens: true, severity: fast.level, data: fast.data });
    const [incident] = await incidents.list();
    assert.equal(incident!.title, 'api: error budget burning (slow burn-rate alert)');
    assert.equal(incident!.severity, 'high');
    assert.deepEqual(
      incident!.timeline.map((entry) => entry.data.alert),
      ['slow', 'fast'],
    );
  });
});
