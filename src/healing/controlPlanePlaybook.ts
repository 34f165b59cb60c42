// The incident playbook's side of the control plane (docs/incidents.md): starting each open
// incident's `incident-response` workflow once, and the PlaybookPlane its steps act through.

import type { WorkflowEngine } from '../durable/index.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { AttemptView, ReliabilityView } from './controlPlaneTypes.ts';
import {
  type AlertFact,
  type HealingRef,
  INCIDENT_RESPONSE,
  PLAYBOOK_POLICY,
  type PlaybookPlane,
} from './incidentPlaybook.ts';
import { belongsToIncident } from './incidentNotifications.ts';
import { iso } from './incidents.ts';
import type { Actuator } from './policyEngine.ts';

export interface PlaybookStartsOptions extends Pick<ControlPlaneContext, 'incidents' | 'log'> {
  workflows: WorkflowEngine;
  /** Whether the control plane is closing (a failed start is then not worth a log line). */
  closed: () => boolean;
}

/** Starts each open incident's playbook once per process. */
export class PlaybookStarts {
  readonly #options: PlaybookStartsOptions;
  /** Incidents whose playbook this process started (or found started): started once each. */
  readonly #playbooks = new Set<string>();

  constructor(options: PlaybookStartsOptions) {
    this.#options = options;
  }

  /** Starts the open incident's playbook once; a start of an id that exists resumes or answers it. */
  start(service: string): void {
    const incident = this.#options.incidents.openFor(service);
    if (!incident || this.#playbooks.has(incident.id)) return;
    this.#playbooks.add(incident.id);
    this.#options.workflows
      .start(INCIDENT_RESPONSE, { incident: incident.id, service }, { id: incident.id })
      .catch((error: unknown) => {
        this.#playbooks.delete(incident.id);
        if (!this.#options.closed())
          this.#options.log(
            `rebound: could not start the playbook of ${incident.id}: ${(error as Error).message}`,
          );
      });
  }
}

export interface ControlPlanePlaybookOptions extends Pick<
  ControlPlaneContext,
  | 'clock'
  | 'store'
  | 'incidents'
  | 'supervisor'
  | 'engine'
  | 'state'
  | 'updateState'
  | 'metricsOf'
  | 'attempts'
  | 'recordAttempt'
  | 'page'
> {
  actuator: Actuator;
  reliability: () => Promise<ReliabilityView>;
  desiredReplicas: (service: string) => number;
  downDependencies: (service: string) => string[];
  /** Whether an Alertmanager alert about the service is firing. */
  alerting: (service: string) => boolean;
  /** The supervisor's restart of the service in progress, if any. */
  restarting: (service: string) => AttemptView | undefined;
}

export function controlPlanePlaybook(options: ControlPlanePlaybookOptions): PlaybookPlane {
  const { clock, store, incidents, state, updateState, metricsOf } = options;
  return {
    now: () => clock.now(),
    incident: (id) => incidents.get(id),
    facts: async (service) => {
      const reliability = (await options.reliability()).services[service];
      updateState(service);
      const replicas = options.supervisor.replicas(service);
      return {
        state: state(service),
        healthyReplicas: replicas.filter((replica) => replica.state === 'healthy').length,
        desiredReplicas: options.desiredReplicas(service),
        metrics: metricsOf(service),
        dependenciesDown: options.downDependencies(service),
        reliability: reliability
          ? { availability: reliability.availability, burnRate1h: reliability.burnRate['1h'] }
          : null,
      };
    },
    // The supervisor keeps no output of the replicas: the service's recent events stand in for logs.
    logs: async (service) =>
      (await store.records.list('event', { service, limit: 20 })).map((record) => {
        const { type, at, service: _service, ...rest } = JSON.parse(record.data) as Record<string, unknown>;
        return `${String(at)} ${String(type)} ${JSON.stringify(rest)}`.slice(0, 300);
      }),
    alerts: async (service) => {
      const latest = new Map<string, AlertFact>();
      for (const record of await store.records.list('event', { service, limit: 200 })) {
        const data = JSON.parse(record.data) as Record<string, unknown>;
        if (data.type !== 'alert' && data.type !== 'burn-rate') continue;
        const name = data.type === 'alert' ? String(data.alertname) : `burn-rate ${String(data.alert)}`;
        const status = data.type === 'alert' ? String(data.status) : 'firing';
        if (!latest.has(name)) latest.set(name, { name, status, at: iso(record.at) });
      }
      return [...latest.values()];
    },
    healingUnderWay: async (service, since) => {
      const running = options.restarting(service);
      if (running) return running;
      const attempts = (await options.attempts({ service, limit: 50 })).filter(
        (attempt) => attempt.source !== 'operator' && attempt.policy !== PLAYBOOK_POLICY,
      );
      if (options.engine().isHealing(service)) {
        const ref: HealingRef = { id: 'unknown', source: 'policy', policy: null };
        return attempts.find((attempt) => attempt.status === 'running') ?? ref;
      }
      if (since === undefined) return undefined;
      return attempts.find(belongsToIncident({ openedAt: since.at, timeline: since.timeline }));
    },
    act: async (service, action, attemptId) => {
      incidents.setStatus(service, 'mitigating', `incident playbook: ${action.type}`, {
        policy: PLAYBOOK_POLICY,
        attempt: attemptId,
      });
      try {
        return await options.actuator.run(action, { service, policy: PLAYBOOK_POLICY, attemptId });
      } finally {
        updateState(service);
      }
    },
    recordAttempt: (attempt) => options.recordAttempt(attempt),
    note: async (id, kind, summary, data) => {
      await incidents.append(id, kind, summary, data);
    },
    check: (service) => {
      updateState(service);
      const current = state(service);
      const alerting = options.alerting(service);
      const matching = options.engine().matching(service, metricsOf(service)).length > 0;
      return { state: current, healthy: current === 'healthy', signalClear: !alerting && !matching };
    },
    escalate: async (service, id, summary) => {
      if (incidents.openFor(service)?.id !== id) return false;
      await options.page(service, 'high', summary, []);
      return true;
    },
  };
}
