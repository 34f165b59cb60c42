// The web dashboard's files, served by the API server: the single-page app's index.html for each of
// its pages, and its scripts, styles and the vendored uPlot under /assets (no internet needed).

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import type { ApiResponse, Route } from './apiTypes.ts';
import { HttpError } from './responses.ts';

/** Next to this module, in src/ and in dist/ alike (the build copies it). */
export const DASHBOARD_DIRECTORY = join(import.meta.dirname, 'dashboard');

/** The app's pages: each answers with index.html, which routes on `location.pathname`. */
export const DASHBOARD_PAGES = [
  '/',
  '/services/:name',
  '/circuit-breakers',
  '/incidents',
  '/incidents/:id',
  '/healing',
  '/chaos',
] as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Everything from this origin only: no inline script, no third-party host, no framing. */
export const DASHBOARD_CSP =
  "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

export interface DashboardOptions {
  /** Where index.html, app.js, pages/ and style.css are; default DASHBOARD_DIRECTORY. */
  readonly directory?: string;
}

/**
 * GET routes for the dashboard. The files are read once, here: a request can only name one of
 * them, never a path on disk, so there is nothing to traverse.
 */
export function dashboardRoutes(options: DashboardOptions = {}): Route[] {
  const files = loadAssets(options.directory ?? DASHBOARD_DIRECTORY);
  const index = files.get('index.html');
  if (!index)
    throw new Error(`the dashboard has no index.html in ${options.directory ?? DASHBOARD_DIRECTORY}`);
  const asset = (name: string): ApiResponse => {
    const found = files.get(name);
    if (!found)
      throw new HttpError(404, 'NOT_FOUND', `no dashboard asset ${JSON.stringify(name.slice(0, 200))}`);
    return found;
  };
  return [
    ...DASHBOARD_PAGES.map((path): Route => ({ method: 'GET', path, handle: () => index })),
    { method: 'GET', path: '/assets/:file', handle: ({ params }) => asset(params.file!) },
    {
      method: 'GET',
      path: '/assets/:folder/:file',
      handle: ({ params }) => asset(`${params.folder}/${params.file}`),
    },
  ];
}

function loadAssets(directory: string): Map<string, ApiResponse> {
  const files = new Map<string, ApiResponse>();
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const type = CONTENT_TYPES[extname(entry.name)];
    if (!type) continue;
    const path = join(entry.parentPath, entry.name);
    const name = path
      .slice(directory.length + 1)
      .split('\\')
      .join('/');
    files.set(name, assetResponse(type, readFileSync(path, 'utf8')));
  }
  const require = createRequire(import.meta.url);
  const uplot = (file: string): string => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
  files.set('vendor/uPlot.iife.min.js', assetResponse(CONTENT_TYPES['.js']!, uplot('uPlot.iife.min.js')));
  files.set('vendor/uPlot.min.css', assetResponse(CONTENT_TYPES['.css']!, uplot('uPlot.min.css')));
  return files;
}

function assetResponse(contentType: string, body: string): ApiResponse {
  return {
    status: 200,
    headers: {
      'content-type': contentType,
      // Revalidate each time: a new rebound version must not run with an old app.js.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': DASHBOARD_CSP,
      'referrer-policy': 'no-referrer',
    },
    body,
  };
}
