export * from './abort.ts';
export * from './clock.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './guarded.ts';
export * from './pipeline.ts';
export type { ExecuteContext, Operation, Policy } from './policy.ts';
