// The policy engine: picks the policies a signal matches, runs their actions in priority order
// within cooldowns, permissions and rate limits, verifies each attempt, and escalates when all fail.

import { randomUUID } from 'node:crypto';
import { type Clock, Emitter, type Subscribe, systemClock } from '../policies/index.ts';
import { ActionRateLimit, actionProblem, type ActionRules } from './actionLimits.ts';
import { describeCleared, describeHeld, describeStop, snapshotAttempt } from './attemptOutcome.ts';
import {
  allConditionsHold,
  describeWithForecasts,
  forecastNote,
  formatSeconds,
  type MetricForecast,
} from './conditions.ts';
import type { ActionConfig, ActionName, PolicyConfig } from './configTypes.ts';
import type { AttemptActionView, AttemptView } from './controlPlaneTypes.ts';
import { UnknownServiceError } from './errors.ts';
import {
  type ActionOutcome,
  type Actuator,
  POLICY_ENGINE_DEFAULTS,
  type PolicyEngineOptions,
  type Signal,
  validatePolicyEngineOptions,
} from './policyEngineOptions.ts';

export { conditionHolds, describeCondition } from './conditions.ts';
export {
  type ActionOutcome,
  type Actuator,
  POLICY_ENGINE_DEFAULTS,
  type PolicyEngineOptions,
  type Signal,
} from './policyEngineOptions.ts';

interface PreparedPolicy {
  readonly config: PolicyConfig;
  /** undefined: every service. */
  readonly services: ReadonlySet<string> | undefined;
}

interface Verification {
  cleared: boolean;
  metrics: Readonly<Record<string, number>> | undefined;
  /** Set when the engine was closed while waiting. */
  stopped: boolean;
}

export class PolicyEngine {
  /** Highest priority first, config order among equals. */
  private policies: readonly PreparedPolicy[];
  private rules: ActionRules;
  private readonly rateLimit: ActionRateLimit;
  private readonly actuator: Actuator;
  private readonly metricsOf: (service: string) => Readonly<Record<string, number>> | undefined;
  private readonly predict: PolicyEngineOptions['predict'];
  private readonly recordAttempt: (attempt: AttemptView) => Promise<void> | void;
  private readonly escalateTo: PolicyEngineOptions['escalate'];
  private readonly verifyWithinMs: number;
  private readonly verifyIntervalMs: number;
  private readonly clock: Clock;
  private readonly newId: () => string;

  private readonly healingServices = new Set<string>();
  /** `policy \0 service` → when its cooldown ends. */
  private readonly cooldownUntil = new Map<string, number>();
  /** Verifications waiting on a timer, so close() can end them. */
  private readonly verifying = new Set<() => void>();
  private closed = false;

  private readonly attemptEmitter = new Emitter<AttemptView>();
  /** Every recorded state of every attempt (a copy, as passed to `record`). */
  readonly onAttempt: Subscribe<AttemptView> = this.attemptEmitter.subscribe;

  constructor(options: PolicyEngineOptions) {
    validatePolicyEngineOptions(options);
    this.policies = prepare(options.policies);
    this.rules = {
      services: new Set(options.services),
      permissions: options.permissions,
      failoverTargetOf: options.failoverTargetOf,
    };
    this.clock = options.clock ?? systemClock;
    this.rateLimit = options.rateLimit ?? new ActionRateLimit(options.limits, this.clock);
    this.rateLimit.setLimits(options.limits);
    this.actuator = options.actuator;
    this.metricsOf = options.metricsOf;
    this.predict = options.predict;
    this.recordAttempt = options.record;
    this.escalateTo = options.escalate;
    this.verifyWithinMs = options.verifyWithinMs ?? POLICY_ENGINE_DEFAULTS.verifyWithinMs;
    this.verifyIntervalMs = options.verifyIntervalMs ?? POLICY_ENGINE_DEFAULTS.verifyIntervalMs;
    this.newId = options.newId ?? randomUUID;
  }

  /**
   * Evaluates a signal: runs the highest-priority matching policy not in cooldown for that service,
   * verifies it, tries the next matching one when it failed, and escalates when all failed.
   * Resolves when the healing is over with the attempts in order (empty when nothing matched or
   * every match is in cooldown). While a service is being healed, further signals for it are
   * ignored (undefined), as they are once the engine is closed. Rejects with UnknownServiceError.
   */
  async evaluate(signal: Signal): Promise<AttemptView[] | undefined> {
    const service = signal.service;
    if (!this.rules.services.has(service)) throw new UnknownServiceError(service);
    // Checked and taken before any await, so two signals arriving together cannot both heal.
    if (this.closed || this.healingServices.has(service)) return undefined;
    const candidates = this.matchingPolicies(service, signal.metrics);
    if (candidates.length === 0) return [];
    this.healingServices.add(service);
    try {
      return await this.heal(service, candidates, signal);
    } finally {
      this.healingServices.delete(service);
    }
  }

  isHealing(service: string): boolean {
    return this.healingServices.has(service);
  }

  /** Policies that match these metrics for that service, highest priority first (cooldowns aside). */
  matching(service: string, metrics: Readonly<Record<string, number>>): PolicyConfig[] {
    return this.matchingPolicies(service, metrics).map((policy) => policy.config);
  }

  cooldownRemainingMs(policy: string, service: string): number {
    const until = this.cooldownUntil.get(cooldownKey(policy, service));
    return until === undefined ? 0 : Math.max(0, until - this.clock.now());
  }

  /**
   * Replaces the policies, limits and permissions (a config reload). Cooldowns of policies that
   * keep their name carry over, and so do the actions already counted against the limits; an
   * attempt in progress finishes with the policy it started with.
   */
  updatePolicies(
    policies: readonly PolicyConfig[],
    limits: { actionsPerMinute: number; actionsPerHour: number },
    permissions: Readonly<Record<string, readonly ActionName[]>>,
  ): void {
    validatePolicyEngineOptions({
      policies,
      limits,
      permissions,
      services: [...this.rules.services],
      actuator: this.actuator,
      metricsOf: this.metricsOf,
      record: this.recordAttempt,
      escalate: this.escalateTo,
    });
    this.policies = prepare(policies);
    this.rules = { ...this.rules, permissions };
    this.rateLimit.setLimits(limits);
  }

  /**
   * Ignores further signals and ends the verifications in progress at once (their attempts fail,
   * "not verified: rebound stopped", and nothing more is tried or escalated). Actions already
   * running finish on their own.
   */
  close(): void {
    this.closed = true;
    for (const stop of [...this.verifying]) stop();
  }

  private matchingPolicies(service: string, metrics: Readonly<Record<string, number>>): PreparedPolicy[] {
    const found: PreparedPolicy[] = [];
    const forecast = this.forecastOf(service);
    for (const policy of this.policies) {
      if (!policy.config.enabled) continue;
      if (policy.services !== undefined && !policy.services.has(service)) continue;
      if (allConditionsHold(policy.config.when, metrics, forecast)) found.push(policy);
    }
    return found;
  }

  /** The service's forecasts for predictive conditions; undefined without the `predict` hook. */
  private forecastOf(service: string): MetricForecast | undefined {
    const predict = this.predict;
    return predict && ((metric, horizonMs) => predict(service, metric, horizonMs));
  }

  private async heal(
    service: string,
    candidates: readonly PreparedPolicy[],
    signal: Signal,
  ): Promise<AttemptView[]> {
    const tried: AttemptView[] = [];
    for (const policy of candidates) {
      if (this.cooldownRemainingMs(policy.config.name, service) > 0) continue;
      const { attempt, final } = await this.attempt(policy, service, signal);
      tried.push(attempt);
      if (attempt.status === 'succeeded') return tried;
      // Over the rate limit every other policy would be refused too, and a stopped engine tries nothing.
      if (final) break;
    }
    // Every match in cooldown: healing was tried recently and the cooldown is what holds it back.
    if (tried.length === 0 || this.closed) return tried;
    const last = tried[tried.length - 1]!;
    last.status = 'escalated';
    await this.publish(last);
    await this.escalateTo(service, tried.map(snapshotAttempt), signal);
    return tried;
  }

  /** One policy's attempt; `final` when no other policy should be tried after it. */
  private async attempt(
    policy: PreparedPolicy,
    service: string,
    signal: Signal,
  ): Promise<{ attempt: AttemptView; final: boolean }> {
    const name = policy.config.name;
    const startedAt = this.clock.now();
    this.cooldownUntil.set(cooldownKey(name, service), startedAt + policy.config.cooldownMs);
    const attempt: AttemptView = {
      id: this.newId(),
      source: 'policy',
      policy: name,
      service,
      trigger: {
        source: signal.source,
        metrics: { ...signal.metrics },
        conditions: describeWithForecasts(policy.config.when, signal.metrics, this.forecastOf(service)),
        ...(signal.detail === undefined ? {} : { detail: signal.detail }),
      },
      actions: [],
      status: 'running',
      outcome: `running ${policy.config.do.map((action) => action.type).join(', ')}`,
      verified: null,
      startedAt: iso(startedAt),
      endedAt: null,
    };
    await this.publish(attempt);

    const actions = policy.config.do;
    for (let index = 0; index < actions.length; index++) {
      const problem = actionProblem(actions[index]!, service, this.rules);
      if (problem === undefined) continue;
      const at = iso(this.clock.now());
      attempt.actions = actions.map((action, position) => ({
        type: action.type,
        status: 'skipped',
        message: position === index ? problem : `not run: ${actions[index]!.type} is not allowed`,
        startedAt: at,
        endedAt: at,
      }));
      await this.finish(attempt, 'failed', `not run: ${problem}`);
      return { attempt, final: false };
    }

    for (let index = 0; index < actions.length; index++) {
      const action = actions[index]!;
      const actionStartedAt = iso(this.clock.now());
      const limited = this.rateLimit.take();
      if (limited !== undefined) {
        attempt.actions.push(skipped(action.type, limited, actionStartedAt));
        this.skipRest(attempt, actions, index + 1, `not run: ${limited}`);
        await this.finish(attempt, 'failed', describeStop(attempt, limited));
        return { attempt, final: true };
      }
      const outcome = await this.run(action, service, name, attempt.id);
      attempt.actions.push({
        type: action.type,
        status: outcome.ok ? 'succeeded' : 'failed',
        message: outcome.message,
        startedAt: actionStartedAt,
        endedAt: iso(this.clock.now()),
      });
      if (!outcome.ok) {
        this.skipRest(attempt, actions, index + 1, `not run: ${action.type} failed`);
        await this.finish(
          attempt,
          'failed',
          describeStop(attempt, `${action.type} failed: ${outcome.message}`),
        );
        return { attempt, final: false };
      }
      if (index < actions.length - 1) await this.publish(attempt);
    }

    const verification = await this.verify(policy.config, service);
    const done = `${actions.map((action) => action.type).join(', ')} succeeded`;
    const elapsed = formatSeconds(this.clock.now() - startedAt);
    if (verification.stopped) {
      await this.finish(attempt, 'failed', `${done}; not verified: rebound stopped`);
      return { attempt, final: true };
    }
    attempt.verified = verification.cleared;
    if (verification.cleared) {
      const metrics = verification.metrics!;
      // The condition that cleared as verification judged it, forecast included.
      const forecast = this.forecastOf(service);
      const gone = policy.config.when.filter(
        (condition) => !allConditionsHold([condition], metrics, forecast),
      );
      const cleared = describeCleared({ ...policy.config, when: gone }, metrics);
      await this.finish(attempt, 'succeeded', `${done}; ${cleared} after ${elapsed}`);
    } else {
      const held =
        verification.metrics === undefined
          ? `no metrics of ${service} to verify against`
          : describeHeld(policy.config, verification.metrics) +
            forecastNote(policy.config.when, verification.metrics, this.forecastOf(service));
      await this.finish(attempt, 'failed', `${done} but ${held} after ${elapsed}`);
    }
    return { attempt, final: false };
  }

  private async run(action: ActionConfig, service: string, policy: string, attemptId: string) {
    try {
      const outcome: unknown = await this.actuator.run(action, { service, policy, attemptId });
      if (typeof outcome === 'object' && outcome !== null) {
        const { ok, message } = outcome as Partial<ActionOutcome>;
        return { ok: ok === true, message: typeof message === 'string' ? message : String(message) };
      }
      return { ok: false, message: `the actuator answered ${String(outcome)}` };
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Polls the metrics until the policy's conditions no longer all hold, or the time is up. */
  private verify(policy: PolicyConfig, service: string): Promise<Verification> {
    const deadline = this.clock.now() + this.verifyWithinMs;
    return new Promise((resolve) => {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const stop = () => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        this.verifying.delete(stop);
        resolve({ cleared: false, metrics: undefined, stopped: true });
      };
      const check = () => {
        timer = undefined;
        let metrics: Readonly<Record<string, number>> | undefined;
        try {
          metrics = this.metricsOf(service);
        } catch {
          // Unreadable metrics prove nothing either way: keep waiting, as for missing ones.
          metrics = undefined;
        }
        const remaining = deadline - this.clock.now();
        // A forecast counts here too: a trend that flattened clears a condition held by forecast.
        const forecast = this.forecastOf(service);
        const cleared = metrics !== undefined && !allConditionsHold(policy.when, metrics, forecast);
        if (cleared || remaining <= 0) {
          this.verifying.delete(stop);
          resolve({ cleared, metrics, stopped: false });
          return;
        }
        timer = this.clock.setTimeout(check, Math.min(this.verifyIntervalMs, remaining));
      };
      this.verifying.add(stop);
      check();
    });
  }

  private skipRest(
    attempt: AttemptView,
    actions: readonly ActionConfig[],
    from: number,
    message: string,
  ): void {
    const at = iso(this.clock.now());
    for (let index = from; index < actions.length; index++) {
      attempt.actions.push(skipped(actions[index]!.type, message, at));
    }
  }

  private async finish(attempt: AttemptView, status: 'succeeded' | 'failed', outcome: string): Promise<void> {
    attempt.status = status;
    attempt.outcome = outcome;
    attempt.endedAt = iso(this.clock.now());
    await this.publish(attempt);
  }

  private async publish(attempt: AttemptView): Promise<void> {
    // A copy each time: whoever keeps what it is given must not see it change afterwards.
    const copy = snapshotAttempt(attempt);
    if (this.attemptEmitter.active) this.attemptEmitter.emit(snapshotAttempt(attempt));
    await this.recordAttempt(copy);
  }
}

/** Highest priority first, config order among equals. */
function prepare(policies: readonly PolicyConfig[]): PreparedPolicy[] {
  return policies
    .map((config, index) => ({ config, index }))
    .sort((a, b) => b.config.priority - a.config.priority || a.index - b.index)
    .map(({ config }) => ({
      config,
      services: config.services.length === 0 ? undefined : new Set(config.services),
    }));
}

function cooldownKey(policy: string, service: string): string {
  return `${policy}\u0000${service}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function skipped(type: ActionConfig['type'], message: string, at: string): AttemptActionView {
  return { type, status: 'skipped', message, startedAt: at, endedAt: at };
}
