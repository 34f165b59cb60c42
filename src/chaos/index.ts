// rebound/chaos: breaking things on purpose to prove the healing works: in-process faults, process
// faults, and a Toxiproxy-compatible fault proxy.

export * from './faults.ts';
export * from './processFaults.ts';
export * from './proxy.ts';
export * from './proxyErrors.ts';
export * from './proxyRegistry.ts';
export * from './toxics.ts';
export * from './toxicsStages.ts';
export * from './toxiproxyApi.ts';
