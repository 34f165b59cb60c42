// controller(): hierarchical controllers that decide at the lowest level able to, delegate to the
// children that accept a situation, and escalate what they cannot handle to their parent.

import { type Clock, systemClock } from '../policies/clock.ts';
import { OptionProblems } from '../policies/options.ts';

/** What a controller's `decide` returns when it has something to do. */
export interface Decision {
  /** What to do, e.g. 'restart_service', 'rebalance_shards', 'add_capacity'. */
  readonly action: string;
  /** Why, in words a person reads on the healing log. */
  readonly reason: string;
  /** Whatever the action needs (a service name, a replica count); passed through untouched. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A decision as `handle` answers it and `decisions()` keeps it. */
export interface ControlOutcome extends Decision {
  /** Name of the controller that decided (the level of the hierarchy). */
  readonly level: string;
  /** When it decided: ISO 8601 text from the deciding controller's clock, as rebound's other views. */
  readonly at: string;
}

export type ControlContext = Readonly<Record<string, unknown>>;

export interface ControllerOptions<Context = ControlContext> {
  /** The level's name, shown as `level` on every decision it makes. */
  name: string;
  /** The controller above; the new controller registers itself as one of its children. */
  parent?: Controller<Context>;
  /** This level's policy: a decision, or null when it has nothing to do about `context`. */
  decide: (context: Context) => Decision | null | undefined | Promise<Decision | null | undefined>;
  /** Whether this controller takes a situation its parent delegates; without it, it takes all. */
  accepts?: (context: Context) => boolean;
  /** Where a `decide` or `accepts` that throws is reported. Default: the parent's, else console.warn. */
  onError?: (error: unknown, controller: string) => void;
  /** Decisions kept by `decisions()`, oldest dropped first. Default 1000. */
  maxDecisions?: number;
  /** Stamps `at`. Default: the parent's clock, else the system clock. */
  clock?: Clock;
}

export const CONTROLLER_DEFAULTS = { maxDecisions: 1000 } as const;

/** The answer at the top of the hierarchy when no level has a decision. */
export const NO_ACTION: Decision = { action: 'no_action', reason: 'No applicable control policy' };

function warnOnConsole(error: unknown, controller: string): void {
  console.warn(`rebound: controller '${controller}' failed to decide:`, error);
}

/**
 * One level of a control hierarchy. `handle(context)` asks this level's `decide`, then the
 * children that accept the context (each trying itself, then its own children), then escalates
 * to the parent, which never hands the context back down the branch it came from. Each level
 * visits at most once per `handle`, so every `decide` runs at most once.
 */
export class Controller<Context = ControlContext> {
  readonly name: string;
  readonly parent: Controller<Context> | undefined;
  readonly #decide: ControllerOptions<Context>['decide'];
  readonly #accepts: ControllerOptions<Context>['accepts'];
  readonly #onError: (error: unknown, controller: string) => void;
  readonly #maxDecisions: number;
  readonly #clock: Clock;
  readonly #children: Controller<Context>[] = [];
  readonly #decisions: ControlOutcome[] = [];

  constructor(options: ControllerOptions<Context>) {
    const problems = new OptionProblems();
    if (typeof options !== 'object' || options === null) {
      problems.add(`controller options must be an object, got ${String(options)}`);
      problems.throwIfAny();
    }
    problems.nonEmptyString('controller.name', options.name, false);
    problems.func('controller.decide', options.decide, false);
    problems.func('controller.accepts', options.accepts);
    problems.func('controller.onError', options.onError);
    problems.number('controller.maxDecisions', options.maxDecisions, {
      min: 1,
      integer: true,
      finite: true,
      optional: true,
    });
    problems.clock('controller.clock', options.clock);
    if (options.parent !== undefined && !Controller.#isController(options.parent)) {
      problems.add('controller.parent must be a controller made by controller()');
    }
    problems.throwIfAny();

    this.name = options.name;
    this.parent = options.parent;
    this.#decide = options.decide;
    this.#accepts = options.accepts;
    const parent = this.parent;
    this.#onError = options.onError ?? (parent ? parent.#onError : warnOnConsole);
    this.#maxDecisions = options.maxDecisions ?? CONTROLLER_DEFAULTS.maxDecisions;
    this.#clock = options.clock ?? (parent ? parent.#clock : systemClock);
    if (parent) parent.#children.push(this);
  }

  static #isController(value: unknown): value is Controller<never> {
    return typeof value === 'object' && value !== null && #children in value;
  }

  /** The controllers registered below this one, in the order they were created. */
  get children(): readonly Controller<Context>[] {
    return this.#children;
  }

  /** Finds the level that decides about `context`; see the class comment for the order. */
  handle(context: Context): Promise<ControlOutcome> {
    return this.#escalate(context, undefined);
  }

  /** Decisions this level made (including `no_action` answers at the top), newest last. */
  decisions(): readonly ControlOutcome[] {
    return [...this.#decisions];
  }

  /** Here and below (but not back into `cameFrom`), else up to the parent; no_action at the top. */
  async #escalate(context: Context, cameFrom: Controller<Context> | undefined): Promise<ControlOutcome> {
    const outcome = await this.#handleHere(context, cameFrom);
    if (outcome) return outcome;
    return this.parent ? this.parent.#escalate(context, this) : this.#record(NO_ACTION);
  }

  /** This level's own decision, else the first from the accepting children other than `skip`. */
  async #handleHere(context: Context, skip?: Controller<Context>): Promise<ControlOutcome | undefined> {
    const decision = await this.#tryDecide(context);
    if (decision) return this.#record(decision);
    for (const child of this.#children) {
      if (child === skip || !child.#takes(context)) continue;
      const outcome = await child.#handleHere(context);
      if (outcome) return outcome;
    }
    return undefined;
  }

  async #tryDecide(context: Context): Promise<Decision | undefined> {
    try {
      const decision = await this.#decide(context);
      if (decision === null || decision === undefined) return undefined;
      if (typeof decision.action !== 'string' || typeof decision.reason !== 'string') {
        throw new TypeError(`decide must return { action, reason } strings or null, got ${String(decision)}`);
      }
      return decision;
    } catch (error) {
      this.#onError(error, this.name);
      return undefined;
    }
  }

  #takes(context: Context): boolean {
    if (!this.#accepts) return true;
    try {
      return this.#accepts(context) === true;
    } catch (error) {
      this.#onError(error, this.name);
      return false;
    }
  }

  #record(decision: Decision): ControlOutcome {
    const outcome: ControlOutcome = {
      level: this.name,
      action: decision.action,
      reason: decision.reason,
      ...(decision.details ? { details: decision.details } : {}),
      at: new Date(this.#clock.now()).toISOString(),
    };
    this.#decisions.push(outcome);
    if (this.#decisions.length > this.#maxDecisions) this.#decisions.shift();
    return outcome;
  }
}

/** Creates one level of a control hierarchy (SPEC 7); see `Controller`. */
export function controller<Context = ControlContext>(
  options: ControllerOptions<Context>,
): Controller<Context> {
  return new Controller(options);
}
