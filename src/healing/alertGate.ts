// Alert suppression and inhibition: which pages go out now, which wait for a recovery to end, and
// which are inhibited because a service they depend on is down (and pages on its own).

import { ReboundError, hasErrorCode } from '../policies/index.ts';
import type { Notification } from './webhookFormats.ts';

export type AlertDecision =
  { send: true } | { send: false; reason: 'recovering' | 'dependency-down'; dependency?: string };

export interface AlertGateOptions {
  /** Service → the services it depends on (directly). */
  dependsOn: Readonly<Record<string, readonly string[]>>;
  isDown(service: string): boolean;
  isRecovering(service: string): boolean;
}

/** `dependsOn` has a cycle, so no service can come up first. */
export class DependencyCycleError extends ReboundError {
  /** The services around the cycle, the first repeated at the end: `['a', 'b', 'a']`. */
  readonly cycle: readonly string[];

  constructor(cycle: readonly string[]) {
    super('DEPENDENCY_CYCLE', `dependency cycle: ${cycle.join(' -> ')}`);
    this.cycle = cycle;
  }
}

export const isDependencyCycleError = (error: unknown): error is DependencyCycleError =>
  hasErrorCode(error, 'DEPENDENCY_CYCLE');

const SEND: AlertDecision = Object.freeze({ send: true });
const RECOVERING: AlertDecision = Object.freeze({ send: false, reason: 'recovering' });

export class AlertGate {
  private readonly isDown: (service: string) => boolean;
  private readonly isRecovering: (service: string) => boolean;
  /** Service → every service it depends on, transitively, in dependency order (deepest first). */
  private readonly dependencies: ReadonlyMap<string, readonly string[]>;
  private readonly held = new Map<string, Notification[]>();

  constructor(options: AlertGateOptions) {
    this.isDown = options.isDown;
    this.isRecovering = options.isRecovering;
    const order = AlertGate.order(options.dependsOn);
    const position = new Map(order.map((service, index) => [service, index]));
    const dependencies = new Map<string, string[]>();
    for (const service of order) {
      const all = new Set<string>();
      for (const direct of directDependencies(options.dependsOn, service)) {
        all.add(direct);
        for (const deeper of dependencies.get(direct) ?? []) all.add(deeper);
      }
      dependencies.set(
        service,
        [...all].sort((a, b) => position.get(a)! - position.get(b)!),
      );
    }
    this.dependencies = dependencies;
  }

  /**
   * Whether an alert of `service` goes out now. A (transitive) dependency that is down inhibits
   * it first: the outage is the dependency's, which pages for itself, and the dependent cannot
   * recover before it does. Otherwise a service that is recovering holds its alerts (see hold()).
   */
  decide(service: string): AlertDecision {
    const dependencies = this.dependencies.get(service);
    if (dependencies !== undefined) {
      for (const dependency of dependencies) {
        if (this.isDown(dependency)) return { send: false, reason: 'dependency-down', dependency };
      }
    }
    return this.isRecovering(service) ? RECOVERING : SEND;
  }

  /** The dependencies of `service` (transitively) that are down now, deepest first (root causes first). */
  downDependencies(service: string): string[] {
    return (this.dependencies.get(service) ?? []).filter((dependency) => this.isDown(dependency));
  }

  /**
   * Keeps an alert of a recovering service until release(service) (recovery failed: they go out)
   * or drop(service) (recovered: recorded as suppressed, not sent).
   */
  hold(service: string, alert: Notification): void {
    const alerts = this.held.get(service);
    if (alerts === undefined) this.held.set(service, [alert]);
    else alerts.push(alert);
  }

  /** The alerts held for `service`, in the order they came, to be sent; none are kept. */
  release(service: string): Notification[] {
    return this.take(service);
  }

  /** The alerts held for `service`, in the order they came, not to be sent; none are kept. */
  drop(service: string): Notification[] {
    return this.take(service);
  }

  /** How many alerts are held for `service`. */
  heldCount(service: string): number {
    return this.held.get(service)?.length ?? 0;
  }

  private take(service: string): Notification[] {
    const alerts = this.held.get(service);
    if (alerts === undefined) return [];
    this.held.delete(service);
    return alerts;
  }

  /**
   * Services in dependency order, dependencies first; otherwise in the order they are named
   * (keys first, then services only named as dependencies). Throws DependencyCycleError on a
   * cycle (config validation already refuses them).
   */
  static order(dependsOn: Readonly<Record<string, readonly string[]>>): string[] {
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const path: string[] = [];
    const visit = (service: string): void => {
      const seen = state.get(service);
      if (seen === 'done') return;
      if (seen === 'visiting') {
        throw new DependencyCycleError([...path.slice(path.indexOf(service)), service]);
      }
      state.set(service, 'visiting');
      path.push(service);
      for (const dependency of directDependencies(dependsOn, service)) visit(dependency);
      path.pop();
      state.set(service, 'done');
      order.push(service);
    };
    for (const service of Object.keys(dependsOn)) visit(service);
    return order;
  }
}

/** Own properties only: a service may well be called `constructor`. */
function directDependencies(
  dependsOn: Readonly<Record<string, readonly string[]>>,
  service: string,
): readonly string[] {
  return Object.hasOwn(dependsOn, service) ? (dependsOn[service] ?? []) : [];
}
