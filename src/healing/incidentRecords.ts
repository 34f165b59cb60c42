// How incidents are stored and shown: the statuses, reading a stored incident (older runs wrote
// timeline entries as `{ kind, message }`), and the list item without its timeline.

import type {
  IncidentStatus,
  IncidentSummaryView,
  IncidentView,
  TimelineEntry,
  TimelineKind,
} from './controlPlaneTypes.ts';

export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'mitigating', 'resolved', 'escalated'];

export function isIncidentStatus(value: string): value is IncidentStatus {
  return (INCIDENT_STATUSES as readonly string[]).includes(value);
}

/** An operator's note is at most this long (characters). */
export const NOTE_MAX_LENGTH = 4000;

const TIMELINE_KINDS: readonly TimelineKind[] = [
  'signal',
  'decision',
  'action',
  'suppressed',
  'notification',
  'note',
];
/** The kinds of earlier versions, and what they are now. */
const LEGACY_KINDS: Readonly<Record<string, TimelineKind>> = { suppression: 'suppressed', state: 'decision' };

/** A stored incident as the current shape, whichever version of rebound wrote it. */
export function readIncident(text: string): IncidentView {
  const stored = JSON.parse(text) as IncidentView & { timeline: StoredEntry[] };
  return {
    id: stored.id,
    service: stored.service,
    severity: stored.severity,
    status: stored.status,
    title: stored.title,
    openedAt: stored.openedAt,
    resolvedAt: stored.resolvedAt ?? null,
    acknowledgedAt: stored.acknowledgedAt ?? null,
    timeline: (stored.timeline ?? []).map(readEntry),
  };
}

interface StoredEntry {
  at: string;
  kind: string;
  summary?: string;
  message?: string;
  data?: Record<string, unknown>;
}

function readEntry(entry: StoredEntry): TimelineEntry {
  const kind = (TIMELINE_KINDS as readonly string[]).includes(entry.kind)
    ? (entry.kind as TimelineKind)
    : (LEGACY_KINDS[entry.kind] ?? 'note');
  return { at: entry.at, kind, summary: entry.summary ?? entry.message ?? '', data: entry.data ?? {} };
}

/** The list item: everything but the timeline. */
export function incidentSummary(incident: IncidentView): IncidentSummaryView {
  return {
    id: incident.id,
    service: incident.service,
    severity: incident.severity,
    status: incident.status,
    title: incident.title,
    openedAt: incident.openedAt,
    resolvedAt: incident.resolvedAt,
    acknowledgedAt: incident.acknowledgedAt,
  };
}
