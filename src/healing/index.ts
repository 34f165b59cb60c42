// rebound/healing: the control plane's building blocks; for now the rebound.yaml config.

export { CommandLineError, splitCommand } from './commandLine.ts';
export { loadConfig, parseConfig, type ParseConfigOptions } from './config.ts';
export { isLoopback } from './configChecks.ts';
export { ConfigError, type ConfigProblem, formatProblem, isConfigError } from './configErrors.ts';
export { REDACTED, redactConfig, redactUrl } from './configRedact.ts';
export { CONFIG_DEFAULTS } from './configSchema.ts';
export * from './configTypes.ts';
export * from './prometheusText.ts';
export * from './signalSchemas.ts';
export * from './alertGate.ts';
export * from './escalation.ts';
export * from './policyEngine.ts';
export * from './webhookFormats.ts';
export * from './controlPlaneTypes.ts';
export * from './errors.ts';
export * from './healthChecker.ts';
export * from './probes.ts';
export * from './supervisor.ts';
export * from './supervisorErrors.ts';
export * from './controlPlane.ts';
export {
  GATEWAY_BREAKER_KIND,
  GATEWAY_DEFAULTS,
  type Gateway,
  GatewayListenError,
  type GatewayOptions,
  isGatewayListenError,
  startGateway,
} from './gateway.ts';
export { INCIDENT_RESPONSE, PLAYBOOK_DEFAULTS, registerIncidentPlaybook } from './incidentPlaybook.ts';
export * from './incidents.ts';
export * from './reliability.ts';
export * from './trafficHistory.ts';
