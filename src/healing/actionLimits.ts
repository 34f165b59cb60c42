// What may stop a policy action before it runs: validation (known action and service, permission,
// failover target) and the `limits` on how many actions automation may take per minute and hour.

import type { Clock } from '../policies/index.ts';
import { type ActionConfig, type ActionName, ACTIONS } from './configTypes.ts';

export interface ActionRules {
  /** Every service of the config. */
  readonly services: ReadonlySet<string>;
  /** Service → the actions policies may run on it; a service not listed permits every action. */
  readonly permissions: Readonly<Record<string, readonly ActionName[]>>;
  /** The service's own `failover.target`, used when a failover action names none. */
  readonly failoverTargetOf?: ((service: string) => string | undefined) | undefined;
}

/** Why `action` may not run on `service`, or undefined when it may. */
export function actionProblem(action: ActionConfig, service: string, rules: ActionRules): string | undefined {
  if (!(ACTIONS as readonly string[]).includes(action.type)) {
    return `unknown action ${JSON.stringify(action.type)}`;
  }
  if (!rules.services.has(service)) return `unknown service ${JSON.stringify(service)}`;
  if (!isPermitted(rules.permissions, service, action.type)) {
    const listed = rules.permissions[service]!;
    return `${action.type} is not permitted on ${service} (permissions.${service}: ${
      listed.length === 0 ? 'none' : listed.join(', ')
    })`;
  }
  if (action.type === 'failover') {
    const target = failoverTarget(action, service, rules);
    if (target === undefined) {
      return `failover has no target: name one in the policy or set failover.target on ${service}`;
    }
    if (target === service) return `failover target ${JSON.stringify(target)} is the service itself`;
    if (!rules.services.has(target))
      return `failover target ${JSON.stringify(target)} is not a known service`;
  }
  return undefined;
}

/** Whether `permissions` let automation run `action` on `service`; a service not listed permits all. */
export function isPermitted(
  permissions: ActionRules['permissions'],
  service: string,
  action: ActionName,
): boolean {
  const listed = Object.hasOwn(permissions, service) ? permissions[service] : undefined;
  return listed === undefined || listed.includes(action);
}

/** The service a failover action moves traffic to: its own target, else the service's configured one. */
export function failoverTarget(
  action: Extract<ActionConfig, { type: 'failover' }>,
  service: string,
  rules: ActionRules,
): string | undefined {
  return action.target ?? rules.failoverTargetOf?.(service);
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * Counts policy actions across every policy and service in sliding windows of a minute and an
 * hour, with the core rateLimit's exact rule: an action is admitted only while fewer than the
 * limit were admitted in the last `perMs` (an admission exactly `perMs` old has left the window),
 * so no minute or hour ever holds more than its limit. Kept here rather than the core's RateLimiter
 * because a reload may change the limits and the history must carry over: it is the last hour's
 * admission times, at most `actionsPerHour` numbers.
 */
export class ActionRateLimit {
  private perMinute: number;
  private perHour: number;
  private readonly clock: Clock;
  /** Admission times within the last hour, oldest first. */
  private times: number[] = [];

  constructor(limits: { actionsPerMinute: number; actionsPerHour: number }, clock: Clock) {
    this.perMinute = limits.actionsPerMinute;
    this.perHour = limits.actionsPerHour;
    this.clock = clock;
  }

  /** New limits from now on; the actions already taken keep counting. */
  setLimits(limits: { actionsPerMinute: number; actionsPerHour: number }): void {
    this.perMinute = limits.actionsPerMinute;
    this.perHour = limits.actionsPerHour;
  }

  /** Counts one action; returns undefined, or (counting nothing) why it may not run now. */
  take(): string | undefined {
    const now = this.clock.now();
    this.forgetBefore(now);
    if (this.countSince(now, MINUTE_MS) >= this.perMinute) {
      return `rate limit: ${this.perMinute} actions per minute reached`;
    }
    if (this.times.length >= this.perHour) return `rate limit: ${this.perHour} actions per hour reached`;
    this.times.push(now);
    return undefined;
  }

  /** Actions that may still run now before a limit is reached. */
  available(): number {
    const now = this.clock.now();
    this.forgetBefore(now);
    return Math.max(
      0,
      Math.min(this.perMinute - this.countSince(now, MINUTE_MS), this.perHour - this.times.length),
    );
  }

  /** Admissions less than `windowMs` old (compared as elapsed times, as the core does). */
  private countSince(now: number, windowMs: number): number {
    const times = this.times;
    let low = 0;
    let high = times.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (now - times[middle]! >= windowMs) low = middle + 1;
      else high = middle;
    }
    return times.length - low;
  }

  private forgetBefore(now: number): void {
    const keep = this.times.length - this.countSince(now, HOUR_MS);
    if (keep > 0) this.times = this.times.slice(keep);
  }
}
