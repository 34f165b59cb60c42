// The incident playbook: an incident's response as a durable workflow (SPEC 3.2) — gather context
// with graceful degradation, diagnose, remediate once (idempotently), verify, conclude — which a
// crash of `rebound up` resumes where it stopped, without running a checkpointed step again.

import { degrade, idempotency, type WorkflowContext, type WorkflowEngine } from '../durable/index.ts';
import type { Store } from '../store/index.ts';
import type { ActionConfig } from './configTypes.ts';
import type {
  AttemptView,
  IncidentView,
  ServiceState,
  TimelineEntry,
  TimelineKind,
} from './controlPlaneTypes.ts';
import {
  type AlertFact,
  type Diagnosis,
  diagnose,
  type GatheredContext,
  type ServiceFacts,
} from './incidentPlaybookDiagnosis.ts';
import type { ActionOutcome } from './policyEngineOptions.ts';

export * from './incidentPlaybookDiagnosis.ts';

/** The workflow's name; its id is the incident's id, so an incident's playbook runs once, ever. */
export const INCIDENT_RESPONSE = 'incident-response';

export const PLAYBOOK_DEFAULTS = Object.freeze({
  /**
   * Waited before remediating: the policy engine (evaluated every second) and the supervisor act
   * first; the playbook acts only when neither did.
   */
  holdOffMs: 3_000,
  /** Waited after remediating before checking that it worked. */
  verifyAfterMs: 10_000,
});

export interface PlaybookInput {
  incident: string;
  service: string;
}

/** What the playbook needs from the control plane (a fake in unit tests). */
export interface PlaybookPlane {
  now(): number;
  incident(id: string): Promise<IncidentView>;
  facts(service: string): Promise<ServiceFacts>;
  /** The replicas' last output lines, or the service's recent events when no output is kept. */
  logs(service: string): Promise<string[]>;
  alerts(service: string): Promise<AlertFact[]>;
  /**
   * A policy or supervisor attempt on the service running now, or (when `since` is given) started
   * since then or named on `timeline`; the playbook's own attempts do not count.
   */
  healingUnderWay(
    service: string,
    since?: { at: number; timeline: readonly TimelineEntry[] },
  ): Promise<HealingRef | undefined>;
  act(service: string, action: ActionConfig, attemptId: string): Promise<ActionOutcome>;
  recordAttempt(attempt: AttemptView): Promise<void>;
  note(incident: string, kind: TimelineKind, summary: string, data: Record<string, unknown>): Promise<void>;
  check(service: string): { state: ServiceState; healthy: boolean; signalClear: boolean };
  /** Pages through the escalation targets; false when the incident is no longer the open one. */
  escalate(service: string, incident: string, summary: string): Promise<boolean>;
}

/** An attempt as the playbook names it. */
export type HealingRef = Pick<AttemptView, 'id' | 'source' | 'policy'>;

export interface PlaybookOptions {
  /** Where the idempotency records of the playbook's actions are kept (the workflows' store). */
  store: Store;
  holdOffMs?: number;
  verifyAfterMs?: number;
}

export interface Remediation {
  acted: boolean;
  action: string | null;
  /** The playbook's attempt (policy "incident-response"), when it acted. */
  attempt: AttemptView | null;
  /** The attempt already healing it, when the playbook left it at that. */
  healing: HealingRef | null;
  message: string;
}

export interface Verification {
  state: ServiceState;
  healthy: boolean;
  signalClear: boolean;
  incidentStatus: IncidentView['status'];
  /** A policy or supervisor attempt still running (its own verdict comes later). */
  healingRunning: boolean;
}

export interface PlaybookOutcome {
  cause: Diagnosis['cause'];
  acted: boolean;
  conclusion: 'verified' | 'escalated' | 'resolved' | 'left-to-healing' | 'escalated-already';
}

/** The policy name of the playbook's attempts: no new attempt source (SPEC 6 lists three). */
export const PLAYBOOK_POLICY = INCIDENT_RESPONSE;

/** Registers the `incident-response` workflow on `engine`. */
export function registerIncidentPlaybook(
  engine: WorkflowEngine,
  plane: PlaybookPlane,
  options: PlaybookOptions,
): void {
  engine.register<PlaybookInput, PlaybookOutcome>(INCIDENT_RESPONSE, incidentPlaybook(plane, options));
}

export function incidentPlaybook(
  plane: PlaybookPlane,
  options: PlaybookOptions,
): (ctx: WorkflowContext, input: PlaybookInput) => Promise<PlaybookOutcome> {
  const holdOffMs = options.holdOffMs ?? PLAYBOOK_DEFAULTS.holdOffMs;
  const verifyAfterMs = options.verifyAfterMs ?? PLAYBOOK_DEFAULTS.verifyAfterMs;
  const actions = idempotency(options.store);

  return async (ctx, { incident: id, service }) => {
    const note = (kind: TimelineKind, summary: string, data: Record<string, unknown>): Promise<void> =>
      plane.note(id, kind, `playbook: ${summary}`, { workflow: ctx.workflowId, ...data });

    const context = await ctx.step('gather-context', async (): Promise<GatheredContext> => {
      const gathered = await degrade({
        components: {
          metrics: () => plane.facts(service),
          logs: () => plane.logs(service),
          alerts: () => plane.alerts(service),
        },
        strategy: 'partial',
      });
      const value = <T>(component: { ok: boolean; value?: T }): T | null =>
        component.ok ? (component.value ?? null) : null;
      const result: GatheredContext = {
        level: gathered.level,
        degraded: [...gathered.degraded],
        metrics: value(gathered.components.metrics),
        logs: value(gathered.components.logs),
        alerts: value(gathered.components.alerts),
      };
      const missing = result.degraded.length === 0 ? '' : ` (without ${result.degraded.join(', ')})`;
      await note('decision', `context gathered, ${result.level}${missing}`, {
        step: 'gather-context',
        level: result.level,
        degraded: result.degraded,
        state: result.metrics?.state ?? null,
        logs: result.logs?.length ?? null,
        alerts: result.alerts?.length ?? null,
      });
      return result;
    });

    const diagnosis = await ctx.step('diagnose', async (): Promise<Diagnosis> => {
      const incident = await plane.incident(id);
      const found = diagnose(context, incident.timeline);
      const action = found.action?.type ?? 'nothing automatic';
      await note('decision', `diagnosed ${found.cause}: ${action}`, { step: 'diagnose', ...found });
      return found;
    });

    await ctx.sleep('hold-off', holdOffMs);

    const remediation = await ctx.step('remediate', async (): Promise<Remediation> => {
      if (diagnosis.action === null) {
        const message = `no automatic action for ${diagnosis.cause}`;
        await note('decision', message, { step: 'remediate', acted: false });
        return { acted: false, action: null, attempt: null, healing: null, message };
      }
      const incident = await plane.incident(id);
      const other = await plane.healingUnderWay(service, {
        at: Date.parse(incident.openedAt),
        timeline: incident.timeline,
      });
      if (other !== undefined) {
        const who = other.policy === null ? other.source : `policy "${other.policy}"`;
        const message = `healing already under way (${who}, attempt ${other.id}): not acting twice`;
        await note('decision', message, { step: 'remediate', acted: false, attempt: other.id });
        return { acted: false, action: null, attempt: null, healing: other, message };
      }
      const action = diagnosis.action;
      // Keyed by action, service and incident: a crash after the action and before this step's
      // checkpoint replays the stored attempt on resume instead of acting again.
      const attempt = await actions.run(
        { name: action.type, params: { service, incident: id } },
        async (): Promise<AttemptView> => {
          const attemptId = `playbook-${id}`;
          const startedAt = plane.now();
          const outcome = await plane
            .act(service, action, attemptId)
            .catch((error: unknown): ActionOutcome => ({ ok: false, message: (error as Error).message }));
          const endedAt = plane.now();
          const status = outcome.ok ? 'succeeded' : 'failed';
          const done: AttemptView = {
            id: attemptId,
            source: 'policy',
            policy: PLAYBOOK_POLICY,
            service,
            trigger: { source: 'incident', metrics: {}, conditions: [diagnosis.cause], detail: id },
            actions: [
              {
                type: action.type,
                status,
                message: outcome.message,
                startedAt: new Date(startedAt).toISOString(),
                endedAt: new Date(endedAt).toISOString(),
              },
            ],
            status,
            outcome: `${action.type} ${status}: ${outcome.message}`,
            verified: null,
            startedAt: new Date(startedAt).toISOString(),
            endedAt: new Date(endedAt).toISOString(),
          };
          await plane.recordAttempt(done);
          return done;
        },
      );
      await note('action', attempt.outcome, {
        step: 'remediate',
        acted: true,
        attempt: attempt.id,
        action: action.type,
        status: attempt.status,
      });
      return { acted: true, action: action.type, attempt, healing: null, message: attempt.outcome };
    });

    await ctx.sleep('settle', verifyAfterMs);

    const verification = await ctx.step('verify', async (): Promise<Verification> => {
      const incident = await plane.incident(id);
      const check = plane.check(service);
      const running = await plane.healingUnderWay(service);
      const result: Verification = {
        ...check,
        incidentStatus: incident.status,
        healingRunning: running !== undefined,
      };
      const verdict = check.healthy && check.signalClear ? 'healed: signal clear' : 'not healed';
      await note('decision', `verified: ${service} ${check.state}, ${verdict}`, {
        step: 'verify',
        ...result,
      });
      return result;
    });

    return ctx.step('conclude', async (): Promise<PlaybookOutcome> => {
      const outcome = (conclusion: PlaybookOutcome['conclusion']): PlaybookOutcome => ({
        cause: diagnosis.cause,
        acted: remediation.acted,
        conclusion,
      });
      const healed = verification.healthy && verification.signalClear;
      if (remediation.attempt !== null) {
        await plane.recordAttempt({ ...remediation.attempt, verified: healed });
      }
      if (verification.incidentStatus === 'resolved') {
        await note('decision', 'the incident resolved meanwhile', { step: 'conclude' });
        return outcome('resolved');
      }
      if (healed) {
        await note('decision', 'verified: resolution follows once the service stays quiet', {
          step: 'conclude',
        });
        return outcome('verified');
      }
      if (verification.healingRunning) {
        await note('decision', 'not healed yet; left to the healing still running', { step: 'conclude' });
        return outcome('left-to-healing');
      }
      if (verification.incidentStatus === 'escalated') {
        await note('decision', 'not healed; a person was paged already', { step: 'conclude' });
        return outcome('escalated-already');
      }
      const summary = `${service}: the incident playbook could not heal it (${diagnosis.cause}; ${remediation.message}; still ${verification.state})`;
      const paged = await plane.escalate(service, id, summary);
      await note('decision', paged ? 'escalated to a human' : 'not healed, and no longer the open incident', {
        step: 'conclude',
        paged,
      });
      return outcome(paged ? 'escalated' : 'resolved');
    });
  };
}
