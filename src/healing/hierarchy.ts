// The hierarchy of controllers `rebound up` runs (docs/control.md): one per service, one per group
// and a global one, built from the config, deciding what is left to do when policy healing failed
// or a service is out of capacity; each level acts itself and hands on what it cannot do.

import {
  type AutoscalerDecision,
  type Controller,
  controller,
  type ControlOutcome,
} from '../control/index.ts';
import type { Clock } from '../policies/index.ts';
import { formatNumber } from './conditions.ts';
import type { ActionConfig, ActionName, GroupConfig, ReboundConfig } from './configTypes.ts';
import type {
  AttemptView,
  ControlDecisionView,
  ControllerLevel,
  ControllerView,
} from './controlPlaneTypes.ts';
import type { ActionOutcome, Signal } from './policyEngine.ts';

/** What the hierarchy is asked about. */
export type ControlSituation =
  /** Every matching policy failed (the policy engine escalates); `handledBelow`: the page after a lower level acted. */
  | {
      readonly type: 'healing-failed';
      readonly service: string;
      readonly tried: readonly AttemptView[];
      readonly signal: Signal;
      readonly handledBelow?: ControlOutcome;
    }
  /** The autoscaler wants more replicas than the service's max. */
  | { readonly type: 'capacity'; readonly service: string; readonly decision: AutoscalerDecision }
  /** A shed service whose cause has stayed within target: its group lifts the shedding. */
  | { readonly type: 'restore'; readonly service: string; readonly cause: string };

/** A controller's action on a service, for the healing log. */
export interface ControlActRequest {
  /** The deciding controller, e.g. `group:shop`. */
  readonly level: string;
  readonly service: string;
  readonly action: ActionConfig;
  readonly reason: string;
  readonly situation: ControlSituation;
}

/** What the hierarchy acts through (the control plane's, or a test's fake). */
export interface HierarchyActions {
  /** Runs the action through the actuator: permitted, rate limited and recorded on the healing log. */
  act(request: ControlActRequest): Promise<ActionOutcome>;
  /** Whether `permissions` let automation run this action on the service. */
  permitted(service: string, action: ActionName): boolean;
  /** Takes the service's gateway out of fallback mode; false when it was not in it. */
  restore(service: string): boolean;
  /** Pages a human: for a failed healing, exactly the escalation path the policy engine used before. */
  page(situation: ControlSituation, reason: string): Promise<void>;
  isCritical(service: string): boolean;
  fallbackMode(service: string): boolean;
  failedOver(service: string): boolean;
}

export interface ControlHierarchyOptions {
  /** The config at start: the hierarchy is built once (a reload does not change it). */
  config: ReboundConfig;
  clock: Clock;
  actions: HierarchyActions;
  /** Told of every answer of the hierarchy (logs, events). */
  onDecision?: (outcome: ControlOutcome, situation: ControlSituation) => void;
  /** Where a `decide` that throws is reported. */
  onError?: (error: unknown, controller: string) => void;
}

/** Decisions a controller's view shows, and all its controller keeps. */
export const DECISIONS_SHOWN = 100;
export const GLOBAL_CONTROLLER = 'global';
export const serviceController = (service: string): string => `service:${service}`;
export const groupController = (group: string): string => `group:${group}`;

/** A service shed (in fallback mode) by its group while `cause` was out of capacity. */
interface Shed {
  readonly group: string;
  readonly cause: string;
  readonly at: number;
}

export class ControlHierarchy {
  readonly #options: ControlHierarchyOptions;
  readonly #global: Controller<ControlSituation>;
  readonly #byName = new Map<string, { controller: Controller<ControlSituation>; level: ControllerLevel }>();
  /** Decisions of an earlier run (persisted), shown before this run's. */
  readonly #earlier = new Map<string, ControlDecisionView[]>();
  readonly #shed = new Map<string, Shed>();
  readonly #saturatedAt = new Map<string, number>();
  readonly #escalatedAt = new Map<string, number>();
  readonly #handling = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: ControlHierarchyOptions) {
    this.#options = options;
    const { config, clock } = options;
    const shared = {
      clock,
      maxDecisions: DECISIONS_SHOWN,
      ...(options.onError ? { onError: options.onError } : {}),
    };
    this.#global = controller<ControlSituation>({
      ...shared,
      name: GLOBAL_CONTROLLER,
      decide: (situation) => this.#decideGlobal(situation),
    });
    this.#byName.set(GLOBAL_CONTROLLER, { controller: this.#global, level: 'global' });
    for (const group of Object.values(config.groups)) {
      const members = new Set(
        Object.values(config.services)
          .filter((service) => service.group === group.name)
          .map((service) => service.name),
      );
      const name = groupController(group.name);
      const made = controller<ControlSituation>({
        ...shared,
        name,
        parent: this.#global,
        accepts: (situation) => members.has(situation.service),
        decide: (situation) => this.#decideGroup(name, group, situation),
      });
      this.#byName.set(name, { controller: made, level: 'group' });
    }
    for (const service of Object.values(config.services)) {
      const name = serviceController(service.name);
      const parent = service.group
        ? this.#byName.get(groupController(service.group))!.controller
        : this.#global;
      const made = controller<ControlSituation>({
        ...shared,
        name,
        parent,
        accepts: (situation) => situation.service === service.name,
        decide: (situation) => this.#decideService(name, situation),
      });
      this.#byName.set(name, { controller: made, level: 'service' });
    }
  }

  /**
   * Every matching policy failed: the lowest level with something left to try does it, and a human
   * is paged in every case (the global level), as before the hierarchy existed.
   */
  async healingFailed(
    service: string,
    tried: readonly AttemptView[],
    signal: Signal,
  ): Promise<ControlOutcome[]> {
    if (this.#closed) return [];
    const situation: ControlSituation = { type: 'healing-failed', service, tried, signal };
    const first = await this.#handle(serviceController(service), situation);
    if (!first || first.level === GLOBAL_CONTROLLER) return first ? [first] : [];
    const page = await this.#handle(GLOBAL_CONTROLLER, { ...situation, handledBelow: first });
    return page ? [first, page] : [first];
  }

  /**
   * The autoscaler wants more than the service's max: escalated once per `capacityCooldownMs` (and
   * never while an escalation of the service is under way); undefined when not escalated now.
   */
  async saturated(service: string, decision: AutoscalerDecision): Promise<ControlOutcome | undefined> {
    const now = this.#options.clock.now();
    this.#saturatedAt.set(service, now);
    if (this.#closed || this.#handling.has(service)) return undefined;
    const last = this.#escalatedAt.get(service);
    if (last !== undefined && now - last < this.#options.config.global.capacityCooldownMs) return undefined;
    this.#escalatedAt.set(service, now);
    this.#handling.add(service);
    try {
      return await this.#handle(serviceController(service), { type: 'capacity', service, decision });
    } finally {
      this.#handling.delete(service);
    }
  }

  /** Lifts the shedding whose cause has not been saturated for its group's `restoreAfterMs`. */
  async tick(): Promise<ControlOutcome[]> {
    const now = this.#options.clock.now();
    const outcomes: ControlOutcome[] = [];
    for (const [service, shed] of [...this.#shed]) {
      if (this.#closed || this.#handling.has(service)) continue;
      const quietSince = Math.max(shed.at, this.#saturatedAt.get(shed.cause) ?? shed.at);
      if (now - quietSince < this.#options.config.groups[shed.group]!.restoreAfterMs) continue;
      this.#handling.add(service);
      try {
        const outcome = await this.#handle(groupController(shed.group), {
          type: 'restore',
          service,
          cause: shed.cause,
        });
        if (outcome) outcomes.push(outcome);
      } finally {
        this.#handling.delete(service);
      }
    }
    return outcomes;
  }

  /** Whether the group shed this service (its fallback mode is the hierarchy's to lift). */
  isShed(service: string): boolean {
    return this.#shed.has(service);
  }

  /** Decisions persisted by an earlier run, oldest first: shown before this run's. */
  remember(decisions: readonly ControlDecisionView[]): void {
    for (const decision of decisions) {
      if (!this.#byName.has(decision.level)) continue;
      const list = this.#earlier.get(decision.level) ?? [];
      list.push(decision);
      this.#earlier.set(decision.level, list.slice(-DECISIONS_SHOWN));
    }
  }

  /** Every controller, the global one first, then the groups, then the services (config order). */
  views(filter: { level?: ControllerLevel } = {}): ControllerView[] {
    const views: ControllerView[] = [];
    for (const [name, { controller: made, level }] of this.#byName) {
      if (filter.level !== undefined && filter.level !== level) continue;
      const decisions = [...(this.#earlier.get(name) ?? []), ...made.decisions()];
      views.push({
        name,
        level,
        parent: made.parent?.name ?? null,
        children: made.children.map((child) => child.name),
        decisions: decisions.slice(-DECISIONS_SHOWN),
      });
    }
    return views;
  }

  /** Handles nothing more; settles once the decisions under way have. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
  }

  async #handle(name: string, situation: ControlSituation): Promise<ControlOutcome | undefined> {
    if (this.#closed) return undefined;
    const handled = this.#byName.get(name)!.controller.handle(situation);
    this.#pending.add(handled);
    try {
      const outcome = await handled;
      this.#options.onDecision?.(outcome, situation);
      return outcome;
    } finally {
      this.#pending.delete(handled);
    }
  }

  // -------------------------------------------------------------------------------------------
  // What each level decides. A decision is acted on inside `decide`: an action that does not run
  // (refused by `permissions` or `limits`, or failed) is no decision, so the next level decides.

  /** The policies are the service level's restarts and scales: it adds only what they did not try. */
  async #decideService(level: string, situation: ControlSituation) {
    if (situation.type !== 'healing-failed' || situation.handledBelow) return null;
    const { service, tried } = situation;
    const { actions } = this.#options;
    if (actions.isCritical(service) || !actions.permitted(service, 'restart-service')) return null;
    if (triedAny(tried, ['restart-service', 'rollback-deployment'])) return null;
    const reason = `every matching policy failed and none restarted ${service}: restarting it before paging`;
    return this.#act(level, service, { type: 'restart-service' }, reason, situation);
  }

  async #decideGroup(level: string, group: GroupConfig, situation: ControlSituation) {
    const { actions } = this.#options;
    const { service } = situation;
    const { shed } = group;
    if (situation.type === 'restore') return this.#restore(group, service, situation.cause);
    if (situation.type === 'healing-failed') {
      if (situation.handledBelow) return null;
      const target = this.#options.config.services[service]?.failover?.target;
      if (
        target !== undefined &&
        !actions.failedOver(service) &&
        !triedAny(situation.tried, ['failover']) &&
        actions.permitted(service, 'failover')
      ) {
        const reason = `every matching policy failed: failing ${service} over to ${target}`;
        return this.#act(level, service, { type: 'failover', target: undefined }, reason, situation);
      }
      if (
        shed.includes(service) &&
        !actions.fallbackMode(service) &&
        !triedAny(situation.tried, ['fallback-mode']) &&
        actions.permitted(service, 'fallback-mode')
      ) {
        const reason = `every matching policy failed: shedding ${service}'s traffic (fallback mode)`;
        return this.#act(level, service, { type: 'fallback-mode' }, reason, situation, 'shed');
      }
      return null;
    }
    const sibling = shed.find(
      (name) =>
        name !== service &&
        !this.#shed.has(name) &&
        !actions.fallbackMode(name) &&
        actions.permitted(name, 'fallback-mode'),
    );
    if (sibling === undefined) return null;
    const { ratio, desired, replicas } = situation.decision;
    const reason = `${service} is out of capacity (${formatNumber(ratio)}× its target at ${replicas} replicas, wants ${desired}): shedding ${sibling}'s traffic (fallback mode)`;
    // Taken before the action's await: a second saturated member cannot pick the same sibling.
    this.#shed.set(sibling, { group: group.name, cause: service, at: this.#options.clock.now() });
    const decision = await this.#act(level, sibling, { type: 'fallback-mode' }, reason, situation, 'shed');
    if (!decision) this.#shed.delete(sibling);
    return decision && { ...decision, details: { ...decision.details, saturated: service } };
  }

  async #decideGlobal(situation: ControlSituation) {
    const { service } = situation;
    if (situation.type === 'restore') return null;
    if (situation.type === 'healing-failed') {
      const below = situation.handledBelow;
      const reason = below
        ? `automatic healing of ${service} failed (${below.level} tried ${below.action}): paging a human`
        : `automatic healing of ${service} failed and no level below had anything left to try: paging a human`;
      await this.#options.actions.page(situation, reason);
      return { action: 'page', reason, details: { service } };
    }
    const addCapacity = this.#options.config.global.addCapacity;
    let why = 'no global.addCapacity configured';
    if (addCapacity && this.#options.actions.permitted(service, 'exec')) {
      const reason = `${service} is out of capacity and its group has nothing left to shed: adding capacity`;
      const action: ActionConfig = { type: 'exec', ...addCapacity };
      const outcome = await this.#run(GLOBAL_CONTROLLER, service, action, reason, situation);
      if (outcome.ok)
        return { action: 'add-capacity', reason, details: { service, message: outcome.message } };
      why = `add-capacity failed: ${outcome.message}`;
    } else if (addCapacity) why = `exec is not permitted on ${service}`;
    const reason = `${service} is out of capacity and nothing below could help (${why}): paging a human`;
    await this.#options.actions.page(situation, reason);
    return { action: 'page', reason, details: { service } };
  }

  #restore(group: GroupConfig, service: string, cause: string) {
    const { restoreAfterMs } = group;
    this.#shed.delete(service);
    const lifted = this.#options.actions.restore(service);
    const reason = lifted
      ? `${cause} has not been out of capacity for ${restoreAfterMs} ms: ${service} leaves fallback mode`
      : `${cause} has not been out of capacity for ${restoreAfterMs} ms; ${service} had already left fallback mode`;
    return { action: 'restore', reason, details: { service, saturated: cause } };
  }

  async #act(
    level: string,
    service: string,
    action: ActionConfig,
    reason: string,
    situation: ControlSituation,
    decided: string = action.type,
  ) {
    const outcome = await this.#run(level, service, action, reason, situation);
    return outcome.ok ? { action: decided, reason, details: { service, message: outcome.message } } : null;
  }

  async #run(
    level: string,
    service: string,
    action: ActionConfig,
    reason: string,
    situation: ControlSituation,
  ): Promise<ActionOutcome> {
    try {
      return await this.#options.actions.act({ level, service, action, reason, situation });
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }
}

/** Whether any tried attempt ran (or tried to run) one of these actions. */
function triedAny(tried: readonly AttemptView[], types: readonly string[]): boolean {
  return tried.some((attempt) => attempt.actions.some((action) => types.includes(action.type)));
}
