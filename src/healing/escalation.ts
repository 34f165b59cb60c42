// Escalation: pages a person through the configured webhooks, persisted before sending and retried
// through rebound's own retry and circuit breaker until delivered, so a page is never lost.

import { createHash, randomUUID } from 'node:crypto';
import {
  BreakerRegistry,
  type CircuitBreaker,
  type Clock,
  Emitter,
  isPermanent,
  OptionProblems,
  ReboundError,
  type RetryPolicy,
  retry,
  type Subscribe,
  systemClock,
  hasErrorCode,
} from '../policies/index.ts';
import type { Store } from '../store/index.ts';
import type { EscalationConfig, Severity } from './configTypes.ts';
import { redactUrl } from './configRedact.ts';
import {
  type Delivery,
  DELIVERY_RECORD_KIND,
  type DeliveryView,
  deliveryView,
  parseDelivery,
} from './escalationRecords.ts';
import { describeError, postWebhook, secretsOf } from './webhookDelivery.ts';
import type { Notification } from './webhookFormats.ts';

export type { DeliveryStatus, DeliveryView } from './escalationRecords.ts';
export { isWebhookDeliveryError, WebhookDeliveryError } from './webhookDelivery.ts';
export { formatWebhook, type FormattedWebhook, type Notification } from './webhookFormats.ts';

export interface EscalatorOptions {
  targets: readonly EscalationConfig[];
  /** Deliveries are records of kind 'escalation'. */
  store: Pick<Store, 'records'>;
  clock?: Clock;
  /** Waits between attempts: exponential from `initialMs` (default 1 000) to `maxMs` (default 60 000), with jitter. */
  retry?: { initialMs?: number; maxMs?: number };
  /** Per target URL: `failures` in a row open it (default 5) for `openMs` (default 30 000). */
  breaker?: { failures?: number; openMs?: number };
  /** Where the per-target breakers live, as kind 'webhook' (for the API's breaker report); default a private registry. */
  breakers?: BreakerRegistry;
  /** Delivery ids; default crypto.randomUUID. */
  newId?: () => string;
  /** Jitter; default Math.random. */
  random?: () => number;
}

export const ESCALATION_DEFAULTS = Object.freeze({
  retry: Object.freeze({ initialMs: 1_000, maxMs: 60_000 }),
  breaker: Object.freeze({ failures: 5, openMs: 30_000 }),
});

/** The breaker kind under which the per-target breakers are registered. */
export const WEBHOOK_BREAKER_KIND = 'webhook';

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

/** send() or resume() after close(). */
export class EscalatorClosedError extends ReboundError {
  constructor() {
    super('ESCALATOR_CLOSED', 'the escalator is closed');
  }
}

export const isEscalatorClosedError = (error: unknown): error is EscalatorClosedError =>
  hasErrorCode(error, 'ESCALATOR_CLOSED');

interface Target {
  readonly config: EscalationConfig;
  /** Shown in views and breaker reports: the configured name or the URL with its secrets hidden. */
  readonly name: string;
  /** Matches a stored delivery to its target after a restart (hashes: the store holds no secret). */
  readonly key: string;
  /** The same without the routing key, so a rotated key still finds its pending deliveries. */
  readonly urlKey: string;
  readonly breaker: CircuitBreaker;
}

export class Escalator {
  private readonly targets: readonly Target[];
  /** Texts that must never appear in a view (see secretsOf). */
  private readonly secrets: readonly string[];
  private readonly records: Store['records'];
  private readonly clock: Clock;
  private readonly retryPolicy: RetryPolicy;
  private readonly newId: () => string;
  /** Aborted by close(): ends every wait and request of the retry loops. */
  private readonly stopping = new AbortController();
  /** Deliveries being sent, by id. */
  private readonly inflight = new Map<string, Promise<void>>();
  /** The last delivery started per target and notification id, which the next one waits for. */
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  private readonly deliveryEmitter = new Emitter<DeliveryView>();
  /** Every change of a delivery: created, a failed attempt, delivered or rejected. */
  readonly onDelivery: Subscribe<DeliveryView> = this.deliveryEmitter.subscribe;

  constructor(options: EscalatorOptions) {
    validate(options);
    this.records = options.store.records;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? randomUUID;
    const initialMs = options.retry?.initialMs ?? ESCALATION_DEFAULTS.retry.initialMs;
    const maxMs = Math.max(initialMs, options.retry?.maxMs ?? ESCALATION_DEFAULTS.retry.maxMs);
    this.retryPolicy = retry({
      // A page is retried until it is delivered, refused for good, or rebound stops (it then
      // stays pending in the store and resume() picks it up).
      maxRetries: Number.POSITIVE_INFINITY,
      // Equal jitter: spread out, yet never an immediate re-send to a target that just failed.
      backoff: { kind: 'exponential', baseMs: initialMs, maxMs, factor: 2, jitter: 'equal' },
      clock: this.clock,
      ...(options.random === undefined ? {} : { random: options.random }),
    });

    const breakers = options.breakers ?? new BreakerRegistry({ clock: this.clock });
    breakers.configure(WEBHOOK_BREAKER_KIND, {
      trip: {
        kind: 'consecutive',
        failures: options.breaker?.failures ?? ESCALATION_DEFAULTS.breaker.failures,
      },
      openMs: options.breaker?.openMs ?? ESCALATION_DEFAULTS.breaker.openMs,
      // A 4xx is an answer: the target is up, it is the request that is wrong.
      isFailure: (error) => !isPermanent(error),
      clock: this.clock,
    });
    this.targets = prepareTargets(options.targets, breakers);
    this.secrets = secretsOf(options.targets);
  }

  /**
   * Persists one delivery per target whose `minSeverity` the notification reaches (status
   * 'pending') before sending anything, then delivers in the background. Resolves once persisted.
   */
  async send(notification: Notification): Promise<void> {
    if (this.closed) throw new EscalatorClosedError();
    const now = this.clock.now();
    const rank = SEVERITY_RANK[notification.severity];
    const deliveries = this.targets
      .filter((target) => rank >= SEVERITY_RANK[target.config.minSeverity])
      .map((target): [Delivery, Target] => [
        {
          version: 1,
          id: this.newId(),
          notification: structuredClone(notification),
          target: {
            name: target.name,
            format: target.config.webhook.format,
            key: target.key,
            urlKey: target.urlKey,
          },
          status: 'pending',
          attempts: 0,
          lastError: null,
          createdAt: now,
          updatedAt: now,
          deliveredAt: null,
        },
        target,
      ]);
    await Promise.all(deliveries.map(([delivery]) => this.save(delivery)));
    for (const [delivery, target] of deliveries) this.start(delivery, target);
  }

  /** Re-sends every 'pending' delivery found in the store (after a restart of rebound nothing is lost). */
  async resume(): Promise<void> {
    if (this.closed) throw new EscalatorClosedError();
    const records = await this.records.list(DELIVERY_RECORD_KIND);
    // Oldest first, as they were sent.
    for (const record of records.reverse()) {
      const delivery = parseDelivery(record);
      if (delivery === undefined || delivery.status !== 'pending' || this.inflight.has(delivery.id)) continue;
      const target =
        this.targets.find((candidate) => candidate.key === delivery.target.key) ??
        this.targets.find((candidate) => candidate.urlKey === delivery.target.urlKey);
      if (target === undefined) {
        // Kept pending: it goes out if its target comes back in the config.
        const lastError = 'its target is no longer in the config';
        if (delivery.lastError !== lastError) {
          delivery.lastError = lastError;
          delivery.updatedAt = this.clock.now();
          await this.save(delivery);
        }
        continue;
      }
      this.start(delivery, target);
    }
  }

  /** Newest first. */
  async deliveries(filter: { status?: string } = {}): Promise<DeliveryView[]> {
    const records = await this.records.list(DELIVERY_RECORD_KIND);
    const views: DeliveryView[] = [];
    for (const record of records) {
      const delivery = parseDelivery(record);
      if (delivery === undefined) continue;
      if (filter.status !== undefined && delivery.status !== filter.status) continue;
      views.push(deliveryView(delivery));
    }
    return views;
  }

  /** Stops the retry loops and waits for them; deliveries not yet made stay pending in the store. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort(new EscalatorClosedError());
    await Promise.allSettled([...this.inflight.values()]);
  }

  /**
   * Delivers in the background, after any earlier delivery of the same notification id to the
   * same target: a resolve must not overtake the trigger it resolves while that is being retried.
   */
  private start(delivery: Delivery, target: Target): void {
    if (this.closed) return;
    const chain = `${target.key}\u0000${delivery.notification.id}`;
    const previous = this.chains.get(chain);
    const running = (
      previous === undefined
        ? this.deliver(delivery, target)
        : previous.then(() => this.deliver(delivery, target))
    ).finally(() => {
      this.inflight.delete(delivery.id);
      if (this.chains.get(chain) === running) this.chains.delete(chain);
    });
    this.chains.set(chain, running);
    this.inflight.set(delivery.id, running);
  }

  /** Never rejects: the outcome is written to the delivery's record. */
  private async deliver(delivery: Delivery, target: Target): Promise<void> {
    const signal = this.stopping.signal;
    try {
      await this.retryPolicy.execute(async () => {
        try {
          await target.breaker.execute(({ signal: callSignal }) => {
            delivery.attempts++;
            return postWebhook(target.config.webhook, delivery.notification, callSignal);
          }, signal);
        } catch (error) {
          if (signal.aborted) throw error;
          delivery.lastError = describeError(error, this.secrets);
          delivery.updatedAt = this.clock.now();
          if (!isPermanent(error)) await this.save(delivery).catch(ignore);
          throw error;
        }
      }, signal);
      delivery.status = 'delivered';
      delivery.deliveredAt = delivery.updatedAt = this.clock.now();
    } catch (error) {
      // When closing, the record stays pending (with the attempts made) and resume() sends it.
      if (!signal.aborted && isPermanent(error)) delivery.status = 'rejected';
      delivery.updatedAt = this.clock.now();
    }
    // A failed write leaves the record pending: resume() sends it again, which the dedup key makes
    // harmless at the receiving end.
    await this.save(delivery).catch(ignore);
  }

  private async save(delivery: Delivery): Promise<void> {
    await this.records.put({
      kind: DELIVERY_RECORD_KIND,
      id: delivery.id,
      service: delivery.notification.service,
      at: delivery.createdAt,
      data: JSON.stringify(delivery),
    });
    if (this.deliveryEmitter.active) this.deliveryEmitter.emit(deliveryView(delivery));
  }
}

function validate(options: EscalatorOptions): void {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`escalator options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  if (!Array.isArray(options.targets)) problems.add('escalator.targets must be an array');
  else {
    options.targets.forEach((target, index) => {
      if (!URL.canParse(target?.webhook?.url))
        problems.add(`escalator.targets[${index}].webhook.url must be a URL`);
    });
  }
  if (typeof options.store?.records?.put !== 'function') {
    problems.add('escalator.store must be a Store (with records)');
  }
  problems.clock('escalator.clock', options.clock);
  problems.number('escalator.retry.initialMs', options.retry?.initialMs, {
    above: 0,
    finite: true,
    optional: true,
  });
  problems.number('escalator.retry.maxMs', options.retry?.maxMs, { above: 0, finite: true, optional: true });
  problems.number('escalator.breaker.failures', options.breaker?.failures, {
    integer: true,
    min: 1,
    optional: true,
  });
  problems.number('escalator.breaker.openMs', options.breaker?.openMs, {
    min: 0,
    finite: true,
    optional: true,
  });
  problems.func('escalator.newId', options.newId);
  problems.func('escalator.random', options.random);
  problems.throwIfAny();
}

/** Names for views and breakers (unique, secret-free) and the keys that survive a restart. */
function prepareTargets(configs: readonly EscalationConfig[], breakers: BreakerRegistry): Target[] {
  const breakerNameByUrl = new Map<string, string>();
  const used = new Set<string>();
  const unique = (base: string, index: number) => (used.has(base) ? `${base}#${index + 1}` : base);
  return configs.map((config, index) => {
    const webhook = config.webhook;
    const name = unique(config.name ?? redactUrl(webhook.url, webhook.format === 'slack'), index);
    used.add(name);
    // One breaker per target URL: two targets on one endpoint share its health.
    let breakerName = breakerNameByUrl.get(webhook.url);
    if (breakerName === undefined) {
      breakerName = name;
      breakerNameByUrl.set(webhook.url, breakerName);
    }
    return {
      config,
      name,
      key: hash(webhook.format, webhook.url, webhook.routingKey ?? ''),
      urlKey: hash(webhook.format, webhook.url),
      breaker: breakers.get(WEBHOOK_BREAKER_KIND, breakerName),
    };
  });
}

function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

function ignore(): void {}
