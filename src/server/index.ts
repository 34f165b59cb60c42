// rebound/server: the control plane's HTTP API (SPEC 4.3), its Prometheus exposition and the
// reliability report.

export * from './api.ts';
export * from './apiTypes.ts';
export { bearerMatches, isAllowed, type AccessRule } from './auth.ts';
export { MAX_BODY_BYTES } from './body.ts';
export * from './metricsExposition.ts';
export { REPORT_TARGETS, type ServiceReliability } from './reliabilityMetrics.ts';
export { collectReportData, type ReportData } from './reportData.ts';
export { renderReport, type RenderedReport, type RenderReportOptions } from './reportMarkdown.ts';
export {
  errorResponse,
  HttpError,
  isHttpError,
  jsonResponse,
  textResponse,
  type RequestProblem,
} from './responses.ts';
export * from './server.ts';
