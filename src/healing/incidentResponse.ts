// How the control plane answers a policy's attempts: incident entries, pages held back while
// healing runs, escalation when it fails, inhibited pages, and resolution once the service is quiet.

import type { Severity } from './configTypes.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { AttemptView, IncidentView } from './controlPlaneTypes.ts';
import type { Escalator, Notification } from './escalation.ts';
import {
  attemptsTried,
  escalationSummary,
  needsResolvedNotification,
  resolvedNotification,
  triedLine,
} from './incidentNotifications.ts';
import type { Signal } from './policyEngine.ts';

export interface IncidentResponseOptions extends Pick<
  ControlPlaneContext,
  | 'config'
  | 'clock'
  | 'incidents'
  | 'gate'
  | 'state'
  | 'updateState'
  | 'severityFor'
  | 'metricsOf'
  | 'attempts'
  | 'recordEvent'
> {
  escalator: Escalator;
  /** Since when every desired replica of the service has been healthy; undefined: not now. */
  healthySince: (service: string) => number | undefined;
}

export class IncidentResponse {
  readonly #options: IncidentResponseOptions;

  constructor(options: IncidentResponseOptions) {
    this.#options = options;
  }

  onPolicyAttempt(attempt: AttemptView): void {
    const { incidents, gate } = this.#options;
    const { service } = attempt;
    if (attempt.status === 'running' && attempt.actions.length === 0) {
      incidents.note(
        service,
        'decision',
        `policy "${attempt.policy}" fired: ${attempt.trigger.conditions.join(' and ')}`,
        {
          opens: true,
          severity: this.#options.severityFor(service, 'high'),
          title: `${service}: ${attempt.trigger.conditions.join(' and ')}`,
          data: {
            policy: attempt.policy,
            attempt: attempt.id,
            conditions: attempt.trigger.conditions,
            metrics: attempt.trigger.metrics,
          },
        },
      );
      incidents.setStatus(service, 'mitigating', `healing with policy "${attempt.policy}"`, {
        policy: attempt.policy,
        attempt: attempt.id,
      });
    } else if (attempt.status !== 'running') {
      incidents.note(service, 'action', `policy "${attempt.policy}" ${attempt.status}: ${attempt.outcome}`, {
        data: {
          policy: attempt.policy,
          attempt: attempt.id,
          status: attempt.status,
          actions: attempt.actions.map((action) => ({ type: action.type, status: action.status })),
          verified: attempt.verified,
        },
      });
      if (attempt.status === 'succeeded') {
        for (const held of gate.drop(service)) {
          incidents.note(service, 'suppressed', `page not sent (healing worked): ${held.summary}`, {
            data: { reason: 'healed', page: held.id, attempt: attempt.id },
          });
        }
      } else {
        for (const held of gate.release(service)) void this.send(held);
      }
    }
    this.#options.updateState(service);
  }

  /** The `alert-oncall` action: the page waits for the attempt's verdict (sent only if it fails). */
  holdPage(service: string, policy: string, attemptId: string): void {
    const metrics = this.#options.metricsOf(service);
    const notification = this.notification(
      service,
      'high',
      `${service}: policy "${policy}" fired (attempt ${attemptId})`,
      [],
      { metrics },
    );
    this.#options.gate.hold(service, notification);
    this.#options.incidents.note(service, 'suppressed', `page held back while "${policy}" heals ${service}`, {
      data: { reason: 'healing', policy, attempt: attemptId },
    });
  }

  async escalate(service: string, tried: readonly AttemptView[], signal: Signal): Promise<void> {
    const conditions = tried[0]?.trigger.conditions.join(' and ') ?? signal.detail ?? 'healing failed';
    await this.page(service, 'high', `${service}: automatic healing failed (${conditions})`, tried);
  }

  async page(
    service: string,
    severity: Severity,
    summary: string,
    tried: readonly AttemptView[],
  ): Promise<void> {
    const { incidents } = this.#options;
    // Whoever is paged should not repeat what was tried: every attempt on the incident so far.
    const incident = incidents.openFor(service);
    const stored = incident ? await this.#options.attempts({ service, limit: 200 }).catch(() => []) : [];
    const attempts = attemptsTried(incident, stored, tried);
    const notification = this.notification(
      service,
      severity,
      escalationSummary(summary, attempts),
      attempts.map(triedLine),
      { attempts },
    );
    const decision = this.#options.gate.decide(service);
    if (!decision.send && decision.reason === 'dependency-down') {
      this.suppress(service, notification, decision.reason, decision.dependency);
      return;
    }
    incidents.setStatus(service, 'escalated', 'escalated to a human', {
      attempts: attempts.map((attempt) => attempt.id),
    });
    await this.send(notification);
  }

  notification(
    service: string,
    severity: Severity,
    summary: string,
    tried: string[],
    details: Record<string, unknown> = {},
  ): Notification {
    const incident = this.#options.incidents.openFor(service);
    return {
      id: `rebound-${service}-${incident?.id ?? 'none'}`,
      action: 'trigger',
      service,
      severity,
      summary,
      tried,
      details: { incident: incident?.id ?? null, state: this.#options.state(service), ...details },
      at: this.#options.clock.now(),
    };
  }

  async send(notification: Notification): Promise<void> {
    const resolve = notification.action === 'resolve';
    const summary = `${resolve ? 'resolved notification' : 'page'} sent: ${notification.summary}`;
    const data = { action: notification.action, severity: notification.severity, dedupKey: notification.id };
    const incident = notification.details.incident;
    if (resolve && typeof incident === 'string') {
      // Its incident is resolved already: the entry goes to it by id, reopening nothing.
      await this.#options.incidents.append(incident, 'notification', summary, data).catch(() => {});
    } else {
      this.#options.incidents.note(notification.service, 'notification', summary, { data });
    }
    await this.#options.escalator.send(notification);
  }

  suppress(service: string, notification: Notification, reason: string, dependency?: string): void {
    const why = reason === 'dependency-down' ? `its dependency ${dependency} is down` : 'it is recovering';
    this.#options.incidents.note(service, 'suppressed', `page inhibited (${why}): ${notification.summary}`, {
      data: { reason, dependency: dependency ?? null, page: notification.id },
    });
    void this.#options.recordEvent(service, 'suppressed', {
      reason,
      dependency,
      summary: notification.summary,
    });
  }

  /** An incident resolves once its service has stayed healthy for `incidents.resolveAfterMs`. */
  resolveIfQuiet(service: string): void {
    const { incidents } = this.#options;
    const incident = incidents.openFor(service);
    const healthySince = this.#options.healthySince(service);
    if (!incident || this.#options.state(service) !== 'healthy' || healthySince === undefined) return;
    const { resolveAfterMs } = this.#options.config().incidents;
    // Quiet too: a crash and a restart between two ticks leave healthySince as it was.
    const quietSince = Math.max(healthySince, lastSignalAt(incident));
    if (this.#options.clock.now() - quietSince < resolveAfterMs) return;
    const why = `healthy and quiet for ${resolveAfterMs} ms`;
    incidents.setStatus(service, 'resolved', `${service} ${why}`, { healthyForMs: resolveAfterMs });
    this.notifyResolved(incident, why);
  }

  /**
   * A 'resolved' notification for an incident that paged someone, or whose pages were held back
   * while it healed (whoever would have been paged learns that something happened and ended).
   */
  notifyResolved(incident: IncidentView, why: string): void {
    if (!needsResolvedNotification(incident)) return;
    const { clock, state } = this.#options;
    void this.send(resolvedNotification(incident, why, clock.now(), state(incident.service)));
  }
}

/** When the incident last heard a signal (epoch ms); 0 when it heard none. */
function lastSignalAt(incident: IncidentView): number {
  for (let index = incident.timeline.length - 1; index >= 0; index--) {
    const entry = incident.timeline[index]!;
    if (entry.kind === 'signal') return Date.parse(entry.at);
  }
  return 0;
}
