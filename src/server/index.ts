// rebound/server: the control plane's HTTP API (SPEC 4.3) and its Prometheus exposition.

export * from './api.ts';
export * from './apiTypes.ts';
export { bearerMatches, isAllowed, type AccessRule } from './auth.ts';
export { MAX_BODY_BYTES } from './body.ts';
export * from './metricsExposition.ts';
export {
  errorResponse,
  HttpError,
  isHttpError,
  jsonResponse,
  textResponse,
  type RequestProblem,
} from './responses.ts';
export * from './server.ts';
