// The control plane's side of the hierarchy of controllers: their actions run through the actuator
// (permitted, within `limits`, on the healing log as policy `controller:<level>`), their pages go
// the escalation path, and every decision is logged and kept as a 'control-decision' event.

import type { AutoscalerDecision } from '../control/index.ts';
import { actionProblem, type ActionRules, isPermitted } from './actionLimits.ts';
import { singleActionAttempt } from './attemptOutcome.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { AttemptActionView, AttemptView, ControlDecisionView } from './controlPlaneTypes.ts';
import { type ControlActRequest, ControlHierarchy, type ControlSituation } from './hierarchy.ts';
import { iso } from './incidents.ts';
import type { ActionOutcome, Actuator, Signal } from './policyEngine.ts';

/** The event kind a decision is kept as (read back at start). */
export const CONTROL_DECISION_EVENT = 'control-decision';
/** How many of the latest events are searched for decisions at start. */
const RESUME_EVENTS = 2000;

/** The policy name a controller's attempts carry on the healing log, e.g. `controller:group:shop`. */
export const controllerPolicy = (level: string): string => `controller:${level}`;

export interface ControlPlaneHierarchyOptions extends Pick<
  ControlPlaneContext,
  | 'config'
  | 'clock'
  | 'log'
  | 'store'
  | 'supervisor'
  | 'gateways'
  | 'incidents'
  | 'metricsOf'
  | 'severityFor'
  | 'recordAttempt'
  | 'recordEvent'
  | 'page'
> {
  /** The built-in actions (not rate limited themselves). */
  actuator: Actuator;
  /** Counts one automated action against `limits` (shared with the policies); why not, when refused. */
  takeAction: () => string | undefined;
  /** Today's path for a failed healing: the page with what was tried (incidentResponse.ts). */
  escalate: (service: string, tried: readonly AttemptView[], signal: Signal) => Promise<void>;
  /** Services an operator stopped. */
  stopped: ReadonlySet<string>;
  updateState: (service: string) => void;
}

export function controlPlaneHierarchy(options: ControlPlaneHierarchyOptions): ControlHierarchy {
  const { config, clock, log, gateways, supervisor } = options;
  const rules = (): ActionRules => ({
    services: new Set(Object.keys(config().services)),
    permissions: config().permissions,
    failoverTargetOf: (service) => config().services[service]?.failover?.target,
  });
  const act = controllerActuation(options, rules);
  return new ControlHierarchy({
    config: config(),
    clock,
    actions: {
      act,
      permitted: (service, action) => isPermitted(config().permissions, service, action),
      restore: (service) => {
        const gateway = gateways.get(service);
        if (!gateway?.fallbackMode) return false;
        gateway.setFallbackMode(false);
        options.updateState(service);
        return true;
      },
      page: (situation, reason) => page(options, situation, reason),
      isCritical: (service) => supervisor.isCritical(service) || options.stopped.has(service),
      fallbackMode: (service) => gateways.get(service)?.fallbackMode === true,
      failedOver: (service) => gateways.get(service)?.failover !== undefined,
    },
    onDecision: (outcome, situation) => {
      log(
        `rebound: controller ${outcome.level}: ${outcome.action} (${situation.type} of ${situation.service}): ${outcome.reason}`,
      );
      void options.recordEvent(situation.service, CONTROL_DECISION_EVENT, {
        controller: outcome.level,
        situation: situation.type,
        action: outcome.action,
        reason: outcome.reason,
        ...(outcome.details ? { details: outcome.details } : {}),
        at: outcome.at,
      });
    },
    onError: (error, controller) =>
      log(
        `rebound: controller ${controller} failed to decide: ${error instanceof Error ? error.message : String(error)}`,
      ),
  });
}

/** The decisions an earlier run kept as events, oldest first. */
export async function persistedDecisions(
  store: ControlPlaneContext['store'],
): Promise<ControlDecisionView[]> {
  const decisions: ControlDecisionView[] = [];
  for (const record of await store.records.list('event', { limit: RESUME_EVENTS })) {
    const data = JSON.parse(record.data) as Record<string, unknown>;
    if (data.type !== CONTROL_DECISION_EVENT || typeof data.controller !== 'string') continue;
    decisions.push({
      level: data.controller,
      action: String(data.action),
      reason: String(data.reason),
      at: String(data.at),
      ...(typeof data.details === 'object' && data.details !== null
        ? { details: data.details as Record<string, unknown> }
        : {}),
    });
  }
  return decisions.reverse();
}

/**
 * A controller's action, as the policy engine runs one: refused when not permitted or over the
 * limits (shared with the policies), else run by the actuator; recorded either way.
 */
function controllerActuation(
  options: ControlPlaneHierarchyOptions,
  rules: () => ActionRules,
): (request: ControlActRequest) => Promise<ActionOutcome> {
  const { clock } = options;
  return async (request) => {
    const { action, service, level } = request;
    const startedAt = clock.now();
    const id = `controller-${crypto.randomUUID()}`;
    const refused = actionProblem(action, service, rules()) ?? options.takeAction();
    let outcome: ActionOutcome;
    let status: AttemptActionView['status'];
    if (refused !== undefined) {
      outcome = { ok: false, message: `not run: ${refused}` };
      status = 'skipped';
    } else {
      try {
        outcome = await options.actuator.run(action, {
          service,
          policy: controllerPolicy(level),
          attemptId: id,
        });
      } catch (error) {
        outcome = { ok: false, message: error instanceof Error ? error.message : String(error) };
      }
      status = outcome.ok ? 'succeeded' : 'failed';
      options.updateState(service);
    }
    const attempt = singleActionAttempt(
      {
        id,
        source: 'policy',
        policy: controllerPolicy(level),
        service,
        trigger: {
          source: 'controller',
          metrics: triggerMetrics(request.situation, options),
          conditions: [request.reason],
          detail: `${request.situation.type} of ${request.situation.service}`,
        },
        outcome: `${action.type} ${outcome.ok ? 'succeeded' : 'failed'}: ${outcome.message}`,
      },
      {
        type: action.type,
        status,
        message: outcome.message,
        startedAt: iso(startedAt),
        endedAt: iso(clock.now()),
      },
    );
    await options.recordAttempt(attempt);
    return outcome;
  };
}

function triggerMetrics(
  situation: ControlSituation,
  options: Pick<ControlPlaneHierarchyOptions, 'config'>,
): Record<string, number> {
  if (situation.type === 'healing-failed') return { ...situation.signal.metrics };
  if (situation.type === 'capacity') {
    const metric = options.config().services[situation.service]?.autoscale?.metric ?? 'value';
    return capacityMetrics(metric, situation.decision);
  }
  return {};
}

function capacityMetrics(metric: string, decision: AutoscalerDecision): Record<string, number> {
  return { [metric]: decision.value, replicas: decision.replicas, desired: decision.desired };
}

/** The global level's page: today's escalation for a failed healing; a new incident's page for capacity. */
async function page(
  options: ControlPlaneHierarchyOptions,
  situation: ControlSituation,
  reason: string,
): Promise<void> {
  const { service } = situation;
  if (situation.type === 'healing-failed') {
    await options.escalate(service, situation.tried, situation.signal);
    return;
  }
  const summary = `${service}: ${reason}`;
  options.incidents.note(service, 'decision', `controller global: ${reason}`, {
    opens: true,
    severity: options.severityFor(service, 'high'),
    title: `${service}: out of capacity`,
    data: { controller: 'global', situation: situation.type },
  });
  await options.page(service, 'high', summary, []);
}
