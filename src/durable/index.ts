export { canonicalJson } from './canonicalJson.ts';
export * from './degrade.ts';
export * from './errors.ts';
export * from './idempotency.ts';
export * from './workflows.ts';
