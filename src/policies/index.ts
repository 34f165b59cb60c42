export * from './abort.ts';
export {
  type Backoff,
  type BackoffFunction,
  backoffDelays,
  type ConstantBackoff,
  DEFAULT_BACKOFF,
  EXPONENTIAL_BACKOFF_DEFAULTS,
  type ExponentialBackoff,
  type Jitter,
  LINEAR_BACKOFF_DEFAULTS,
  type LinearBackoff,
  MAX_DELAY_MS,
} from './backoff.ts';
export * from './breakerRegistry.ts';
export * from './bulkhead.ts';
export * from './circuitBreaker.ts';
export * from './clock.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './fallback.ts';
export * from './guarded.ts';
export * from './hedge.ts';
export * from './permanent.ts';
export { OptionProblems } from './options.ts';
export * from './pipeline.ts';
export type { ExecuteContext, Operation, Policy } from './policy.ts';
export * from './rateLimit.ts';
export * from './retry.ts';
export * from './retryBudget.ts';
export * from './timeout.ts';
