// idempotency(): runs an action at most once per key and answers later callers with its stored result (SPEC 3.1).

import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  abortableDelay,
  abortReason,
  type Clock,
  InvalidOptionsError,
  neverAbortedSignal,
  systemClock,
} from '../policies/index.ts';
import type { IdempotencyRecord, Store } from '../store/index.ts';
import { canonicalJson, fromJsonText, toJsonText } from './canonicalJson.ts';
import { IdempotencyConflictError, IdempotencyInProgressError, IdempotencyLeaseLostError } from './errors.ts';

/** What a call does when another caller is running the action under its key. */
export type InProgressMode = 'wait' | 'reject';

export interface IdempotencyOptions {
  /** How long a completed result is kept (from completion; an in-progress claim, from the claim). Default 24 h. */
  ttlMs?: number;
  /** How long a claim holds without renewal before another caller may take it over. Default 60 s. */
  leaseMs?: number;
  /** 'wait' (default) for the running caller's result, or 'reject' with IdempotencyInProgressError. */
  onInProgress?: InProgressMode;
  /** Who claims keys; must be unique among live instances. Default: host, pid and a random id. */
  owner?: string;
  /** How often a waiting caller reads the store for another owner's outcome. Default 100 ms. */
  pollMs?: number;
  clock?: Clock;
}

export const IDEMPOTENCY_DEFAULTS = Object.freeze({
  ttlMs: 24 * 60 * 60 * 1000,
  leaseMs: 60_000,
  onInProgress: 'wait' as InProgressMode,
  pollMs: 100,
  /** A running action renews its lease every leaseMs * renewFraction, so two renewals may fail before it lapses. */
  renewFraction: 1 / 3,
});

export interface IdempotentRequest {
  /** The action's name: part of the derived key, and recorded with the claim. */
  name: string;
  /** The action's parameters, hashed in canonical form (key order does not matter). */
  params?: unknown;
  /** An explicit key (for example a client's Idempotency-Key header) instead of the derived one. */
  key?: string;
}

export interface IdempotencyRunOptions {
  /** Overrides the instance's `onInProgress` for this call. */
  onInProgress?: InProgressMode;
  /** Aborting rejects this call at once; the action's own signal aborts once every waiting caller has. */
  signal?: AbortSignal;
}

export interface IdempotencyContext {
  key: string;
  /** Aborts when every caller waiting for this run has aborted, or when the claim was lost to another owner. */
  signal: AbortSignal;
  /** True when the claim was taken over from a crashed owner (the action may have partly run before). */
  takenOver: boolean;
}

export type IdempotentAction<T> = (context: IdempotencyContext) => T | PromiseLike<T>;

/** One run of an action in this instance, which every concurrent caller with its key shares. */
interface Flight {
  readonly name: string;
  readonly paramsHash: string;
  readonly mode: InProgressMode;
  readonly controller: AbortController;
  promise: Promise<unknown>;
  /** A caller without a signal joined: the run is never abandoned for lack of interest. */
  pinned: boolean;
  /** Callers with a signal still waiting. */
  waiting: number;
}

export class Idempotency {
  readonly owner: string;
  readonly ttlMs: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly onInProgress: InProgressMode;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly flights = new Map<string, Flight>();

  constructor(store: Store, options: IdempotencyOptions = {}) {
    const problems: string[] = [];
    if (store === null || typeof store !== 'object' || typeof store.idempotency?.claim !== 'function') {
      problems.push(`idempotency store must be a Store (from openStore), got ${describe(store)}`);
    }
    checkDuration(problems, 'idempotency.ttlMs', options.ttlMs);
    checkDuration(problems, 'idempotency.leaseMs', options.leaseMs);
    checkDuration(problems, 'idempotency.pollMs', options.pollMs);
    if (
      options.onInProgress !== undefined &&
      options.onInProgress !== 'wait' &&
      options.onInProgress !== 'reject'
    ) {
      problems.push(
        `idempotency.onInProgress must be one of "wait", "reject", got ${describe(options.onInProgress)}`,
      );
    }
    if (options.owner !== undefined && (typeof options.owner !== 'string' || options.owner.length === 0)) {
      problems.push(`idempotency.owner must be a non-empty string, got ${describe(options.owner)}`);
    }
    checkClock(problems, 'idempotency.clock', options.clock);
    if (problems.length > 0) throw new InvalidOptionsError(problems);

    this.store = store;
    this.ttlMs = options.ttlMs ?? IDEMPOTENCY_DEFAULTS.ttlMs;
    this.leaseMs = options.leaseMs ?? IDEMPOTENCY_DEFAULTS.leaseMs;
    this.pollMs = options.pollMs ?? IDEMPOTENCY_DEFAULTS.pollMs;
    this.onInProgress = options.onInProgress ?? IDEMPOTENCY_DEFAULTS.onInProgress;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID()}`;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The key derived from an action: the lowercase hex SHA-256 of the UTF-8 text
   * `${name}\n${canonicalJson(params)}` (canonical JSON never contains a raw newline, so the
   * boundary is unambiguous). Also what a record's `paramsHash` holds, explicit key or not.
   */
  keyOf(name: string, params?: unknown): string {
    return createHash('sha256')
      .update(`${name}\n${canonicalJson(params)}`)
      .digest('hex');
  }

  /**
   * Runs `action` once for the request's key and stores its result (as JSON); every later call with
   * the key, from any process on the store, returns that result without running it until it expires.
   * The caller that ran the action (and in-process callers that shared its run) get the value it
   * returned; others get it as read back from JSON.
   */
  async run<T>(
    request: IdempotentRequest,
    action: IdempotentAction<T>,
    options: IdempotencyRunOptions = {},
  ): Promise<T> {
    checkRequest(request, action);
    const signal = options.signal;
    if (signal?.aborted) throw abortReason(signal);
    const paramsHash = this.keyOf(request.name, request.params);
    const key = request.key ?? paramsHash;
    const mode = options.onInProgress ?? this.onInProgress;
    // A run of this key already going on here answers without asking the store.
    let flight = this.flights.size > 0 ? this.flights.get(key) : undefined;
    if (flight) return this.join(flight, key, paramsHash, mode, request, action, options);
    // The hot path, a completed key: one read, no write, no transaction.
    const record = await this.store.idempotency.get(key);
    if (record && record.expiresAt > this.clock.now()) {
      if (record.paramsHash !== paramsHash) throw new IdempotencyConflictError(key, record.name);
      if (record.status === 'completed') return fromJsonText(record.result) as T;
    }
    flight = this.flights.get(key);
    if (flight) return this.join(flight, key, paramsHash, mode, request, action, options);
    const started: Flight = {
      name: request.name,
      paramsHash,
      mode,
      controller: new AbortController(),
      promise: undefined as unknown as Promise<unknown>,
      pinned: false,
      waiting: 0,
    };
    this.flights.set(key, started);
    started.promise = this.settle(started, key, action as IdempotentAction<unknown>, record);
    const forget = () => {
      if (this.flights.get(key) === started) this.flights.delete(key);
    };
    started.promise.then(forget, forget);
    return (await share(started, signal)) as T;
  }

  /** A caller with the key of a run going on here: shares its outcome, unless it conflicts or will not wait. */
  private async join<T>(
    flight: Flight,
    key: string,
    paramsHash: string,
    mode: InProgressMode,
    request: IdempotentRequest,
    action: IdempotentAction<T>,
    options: IdempotencyRunOptions,
  ): Promise<T> {
    if (flight.paramsHash !== paramsHash) throw new IdempotencyConflictError(key, flight.name);
    if (mode === 'reject') throw new IdempotencyInProgressError(key, this.owner);
    try {
      return (await share(flight, options.signal)) as T;
    } catch (error) {
      // The run joined was started by a caller that asked not to wait; this one waits.
      if (flight.mode === 'reject' && error instanceof IdempotencyInProgressError) {
        return this.run(request, action, options);
      }
      throw error;
    }
  }

  /** Deletes records whose time is up (they already count as absent; this frees their space). */
  purgeExpired(): Promise<number> {
    return this.store.idempotency.purgeExpired(this.clock.now());
  }

  /** Until the key is completed here: claim it, or wait for (or refuse) its current owner. */
  private async settle(
    flight: Flight,
    key: string,
    action: IdempotentAction<unknown>,
    first: IdempotencyRecord | undefined,
  ): Promise<unknown> {
    const signal = flight.controller.signal;
    const records = this.store.idempotency;
    let seen = first;
    let tookBackOwn = false;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const now = this.clock.now();
      if (seen && !claimable(seen, now)) {
        if (seen.paramsHash !== flight.paramsHash) throw new IdempotencyConflictError(key, seen.name);
        if (seen.status === 'completed') return fromJsonText(seen.result);
        if (seen.owner === this.owner && !tookBackOwn) {
          // Our owner's claim with no run of ours behind it: left by an earlier life of this owner
          // (only possible with a fixed `owner`). Nobody else can be running it, so take it back now.
          tookBackOwn = true;
          await records.release(key, this.owner);
          seen = await records.get(key);
          continue;
        }
        if (flight.mode === 'reject') throw new IdempotencyInProgressError(key, seen.owner);
        // Wake up no later than the lease lapses, so a crashed owner's claim is taken over promptly.
        await abortableDelay(Math.max(1, Math.min(this.pollMs, seen.leaseUntil - now)), signal, this.clock);
        seen = await records.get(key);
        continue;
      }
      const outcome = await records.claim({
        key,
        name: flight.name,
        paramsHash: flight.paramsHash,
        owner: this.owner,
        now,
        leaseUntil: now + this.leaseMs,
        expiresAt: now + this.ttlMs,
      });
      if (outcome.claimed) return this.execute(flight, key, action, outcome.takenOver);
      seen = outcome.record;
      if (claimable(seen, now)) {
        // The store refused what looked free to us (its view differs): back off rather than spin.
        await abortableDelay(this.pollMs, signal, this.clock);
        seen = await records.get(key);
      }
    }
  }

  /** Runs the action under a claim we hold, renewing the lease while it runs, then records or releases. */
  private async execute(
    flight: Flight,
    key: string,
    action: IdempotentAction<unknown>,
    takenOver: boolean,
  ): Promise<unknown> {
    const records = this.store.idempotency;
    const stopRenewal = this.renewWhileRunning(key, flight.controller);
    let value: unknown;
    try {
      value = await action({ key, signal: flight.controller.signal, takenOver });
    } catch (error) {
      stopRenewal();
      await this.releaseQuietly(key);
      throw error;
    }
    stopRenewal();
    let text: string;
    try {
      text = toJsonText(value);
    } catch (error) {
      await this.releaseQuietly(key);
      throw new TypeError(
        `the result of idempotent action '${flight.name}' (key '${key}') cannot be stored as JSON; the key was released`,
        { cause: error },
      );
    }
    // False means another owner took the key over after our lease lapsed: the action did run here,
    // so its value is still this call's answer; the other owner's outcome is what the store keeps.
    await records.complete(key, this.owner, text, this.clock.now() + this.ttlMs);
    return value;
  }

  /** A failed action releases its key; if the store cannot be reached, the claim lapses after leaseMs. */
  private async releaseQuietly(key: string): Promise<void> {
    try {
      await this.store.idempotency.release(key, this.owner);
    } catch {
      // The action's own error is what the caller needs to see.
    }
  }

  /** One timer per running action: renews the lease every leaseMs * renewFraction until stopped. */
  private renewWhileRunning(key: string, controller: AbortController): () => void {
    const interval = Math.max(1, Math.floor(this.leaseMs * IDEMPOTENCY_DEFAULTS.renewFraction));
    let stopped = false;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const renew = async () => {
      timer = undefined;
      try {
        const held = await this.store.idempotency.renew(key, this.owner, this.clock.now() + this.leaseMs);
        if (!held && !stopped) {
          stopped = true;
          controller.abort(new IdempotencyLeaseLostError(key));
          return;
        }
      } catch {
        // A store hiccup: the lease still has two intervals of slack, try again at the next one.
      }
      if (!stopped) arm();
    };
    const arm = () => {
      timer = this.clock.setTimeout(() => void renew(), interval);
      timer.unref?.();
    };
    arm();
    return () => {
      stopped = true;
      if (timer !== undefined) this.clock.clearTimeout(timer);
    };
  }
}

/**
 * `idempotency(store, { ttlMs, leaseMs })`, then `idem.run({ name, params, key? }, action)`:
 * the action runs once per key across every process sharing the store.
 */
export function idempotency(store: Store, options?: IdempotencyOptions): Idempotency {
  return new Idempotency(store, options);
}

/** Absent, expired, or an in-progress claim whose lease has lapsed: the next claim takes it. */
function claimable(record: IdempotencyRecord | undefined, now: number): boolean {
  if (!record || record.expiresAt <= now) return true;
  return record.status === 'in-progress' && record.leaseUntil <= now;
}

/** This caller's view of a shared run: its own abort rejects only its own promise. */
function share(flight: Flight, signal: AbortSignal | undefined): Promise<unknown> {
  if (signal === undefined || signal === neverAbortedSignal) {
    flight.pinned = true;
    return flight.promise;
  }
  if (signal.aborted) return Promise.reject(abortReason(signal));
  flight.waiting++;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      flight.waiting--;
      // Nobody is left to answer: stop waiting for another owner, and tell a running action.
      if (!flight.pinned && flight.waiting === 0) flight.controller.abort(abortReason(signal));
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    flight.promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function checkRequest(request: IdempotentRequest, action: unknown): void {
  if (request === null || typeof request !== 'object') {
    throw new TypeError(`idempotency.run needs a request { name, params?, key? }, got ${describe(request)}`);
  }
  if (typeof request.name !== 'string' || request.name.length === 0) {
    throw new TypeError(`idempotency.run: name must be a non-empty string, got ${describe(request.name)}`);
  }
  if (request.key !== undefined && (typeof request.key !== 'string' || request.key.length === 0)) {
    throw new TypeError(`idempotency.run: key must be a non-empty string, got ${describe(request.key)}`);
  }
  if (typeof action !== 'function') {
    throw new TypeError(`idempotency.run: the action must be a function, got ${describe(action)}`);
  }
}

function checkDuration(problems: string[], path: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    problems.push(`${path} must be a finite number > 0, got ${describe(value)}`);
  }
}

function checkClock(problems: string[], path: string, clock: unknown): void {
  if (clock === undefined) return;
  const methods = clock as Record<string, unknown> | null;
  for (const method of ['now', 'setTimeout', 'clearTimeout']) {
    if (typeof methods?.[method] !== 'function') problems.push(`${path}.${method} must be a function`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}
