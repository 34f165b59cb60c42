// Incidents: what happened to a service, grouped so that one outage is one incident with one
// timeline (signals, decisions, actions, suppressions, notifications, state changes), kept in the store.

import { type Clock, systemClock } from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import type { IncidentStatus, IncidentView, TimelineEntry } from './controlPlaneTypes.ts';
import type { Severity } from './configTypes.ts';
import { NotFoundError } from './errors.ts';

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

export class IncidentTracker {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #groupWindowMs: number;
  readonly #newId: () => string;
  /** The open (or recently resolved, still groupable) incident of each service. */
  readonly #current = new Map<string, { incident: IncidentView; lastAt: number }>();
  /** Writes of one incident are chained so that they land in order. */
  #writes: Promise<void> = Promise.resolve();

  constructor(options: IncidentTrackerOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#groupWindowMs = options.groupWindowMs;
    this.#newId = options.newId ?? (() => `inc-${crypto.randomUUID().slice(0, 8)}`);
  }

  /** Loads the incidents a previous run left open, so that they go on rather than being forgotten. */
  async resume(): Promise<void> {
    for (const record of await this.#store.records.list(KIND, { limit: 200 })) {
      const incident = JSON.parse(record.data) as IncidentView;
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
    kind: TimelineEntry['kind'],
    message: string,
    options: { opens?: boolean; severity?: Severity; title?: string } = {},
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
          title: options.title ?? `${service}: ${message}`,
          openedAt: iso(now),
          resolvedAt: null,
          timeline: [],
        },
        lastAt: now,
      };
      this.#current.set(service, current);
    } else if (current.incident.status === 'resolved') {
      if (!options.opens) return undefined;
      current.incident.status = 'open';
      current.incident.resolvedAt = null;
    }
    const incident = current.incident;
    if (options.severity && SEVERITY_RANK[options.severity] > SEVERITY_RANK[incident.severity]) {
      incident.severity = options.severity;
    }
    incident.timeline.push({ at: iso(now), kind, message });
    if (incident.timeline.length > MAX_TIMELINE) incident.timeline.splice(50, 1);
    current.lastAt = now;
    this.#save(incident, now);
    return incident;
  }

  /** Moves the service's open incident to a status (mitigating, escalated, resolved). */
  setStatus(service: string, status: IncidentStatus, message: string): void {
    const incident = this.openFor(service);
    if (!incident || incident.status === status) return;
    const now = this.#clock.now();
    incident.status = status;
    if (status === 'resolved') incident.resolvedAt = iso(now);
    incident.timeline.push({ at: iso(now), kind: 'state', message });
    this.#current.get(service)!.lastAt = now;
    this.#save(incident, now);
  }

  async list(limit = 100): Promise<IncidentView[]> {
    await this.#writes;
    const records = await this.#store.records.list(KIND, { limit });
    return records.map((record) => JSON.parse(record.data) as IncidentView);
  }

  async get(id: string): Promise<IncidentView> {
    await this.#writes;
    const record = await this.#store.records.get(KIND, id);
    if (!record) throw new NotFoundError(`no incident with id ${JSON.stringify(id)}`);
    return JSON.parse(record.data) as IncidentView;
  }

  /** Resolves once every write so far is durable. */
  flush(): Promise<void> {
    return this.#writes;
  }

  #save(incident: IncidentView, now: number): void {
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
