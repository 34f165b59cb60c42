// Incidents: what happened to a service, grouped so that one outage is one incident with one
// timeline (signals, decisions, actions, suppressions, notifications, notes), kept in the store.

import { type Clock, systemClock } from '../policies/index.ts';
import type { RecordFilter, Store } from '../store/index.ts';
import type { IncidentStatus, IncidentView, TimelineKind } from './controlPlaneTypes.ts';
import type { Severity } from './configTypes.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { readIncident } from './incidentRecords.ts';

export * from './incidentRecords.ts';
export * from './incidentSeverity.ts';

const KIND = 'incident';
const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
/** A timeline longer than this keeps its first entries and the latest ones (a flapping service). */
const MAX_TIMELINE = 500;

export interface IncidentTrackerOptions {
  store: Store;
  /** Signals for a service within this long of its incident's last entry join that incident. */
  groupWindowMs: number;
  clock?: Clock;
  newId?: () => string;
}

export interface NoteOptions {
  /** Opens an incident (or reopens the one resolved within the grouping window) when none is open. */
  opens?: boolean;
  /** Raises the incident's severity to this (never lowers it). */
  severity?: Severity;
  title?: string;
  data?: Record<string, unknown>;
}

export class IncidentTracker {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #groupWindowMs: number;
  readonly #newId: () => string;
  /** The open (or recently resolved, still groupable) incident of each service. */
  readonly #current = new Map<string, { incident: IncidentView; lastAt: number }>();
  /** Writes of one incident are chained so that they land in order. */
  #writes: Promise<void> = Promise.resolve();
  /** The last `unchangedList` read, and the writes there had been when it was made. */
  #listed: { since: number; saves: number; list: Promise<IncidentView[]> } | undefined;
  #saves = 0;

  constructor(options: IncidentTrackerOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#groupWindowMs = options.groupWindowMs;
    this.#newId = options.newId ?? (() => `inc-${crypto.randomUUID().slice(0, 8)}`);
  }

  /** Loads the incidents a previous run left open, so that they go on rather than being forgotten. */
  async resume(): Promise<void> {
    for (const record of await this.#store.records.list(KIND, { limit: 200 })) {
      const incident = readIncident(record.data);
      if (incident.status === 'resolved' || this.#current.has(incident.service)) continue;
      this.#current.set(incident.service, { incident, lastAt: record.at });
    }
  }

  /** The incident open for a service, if any. */
  openFor(service: string): IncidentView | undefined {
    const current = this.#current.get(service);
    return current && current.incident.status !== 'resolved' ? current.incident : undefined;
  }

  /**
   * Adds an entry to the service's incident, opening one (or reopening the one resolved within the
   * grouping window) when `opens` is true; without `opens`, entries only join an open incident.
   */
  note(
    service: string,
    kind: TimelineKind,
    summary: string,
    options: NoteOptions = {},
  ): IncidentView | undefined {
    const now = this.#clock.now();
    let current = this.#current.get(service);
    const groupable = current !== undefined && now - current.lastAt <= this.#groupWindowMs;
    if (!current || (current.incident.status === 'resolved' && !groupable)) {
      if (!options.opens) return undefined;
      current = {
        incident: {
          id: this.#newId(),
          service,
          status: 'open',
          severity: options.severity ?? 'medium',
          title: options.title ?? `${service}: ${summary}`,
          openedAt: iso(now),
          resolvedAt: null,
          acknowledgedAt: null,
          timeline: [],
        },
        lastAt: now,
      };
      this.#current.set(service, current);
    } else if (current.incident.status === 'resolved') {
      if (!options.opens) return undefined;
      this.#push(current.incident, now, 'decision', `status resolved → open: ${summary}`, {
        from: 'resolved',
        to: 'open',
      });
      current.incident.status = 'open';
      current.incident.resolvedAt = null;
    }
    const incident = current.incident;
    if (options.severity && SEVERITY_RANK[options.severity] > SEVERITY_RANK[incident.severity]) {
      incident.severity = options.severity;
    }
    this.#push(incident, now, kind, summary, options.data ?? {});
    current.lastAt = now;
    this.#save(incident, now);
    return incident;
  }

  /** Moves the service's open incident to a status (mitigating, escalated, resolved): a 'decision' entry. */
  setStatus(service: string, status: IncidentStatus, why: string, data: Record<string, unknown> = {}): void {
    const incident = this.openFor(service);
    if (!incident || incident.status === status) return;
    const now = this.#clock.now();
    this.#move(incident, status, now, why, data);
    this.#current.get(service)!.lastAt = now;
    this.#save(incident, now);
  }

  /** An operator saw it: sets acknowledgedAt once (a second ack changes nothing). */
  acknowledge(id: string): Promise<IncidentView> {
    return this.#change(id, (incident, now) => {
      if (incident.acknowledgedAt !== null) return false;
      incident.acknowledgedAt = iso(now);
      this.#push(incident, now, 'note', 'acknowledged by an operator', { by: 'operator' });
      return true;
    });
  }

  /** An operator resolves it; ConflictError when it is resolved already. */
  resolve(id: string): Promise<IncidentView> {
    return this.#change(id, (incident, now) => {
      if (incident.status === 'resolved') {
        throw new ConflictError(`incident ${id} is resolved already (at ${incident.resolvedAt})`);
      }
      this.#move(incident, 'resolved', now, 'resolved by an operator', { by: 'operator' });
      return true;
    });
  }

  /** An operator's note on the timeline. */
  addNote(id: string, text: string): Promise<IncidentView> {
    return this.append(id, 'note', text, { by: 'operator' });
  }

  /** An entry on a given incident, resolved or not (e.g. its resolved notification). */
  append(
    id: string,
    kind: TimelineKind,
    summary: string,
    data: Record<string, unknown> = {},
  ): Promise<IncidentView> {
    return this.#change(id, (incident, now) => {
      this.#push(incident, now, kind, summary, data);
      return true;
    });
  }

  /** Every stored incident, newest first, with its timeline. */
  list(limit = 100): Promise<IncidentView[]> {
    return this.#read({ limit });
  }

  /**
   * Every incident opened at or after `since` (epoch ms), newest first; the store is read again
   * only once an incident has changed since the last read, or for an earlier `since`: for figures
   * computed often over an SLO window (MTTR and MTBF at each /metrics scrape).
   */
  async unchangedList(since: number): Promise<IncidentView[]> {
    let listed = this.#listed;
    if (!listed || listed.saves !== this.#saves || since < listed.since) {
      // Incidents are stored at their opening: a `since` on the records is one on the openings.
      listed = { since, saves: this.#saves, list: this.#read({ since }) };
      this.#listed = listed;
      listed.list.catch(() => (this.#listed = undefined));
    }
    const incidents = await listed.list;
    // A read for an earlier `since` may hold incidents opened before this one.
    return since === listed.since
      ? incidents
      : incidents.filter((incident) => Date.parse(incident.openedAt) >= since);
  }

  async get(id: string): Promise<IncidentView> {
    await this.#writes;
    const record = await this.#store.records.get(KIND, id);
    if (!record) throw new NotFoundError(`no incident with id ${JSON.stringify(id)}`);
    return this.#live(readIncident(record.data));
  }

  /** Resolves once every write so far is durable. */
  flush(): Promise<void> {
    return this.#writes;
  }

  async #read(filter: RecordFilter): Promise<IncidentView[]> {
    await this.#writes;
    const records = await this.#store.records.list(KIND, filter);
    return records.map((record) => this.#live(readIncident(record.data)));
  }

  /** The in-memory incident when it is a service's current one (the same object later entries go to). */
  #live(stored: IncidentView): IncidentView {
    const current = this.#current.get(stored.service);
    return current?.incident.id === stored.id ? current.incident : stored;
  }

  async #change(id: string, apply: (incident: IncidentView, now: number) => boolean): Promise<IncidentView> {
    const incident = await this.get(id);
    const now = this.#clock.now();
    if (apply(incident, now)) {
      const current = this.#current.get(incident.service);
      if (current?.incident === incident) current.lastAt = now;
      this.#save(incident, now);
      await this.#writes;
    }
    return structuredClone(incident);
  }

  #move(
    incident: IncidentView,
    status: IncidentStatus,
    now: number,
    why: string,
    data: Record<string, unknown>,
  ): void {
    const from = incident.status;
    incident.status = status;
    if (status === 'resolved') incident.resolvedAt = iso(now);
    this.#push(incident, now, 'decision', `status ${from} → ${status}: ${why}`, {
      from,
      to: status,
      ...data,
    });
  }

  #push(
    incident: IncidentView,
    now: number,
    kind: TimelineKind,
    summary: string,
    data: Record<string, unknown>,
  ): void {
    incident.timeline.push({ at: iso(now), kind, summary, data });
    if (incident.timeline.length > MAX_TIMELINE) incident.timeline.splice(50, 1);
  }

  #save(incident: IncidentView, now: number): void {
    this.#saves++;
    const record = {
      kind: KIND,
      id: incident.id,
      service: incident.service,
      at: Date.parse(incident.openedAt) || now,
      data: JSON.stringify(incident),
    };
    this.#writes = this.#writes.then(() => this.#store.records.put(record)).catch(() => {});
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
