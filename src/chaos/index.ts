// rebound/chaos: breaking things on purpose to prove the healing works: in-process faults, process
// faults, a Toxiproxy-compatible fault proxy, and experiments that measure the recovery.

export * from './faults.ts';
export * from './processFaults.ts';
export * from './proxy.ts';
export * from './proxyErrors.ts';
export * from './proxyRegistry.ts';
export * from './toxics.ts';
export * from './toxicChain.ts';
export * from './toxicsStages.ts';
export * from './toxiproxyApi.ts';
export * from './experimentRunner.ts';
export * from './experimentRuns.ts';
export * from './experimentSchedule.ts';
export * from './experimentSchema.ts';
export * from './experimentTypes.ts';
export { conditionHolds, describeCondition } from './experimentJournal.ts';
