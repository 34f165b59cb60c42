// The supervisor's own healing as the control plane records it: crashes and failed probes become
// incident signals, restarts become attempts (running until the replica is healthy again), and a
// service the supervisor gives up on is paged.

import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { AttemptView } from './controlPlaneTypes.ts';
import { iso } from './incidents.ts';
import type { SupervisorEvent } from './supervisor.ts';

export type SupervisorHealingOptions = Pick<
  ControlPlaneContext,
  'clock' | 'log' | 'incidents' | 'severityFor' | 'updateState' | 'page' | 'recordAttempt' | 'recordEvent'
>;

export class SupervisorHealing {
  readonly #options: SupervisorHealingOptions;
  /** Supervisor restarts in progress: `service/replica` → their attempt. */
  readonly #restarts = new Map<string, AttemptView>();

  constructor(options: SupervisorHealingOptions) {
    this.#options = options;
  }

  /** The service's restart in progress, if any. */
  running(service: string): AttemptView | undefined {
    return [...this.#restarts.values()].find((attempt) => attempt.service === service);
  }

  onEvent(event: SupervisorEvent): void {
    const { incidents, severityFor, recordEvent, recordAttempt } = this.#options;
    const { service } = event;
    switch (event.type) {
      case 'replica-exited':
        if (event.expected) break;
        void recordEvent(service, 'exit', {
          replica: event.replica.id,
          code: event.code,
          signal: event.signal,
        });
        incidents.note(
          service,
          'signal',
          `replica ${event.replica.id} exited (${event.signal ?? `code ${event.code}`})`,
          {
            opens: true,
            severity: severityFor(service, 'high'),
            title: `${service}: replica ${event.replica.id} crashed`,
            data: { replica: event.replica.id, code: event.code, signal: event.signal },
          },
        );
        break;
      case 'replica-unhealthy':
        void recordEvent(service, 'probe', { replica: event.replica.id, detail: event.detail });
        incidents.note(
          service,
          'signal',
          `replica ${event.replica.id} failed its health probe: ${event.detail}`,
          {
            opens: true,
            severity: severityFor(service, 'high'),
            title: `${service}: replica ${event.replica.id} unhealthy`,
            data: { replica: event.replica.id, detail: event.detail },
          },
        );
        break;
      case 'replica-restarting': {
        const key = `${service}/${event.replica.id}`;
        if (this.#restarts.has(key)) break;
        const now = this.#options.clock.now();
        const attempt: AttemptView = {
          id: `sup-${crypto.randomUUID()}`,
          source: 'supervisor',
          policy: null,
          service,
          trigger: {
            source: event.reason === 'crash' ? 'exit' : 'probe',
            metrics: {},
            conditions: [event.reason === 'crash' ? 'replica exited' : 'health probe failed'],
            detail: event.note,
          },
          actions: [
            {
              type: 'restart-service',
              status: 'succeeded',
              message: `restart of ${event.replica.id} in ${event.delayMs} ms`,
              startedAt: iso(now),
              endedAt: iso(now),
            },
          ],
          status: 'running',
          outcome: `restarting replica ${event.replica.id} after a ${event.reason}`,
          verified: null,
          startedAt: iso(now),
          endedAt: null,
        };
        this.#restarts.set(key, attempt);
        incidents.note(service, 'action', attempt.outcome, {
          data: {
            attempt: attempt.id,
            replica: event.replica.id,
            reason: event.reason,
            delayMs: event.delayMs,
          },
        });
        incidents.setStatus(
          service,
          'mitigating',
          `supervisor restarting ${event.replica.id} (${event.reason})`,
          {
            attempt: attempt.id,
          },
        );
        void recordAttempt(attempt);
        break;
      }
      case 'replica-healthy': {
        const key = `${service}/${event.replica.id}`;
        const attempt = this.#restarts.get(key);
        if (!attempt) break;
        this.#restarts.delete(key);
        const now = this.#options.clock.now();
        attempt.status = 'succeeded';
        attempt.verified = true;
        attempt.endedAt = iso(now);
        attempt.outcome = `replica ${event.replica.id} restarted after a ${attempt.trigger.source === 'exit' ? 'crash' : 'hang'}, healthy again after ${now - Date.parse(attempt.startedAt)} ms`;
        void recordAttempt(attempt);
        incidents.note(service, 'action', attempt.outcome, {
          data: { attempt: attempt.id, replica: event.replica.id, status: attempt.status },
        });
        break;
      }
      case 'restart-held':
        void recordEvent(service, 'restart-held', { replica: event.replica.id, reason: event.reason });
        incidents.note(service, 'decision', `restart of ${event.replica.id} held back: ${event.reason}`, {
          data: { replica: event.replica.id, reason: event.reason },
        });
        break;
      case 'service-critical': {
        const tried: AttemptView[] = [];
        for (const [key, attempt] of this.#restarts) {
          if (attempt.service !== service) continue;
          this.#restarts.delete(key);
          attempt.status = 'escalated';
          attempt.endedAt = iso(this.#options.clock.now());
          attempt.outcome = `${event.restarts} restarts within ${event.windowMs} ms: the service is critical`;
          tried.push(attempt);
          void recordAttempt(attempt);
        }
        incidents.note(
          service,
          'signal',
          `${service} critical: ${event.restarts} restarts within ${event.windowMs} ms`,
          {
            opens: true,
            severity: severityFor(service, 'critical'),
            data: { restarts: event.restarts, windowMs: event.windowMs },
          },
        );
        void this.#options.page(
          service,
          'critical',
          `${service} is critical: it crashed ${event.restarts} times within ${Math.round(event.windowMs / 1000)} s and is no longer restarted`,
          tried,
        );
        break;
      }
      case 'orphan-stopped':
        this.#options.log(
          `rebound: stopped replica pid ${event.pid} of ${service} left behind by a previous run`,
        );
        void recordEvent(service, 'orphan-stopped', { pid: event.pid });
        return; // before the services start: there is no state to update yet
      default:
        break;
    }
    this.#options.updateState(service);
  }
}
