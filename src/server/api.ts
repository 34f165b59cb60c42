// The HTTP API of SPEC 4.3 as one function from request to response: routing, the token check,
// strict input, and the mapping of every error to `{ error: { code, message, details? } }`.

import type { ControlPlane } from '../healing/index.ts';
import type { ApiHandler, ApiRequest, ApiResponse, Route } from './apiTypes.ts';
import { isAllowed } from './auth.ts';
import { readJsonBody } from './body.ts';
import { breakerRoutes } from './breakerRoutes.ts';
import { breakerTransitions } from './breakerTransitions.ts';
import { healingRoutes } from './healingRoutes.ts';
import { chaosRoutes } from './chaosRoutes.ts';
import { controllerRoutes } from './controllerRoutes.ts';
import { forecastRoutes } from './forecastRoutes.ts';
import { incidentRoutes } from './incidentRoutes.ts';
import { reliabilityRoutes } from './reliabilityRoutes.ts';
import { badRequest, errorResponse, HttpError, isHttpError } from './responses.ts';
import { reportRoutes } from './reportRoutes.ts';
import { createRouter } from './router.ts';
import { serviceRoutes } from './serviceRoutes.ts';
import { signalRoutes } from './signalRoutes.ts';
import { streamRoutes } from './streamRoutes.ts';
import { systemRoutes } from './systemRoutes.ts';

export interface ApiHandlerOptions {
  readonly controlPlane: ControlPlane;
  /** `server.token`: when set, mutating calls need `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  /** The server listens on loopback only: then reads need no token (SPEC 4.2a). */
  readonly loopbackOnly: boolean;
  /** More routes beside the API's (the dashboard, the chaos API), under the same rules. */
  readonly routes?: readonly Route[];
  /** Told of every error answered with 500, whose answer says nothing more; default: stderr. */
  readonly onError?: (error: unknown, request: ApiRequest) => void;
}

/** The routes of SPEC 4.3 for a control plane. */
export function apiRoutes(controlPlane: ControlPlane): Route[] {
  // One history of breaker transitions, recorded from now on: the routes list it, the stream counts it.
  const transitions = breakerTransitions(controlPlane.breakers);
  return [
    ...systemRoutes(controlPlane),
    ...serviceRoutes(controlPlane),
    ...breakerRoutes(controlPlane, transitions),
    ...healingRoutes(controlPlane),
    ...signalRoutes(controlPlane),
    ...incidentRoutes(controlPlane),
    ...reliabilityRoutes(controlPlane),
    ...controllerRoutes(controlPlane),
    ...forecastRoutes(controlPlane),
    ...chaosRoutes(controlPlane),
    ...reportRoutes(controlPlane),
    ...streamRoutes(controlPlane, { transitions }),
  ];
}

/** The API without a socket: what `startApiServer` serves, and what tests call directly. */
export function createApiHandler(options: ApiHandlerOptions): ApiHandler {
  const router = createRouter([...apiRoutes(options.controlPlane), ...(options.routes ?? [])]);
  const access = { token: options.token, loopbackOnly: options.loopbackOnly };
  const onError = options.onError ?? reportToStderr;

  async function handle(request: ApiRequest): Promise<ApiResponse> {
    const { path, search } = splitTarget(request.url);
    const match = router.match(request.method, path);
    if (match.kind === 'not-found') {
      throw new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${path.slice(0, 200)}`);
    }
    if (match.kind === 'method-not-allowed') {
      const allow = match.allow.join(', ');
      throw new HttpError(
        405,
        'METHOD_NOT_ALLOWED',
        `${request.method} is not allowed here; allowed: ${allow}`,
        {
          headers: { allow },
        },
      );
    }
    const { route, params } = match;
    if (!isAllowed(access, route.method !== 'GET', request.headers.authorization)) {
      throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong token: send Authorization: Bearer <token>', {
        headers: { 'www-authenticate': 'Bearer realm="rebound"' },
      });
    }
    const query = new URLSearchParams(search);
    checkQuery(query, route.query ?? []);
    const body = route.method === 'GET' ? undefined : await readJsonBody(request);
    if (route.body === 'json' && body === undefined) throw badRequest('a JSON body is required');
    if (route.body !== 'json' && body !== undefined && !isEmptyObject(body)) {
      throw badRequest(`${route.method} ${route.path} takes no body`);
    }
    return route.handle({ params, query, body: route.body === 'json' ? body : undefined, request });
  }

  return async (request) => {
    try {
      return await handle(request);
    } catch (error) {
      const response = knownErrorResponse(error);
      if (response) return response;
      onError(error, request);
      return errorResponse(500, 'INTERNAL', 'internal error');
    }
  };
}

/** The answer for an error the API knows, or undefined for anything else (a 500). */
function knownErrorResponse(error: unknown): ApiResponse | undefined {
  if (isHttpError(error))
    return errorResponse(error.status, error.code, error.message, error.details, error.headers);
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  switch (code) {
    case 'UNKNOWN_SERVICE':
    case 'NOT_FOUND':
      return errorResponse(404, code, message);
    case 'INVALID_REQUEST':
      return errorResponse(400, code, message, (error as { details?: unknown }).details);
    case 'CONFLICT':
    case 'CHAOS_RUN_CONFLICT':
      return errorResponse(409, code, message);
    default:
      return undefined;
  }
}

function splitTarget(target: string): { path: string; search: string } {
  if (!target.startsWith('/')) throw badRequest('the request target must be a path starting with /');
  const mark = target.indexOf('?');
  return mark === -1
    ? { path: target, search: '' }
    : { path: target.slice(0, mark), search: target.slice(mark + 1) };
}

function checkQuery(query: URLSearchParams, allowed: readonly string[]): void {
  const problems: { path: string; message: string }[] = [];
  for (const name of new Set(query.keys())) {
    if (!allowed.includes(name)) {
      const known = allowed.length === 0 ? 'this route takes none' : `known: ${allowed.join(', ')}`;
      problems.push({ path: name, message: `is not a known query parameter (${known})` });
    } else if (query.getAll(name).length > 1) {
      problems.push({ path: name, message: 'is given more than once' });
    }
  }
  if (problems.length > 0) {
    throw badRequest(`invalid query: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  }
}

function isEmptyObject(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
  );
}

function reportToStderr(error: unknown, request: ApiRequest): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`rebound api: ${request.method} ${request.url.split('?')[0]} failed: ${detail}\n`);
}
