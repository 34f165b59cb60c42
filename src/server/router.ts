// Matches a method and path to a route: literal segments and `:name` parameters, and which methods
// a path does accept when the one asked for is not among them (for 405 and its Allow header).

import type { Route } from './apiTypes.ts';
import { badRequest } from './responses.ts';

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' };

export interface Router {
  match(method: string, path: string): RouteMatch;
  readonly routes: readonly Route[];
}

interface CompiledRoute {
  readonly route: Route;
  /** A literal segment, or `{ param }` for `:param`. */
  readonly segments: readonly (string | { readonly param: string })[];
}

/** Routes are tried in order; two routes with the same method and path are refused at creation. */
export function createRouter(routes: readonly Route[]): Router {
  const compiled = routes.map(compile);
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path.replace(/:[^/]+/g, ':')}`;
    if (seen.has(key)) throw new Error(`two routes for ${route.method} ${route.path}`);
    seen.add(key);
  }
  return {
    routes,
    match(method, path) {
      const segments = splitPath(path);
      // HEAD is GET without the body (node:http drops it), as RFC 9110 asks.
      const wanted = method === 'HEAD' ? 'GET' : method;
      const allow = new Set<string>();
      for (const candidate of compiled) {
        const params = matchSegments(candidate.segments, segments);
        if (params === undefined) continue;
        if (candidate.route.method === wanted) return { kind: 'found', route: candidate.route, params };
        allow.add(candidate.route.method);
        if (candidate.route.method === 'GET') allow.add('HEAD');
      }
      return allow.size === 0 ? { kind: 'not-found' } : { kind: 'method-not-allowed', allow: [...allow] };
    },
  };
}

function compile(route: Route): CompiledRoute {
  if (!route.path.startsWith('/')) throw new Error(`a route's path starts with /, got ${route.path}`);
  return {
    route,
    segments: route.path
      .slice(1)
      .split('/')
      .map((segment) => (segment.startsWith(':') ? { param: segment.slice(1) } : segment)),
  };
}

/** The raw segments of a path (still percent-encoded, so an encoded `/` stays inside its segment). */
function splitPath(path: string): string[] {
  return path.slice(1).split('/');
}

function matchSegments(
  pattern: CompiledRoute['segments'],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  let params: Record<string, string> | undefined;
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index]!;
    const actual = segments[index]!;
    if (typeof expected === 'string') {
      if (expected !== actual) return undefined;
    } else {
      if (actual === '') return undefined;
      params ??= {};
      params[expected.param] = decodeSegment(actual);
    }
  }
  return params ?? {};
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`the path segment ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}
