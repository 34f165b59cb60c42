// The incident playbook against a fake control plane on a memory store: each way it ends (healed,
// escalated, healing already under way), a degraded context, and a crash right after its action
// that the resumed workflow does not repeat.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../../test/support/waiting.ts';
import { type WorkflowEngine, workflows } from '../durable/index.ts';
import { manualClock } from '../policies/index.ts';
import { openStore, type Store } from '../store/index.ts';
import type { AttemptView, IncidentView, TimelineEntry, TimelineKind } from './controlPlaneTypes.ts';
import {
  diagnose,
  type GatheredContext,
  type HealingRef,
  INCIDENT_RESPONSE,
  type PlaybookOutcome,
  type PlaybookPlane,
  registerIncidentPlaybook,
  type ServiceFacts,
} from './incidentPlaybook.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ID = 'inc-1';

interface World {
  incident: IncidentView;
  healthy: boolean;
  /** Whether the action heals the service. */
  heals: boolean;
  acted: number;
  attempts: Map<string, AttemptView>;
  notes: { kind: TimelineKind; summary: string; data: Record<string, unknown> }[];
  escalations: string[];
  healing: HealingRef | undefined;
  logsFail: boolean;
}

function world(signal: TimelineEntry['data'] = { replica: 'api-1', code: 1, signal: null }): World {
  return {
    incident: {
      id: ID,
      service: 'api',
      severity: 'high',
      status: 'open',
      title: 'api: replica api-1 crashed',
      openedAt: new Date(T0).toISOString(),
      resolvedAt: null,
      acknowledgedAt: null,
      timeline: [
        { at: new Date(T0).toISOString(), kind: 'signal', summary: 'replica api-1 exited', data: signal },
      ],
    },
    healthy: false,
    heals: true,
    acted: 0,
    attempts: new Map(),
    notes: [],
    escalations: [],
    healing: undefined,
    logsFail: false,
  };
}

function facts(state: World): ServiceFacts {
  return {
    state: state.healthy ? 'healthy' : 'unhealthy',
    healthyReplicas: state.healthy ? 2 : 0,
    desiredReplicas: 2,
    metrics: {},
    dependenciesDown: [],
    reliability: null,
  };
}

/** The fake plane; `hangOn` makes the note of that step never resolve (the process dies there). */
function planeOf(state: World, hangOn?: string): PlaybookPlane {
  return {
    now: () => T0,
    incident: async () => structuredClone(state.incident),
    facts: async () => facts(state),
    logs: async () => {
      if (state.logsFail) throw new Error('no logs today');
      return ['2026-01-01T00:00:00.000Z exit {"code":1}'];
    },
    alerts: async () => [],
    healingUnderWay: async (_service, since) => (since ? state.healing : undefined),
    act: async (_service, action) => {
      state.acted++;
      if (state.heals) state.healthy = true;
      return { ok: true, message: `${action.type} done` };
    },
    recordAttempt: async (attempt) => {
      state.attempts.set(attempt.id, attempt);
    },
    note: (_id, kind, summary, data) => {
      if (hangOn !== undefined && data.step === hangOn) return new Promise(() => {});
      state.notes.push({ kind, summary, data });
      return Promise.resolve();
    },
    check: () => ({ state: facts(state).state, healthy: state.healthy, signalClear: state.healthy }),
    escalate: async (_service, _id, summary) => {
      state.escalations.push(summary);
      state.incident.status = 'escalated';
      return true;
    },
  };
}

function engineFor(
  store: Store,
  state: World,
  options: { executorId?: string; hangOn?: string } = {},
): WorkflowEngine {
  // A frozen clock: no heartbeat of its own, so a removed executor record stays removed.
  const engine = workflows(store, { executorId: options.executorId ?? 'here', clock: manualClock(T0) });
  registerIncidentPlaybook(engine, planeOf(state, options.hangOn), { store, holdOffMs: 0, verifyAfterMs: 0 });
  return engine;
}

async function run(state: World): Promise<{ outcome: PlaybookOutcome; engine: WorkflowEngine }> {
  const engine = engineFor(await openStore('memory:'), state);
  const handle = await engine.start(INCIDENT_RESPONSE, { incident: ID, service: 'api' }, { id: ID });
  const outcome = (await handle.result()) as PlaybookOutcome;
  return { outcome, engine };
}

describe('incident playbook', () => {
  it('restarts a crashed service once, checkpoints every step, and leaves resolution to the quiet period', async () => {
    const state = world();
    const { outcome, engine } = await run(state);
    assert.deepEqual(outcome, { cause: 'crash-loop', acted: true, conclusion: 'verified' });
    assert.equal(state.acted, 1);
    const attempt = state.attempts.get(`playbook-${ID}`);
    assert.equal(attempt?.source, 'policy');
    assert.equal(attempt?.policy, 'incident-response');
    assert.equal(attempt?.status, 'succeeded');
    assert.equal(attempt?.verified, true);
    assert.deepEqual(
      attempt?.actions.map((action) => action.type),
      ['restart-service'],
    );
    assert.deepEqual(state.escalations, []);
    const info = await engine.get(ID);
    assert.equal(info?.status, 'succeeded');
    assert.deepEqual(
      info?.steps.map((step) => step.name),
      ['gather-context', 'diagnose', 'hold-off', 'remediate', 'settle', 'verify', 'conclude'],
    );
    assert.deepEqual(
      state.notes.map((note) => [note.kind, note.data.step]),
      [
        ['decision', 'gather-context'],
        ['decision', 'diagnose'],
        ['action', 'remediate'],
        ['decision', 'verify'],
        ['decision', 'conclude'],
      ],
    );
    assert.match(state.notes.at(-1)!.summary, /^playbook: verified/);
    await engine.close();
  });

  it('escalates, saying what it tried, when the service is still unhealthy after the action', async () => {
    const state = world();
    state.heals = false;
    const { outcome, engine } = await run(state);
    assert.deepEqual(outcome, { cause: 'crash-loop', acted: true, conclusion: 'escalated' });
    assert.equal(state.escalations.length, 1);
    assert.match(
      state.escalations[0]!,
      /crash-loop; restart-service succeeded: restart-service done; still unhealthy/,
    );
    assert.equal(state.attempts.get(`playbook-${ID}`)?.verified, false);
    await engine.close();
  });

  it('does not act while a policy or the supervisor already heals the incident', async () => {
    const state = world();
    state.healing = { id: 'sup-1', source: 'supervisor', policy: null };
    state.healthy = true;
    const { outcome, engine } = await run(state);
    assert.deepEqual(outcome, { cause: 'crash-loop', acted: false, conclusion: 'verified' });
    assert.equal(state.acted, 0);
    assert.equal(state.attempts.size, 0);
    const remediate = state.notes.find((note) => note.data.step === 'remediate');
    assert.match(remediate!.summary, /healing already under way \(supervisor, attempt sup-1\)/);
    await engine.close();
  });

  it('gathers what it can when a source fails (partial degradation) and goes on', async () => {
    const state = world();
    state.logsFail = true;
    const { outcome, engine } = await run(state);
    assert.equal(outcome.conclusion, 'verified');
    const gathered = state.notes[0]!;
    assert.deepEqual(gathered.data.degraded, ['logs']);
    assert.notEqual(gathered.data.level, 'full');
    assert.equal(gathered.data.logs, null);
    await engine.close();
  });

  it('after a crash right after its action, the resumed workflow completes without acting again', async () => {
    const store = await openStore('memory:');
    const state = world();
    // The first process records the attempt, then dies before the remediate step's checkpoint.
    const crashed = engineFor(store, state, { executorId: 'crashed', hangOn: 'remediate' });
    await crashed.start(INCIDENT_RESPONSE, { incident: ID, service: 'api' }, { id: ID });
    await until(() => state.attempts.size === 1, 'the action to run');
    assert.deepEqual(
      (await store.workflows.steps(ID)).map((step) => step.name),
      ['gather-context', 'diagnose', 'hold-off'],
    );
    await store.workflows.removeExecutor('crashed');

    const restarted = engineFor(store, state, { executorId: 'restarted' });
    assert.deepEqual((await restarted.recover()).resumed, [ID]);
    const outcome = await restarted.result<PlaybookOutcome>(ID);
    assert.deepEqual(outcome, { cause: 'crash-loop', acted: true, conclusion: 'verified' });
    assert.equal(state.acted, 1, 'the action ran once');
    assert.equal((await restarted.get(ID))?.status, 'succeeded');
    await restarted.close();
    await crashed.close();
  });
});

describe('diagnose', () => {
  const context = (
    metrics: Record<string, number>,
    extra: Partial<GatheredContext> = {},
  ): GatheredContext => ({
    level: 'full',
    degraded: [],
    metrics: { ...facts({ ...world(), healthy: true }), metrics },
    logs: [],
    alerts: [],
    ...extra,
  });
  const probe: TimelineEntry = {
    at: '',
    kind: 'signal',
    summary: 'replica api-1 failed its health probe: timeout',
    data: { replica: 'api-1', detail: 'timeout' },
  };

  it('reads each cause from the signals and metrics, first match winning', () => {
    const cases: [GatheredContext, TimelineEntry[], string, string | null][] = [
      [
        context({}, { metrics: { ...context({}).metrics!, dependenciesDown: ['db'] } }),
        [probe],
        'dependency-down',
        null,
      ],
      [context({}), world().incident.timeline, 'crash-loop', 'restart-service'],
      [context({}), [probe], 'hang', 'restart-service'],
      [context({ memory_util: 0.95 }), [], 'resource-pressure', 'scale-up'],
      [context({ error_rate: 0.4 }), [], 'error-rate', 'restart-service'],
      [
        context({}, { alerts: [{ name: 'HighErrorRate', status: 'firing', at: '' }] }),
        [],
        'error-rate',
        'restart-service',
      ],
      [context({}, { alerts: [{ name: 'HighErrorRate', status: 'resolved', at: '' }] }), [], 'unknown', null],
      [context({ latency_p99: 2500 }), [], 'latency', 'scale-up'],
      [context({ latency_p99: 20 }), [], 'unknown', null],
      [
        { level: 'failed', degraded: ['metrics', 'logs', 'alerts'], metrics: null, logs: null, alerts: null },
        [],
        'unknown',
        null,
      ],
    ];
    for (const [gathered, timeline, cause, action] of cases) {
      const diagnosis = diagnose(gathered, timeline);
      assert.equal(diagnosis.cause, cause, JSON.stringify(gathered));
      assert.equal(diagnosis.action?.type ?? null, action, cause);
      if (cause !== 'unknown') assert.ok(diagnosis.evidence.length > 0, cause);
    }
  });
});
