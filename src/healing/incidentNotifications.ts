// What pages about an incident say: the healing already tried on it (so that whoever is paged does
// not repeat it), and the resolved notification of an incident that paged, or whose pages were held.

import type { Severity } from './configTypes.ts';
import type { AttemptView, IncidentView, TimelineEntry } from './controlPlaneTypes.ts';
import type { Notification } from './webhookFormats.ts';

/** One healing attempt as a page lists it. */
export interface TriedAttempt {
  id: string;
  source: AttemptView['source'];
  policy: string | null;
  actions: string[];
  status: AttemptView['status'];
  outcome: string;
}

/**
 * Whether an attempt is on the incident: named on its timeline, or started since it opened (`openedAt`,
 * epoch ms); the attempt that opened it started a moment before it, and is named.
 */
export function belongsToIncident(incident: {
  openedAt: number;
  timeline: readonly TimelineEntry[];
}): (attempt: Pick<AttemptView, 'id' | 'startedAt'>) => boolean {
  const named = new Set(incident.timeline.map((entry) => entry.data.attempt));
  return (attempt) => named.has(attempt.id) || Date.parse(attempt.startedAt) >= incident.openedAt;
}

/**
 * The attempts on the incident (`belongsToIncident`) and those the caller knows of, once each by id,
 * oldest first; the caller's copy wins (it may be newer than the stored one).
 */
export function attemptsTried(
  incident: Pick<IncidentView, 'openedAt' | 'timeline'> | undefined,
  stored: readonly AttemptView[],
  known: readonly AttemptView[],
): TriedAttempt[] {
  const on = incident
    ? belongsToIncident({ openedAt: Date.parse(incident.openedAt), timeline: incident.timeline })
    : () => false;
  const byId = new Map<string, AttemptView>();
  for (const attempt of stored) {
    if (on(attempt)) byId.set(attempt.id, attempt);
  }
  for (const attempt of known) byId.set(attempt.id, attempt);
  return [...byId.values()]
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))
    .map((attempt) => ({
      id: attempt.id,
      source: attempt.source,
      policy: attempt.policy,
      actions: attempt.actions.map((action) => `${action.type} ${action.status}`),
      status: attempt.status,
      outcome: attempt.outcome,
    }));
}

/** `policy "Slow" (restart-service succeeded, scale-up failed): failed: latency_p99 still 900`. */
export function triedLine(attempt: TriedAttempt): string {
  const who = attempt.policy === null ? attempt.source : `policy "${attempt.policy}"`;
  const actions = attempt.actions.length === 0 ? '' : ` (${attempt.actions.join(', ')})`;
  return `${who}${actions}: ${attempt.status}: ${attempt.outcome}`;
}

/** The summary of an escalation page, saying how many attempts failed to heal it. */
export function escalationSummary(summary: string, tried: readonly TriedAttempt[]): string {
  if (tried.length === 0) return `${summary}; nothing was tried automatically`;
  return `${summary}; already tried: ${tried.map(triedLine).join('; ')}`;
}

/** Whether a resolved incident is worth a 'resolved' notification: it paged, or held pages back. */
export function needsResolvedNotification(incident: IncidentView): boolean {
  return incident.timeline.some(
    (entry) =>
      entry.kind === 'suppressed' ||
      (entry.kind === 'notification' && entry.data.action === 'trigger') ||
      (entry.kind === 'decision' && entry.data.to === 'escalated'),
  );
}

/** The 'resolved' notification of an incident (same dedup key as its pages). */
export function resolvedNotification(
  incident: IncidentView,
  why: string,
  at: number,
  state: string,
): Notification {
  const held = incident.timeline.filter((entry) => entry.kind === 'suppressed').length;
  const heldText = held === 0 ? '' : ` (${held} page${held === 1 ? '' : 's'} held back while it healed)`;
  return {
    id: `rebound-${incident.service}-${incident.id}`,
    action: 'resolve',
    service: incident.service,
    severity: incident.severity as Severity,
    summary: `${incident.service} recovered: ${why}${heldText}`,
    tried: [],
    details: { incident: incident.id, state, held, title: incident.title },
    at,
    kind: 'incident-resolved',
  };
}
