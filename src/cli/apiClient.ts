// How the CLI's status, breakers and restart commands find and call a running `rebound up`:
// the address from --url or the config file, the token from --token or REBOUND_TOKEN.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_DEFAULTS } from '../healing/index.ts';
import { ReboundError, hasErrorCode } from '../policies/index.ts';
import { type CliOutput, EXIT_USAGE } from './command.ts';

/** Where the API is and how to authenticate. */
export interface ApiTarget {
  /** Without a trailing slash, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly token: string | undefined;
}

/** What the user gave: `--url`, `--config`, `--token`. */
export interface ApiTargetInput {
  readonly url?: string | undefined;
  readonly config?: string | undefined;
  readonly token?: string | undefined;
}

export const DEFAULT_CONFIG_FILE = 'rebound.yaml';

/** The options every command talking to the API takes, for `parseArgs`. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  config: { type: 'string' },
  token: { type: 'string' },
} as const;

/** Their help text, for each command's usage. */
export const CONNECTION_USAGE = `  --url URL      the API of a running \`rebound up\` (default: server.host and server.port
                 of the config file, else http://${CONFIG_DEFAULTS.server.host}:${CONFIG_DEFAULTS.server.port})
  --config FILE  the config file to take the address from (default: ./${DEFAULT_CONFIG_FILE} when it exists)
  --token TOKEN  the API token (server.token); better: set REBOUND_TOKEN, which ps does not show`;

/** A usage mistake (exit 2), e.g. an invalid --url. */
export class CliUsageError extends ReboundError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

/** The API could not be reached at all (nothing listening, DNS, timeout). */
export class ApiUnreachableError extends ReboundError {
  readonly url: string;

  constructor(url: string, message: string, options?: ErrorOptions) {
    super('API_UNREACHABLE', message, options);
    this.url = url;
  }
}

/** The API answered with an error: `code` and `message` are the API's `error.code` and `error.message`. */
export class ApiError extends ReboundError {
  readonly status: number;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(code, message);
    this.status = status;
    this.details = details;
  }
}

export const isApiUnreachableError = (error: unknown): error is ApiUnreachableError =>
  hasErrorCode(error, 'API_UNREACHABLE');
export const isApiError = (error: unknown): error is ApiError =>
  typeof error === 'object' &&
  error !== null &&
  (error as { name?: unknown }).name === 'ApiError' &&
  typeof (error as { status?: unknown }).status === 'number';
export const isCliUsageError = (error: unknown): error is CliUsageError => hasErrorCode(error, 'CLI_USAGE');

/**
 * The API's address and token. The config file is read only for `server.host` and
 * `server.port`, without the full validation of `rebound validate`: a status check must work
 * even when, say, a webhook's `${ENV}` secret is not set in this shell.
 */
export async function resolveApiTarget(
  input: ApiTargetInput,
  environment: { readonly cwd: string; readonly env: Readonly<Record<string, string | undefined>> },
): Promise<ApiTarget> {
  const token = input.token ?? (environment.env.REBOUND_TOKEN || undefined);
  if (input.url !== undefined) return { url: checkUrl(input.url), token };
  const file =
    input.config ??
    (existsSync(resolve(environment.cwd, DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined);
  if (file === undefined) {
    return { url: `http://${CONFIG_DEFAULTS.server.host}:${CONFIG_DEFAULTS.server.port}`, token };
  }
  return { url: await urlFromConfig(resolve(environment.cwd, file), file), token };
}

function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliUsageError(`--url must be a URL such as http://127.0.0.1:8080, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliUsageError(`--url must be an http:// or https:// URL, got ${JSON.stringify(text)}`);
  }
  return url.href.replace(/\/+$/, '');
}

async function urlFromConfig(path: string, shown: string): Promise<string> {
  let document: unknown;
  try {
    document = parse(await readFile(path, 'utf8'));
  } catch (error) {
    const reason =
      (error as Error).name === 'YAMLParseError' ? 'not valid YAML' : (error as NodeJS.ErrnoException).code;
    throw new CliUsageError(
      `cannot read ${shown} (${reason ?? (error as Error).message}); give --url instead`,
    );
  }
  const server = (document as { server?: { host?: unknown; port?: unknown } } | null)?.server;
  const host = server?.host ?? CONFIG_DEFAULTS.server.host;
  const port = server?.port ?? CONFIG_DEFAULTS.server.port;
  if (typeof host !== 'string' || host === '' || host.includes('${') || !Number.isInteger(port)) {
    throw new CliUsageError(
      `cannot tell the API's address from server.host and server.port in ${shown}; give --url`,
    );
  }
  return `http://${connectableHost(host)}:${port as number}`;
}

/** A server bound to every address is reached on loopback; IPv6 addresses go in brackets. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export interface ApiClient {
  readonly url: string;
  get<T>(path: string): Promise<T>;
  /** POSTs `body` as JSON, or nothing when it is undefined. */
  post<T>(path: string, body?: unknown, options?: { timeoutMs?: number }): Promise<T>;
}

/** Longest a call may take before the CLI gives up on it. */
export const API_TIMEOUT_MS = 10_000;

export function createApiClient(target: ApiTarget, timeoutMs = API_TIMEOUT_MS): ApiClient {
  async function call<T>(method: string, path: string, body: unknown, ms: number): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${target.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(ms),
        redirect: 'error',
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new ApiUnreachableError(
        target.url,
        timedOut
          ? `rebound at ${target.url} did not answer within ${ms / 1000} s`
          : `cannot reach rebound at ${target.url}: is \`rebound up\` running?`,
        { cause: error },
      );
    }
    const text = await response.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(
        response.status,
        'BAD_RESPONSE',
        `${target.url} answered ${response.status} with something that is not rebound's JSON API`,
      );
    }
    if (response.ok) return value as T;
    const error = (value as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)
      ?.error;
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      throw new ApiError(response.status, error.code, error.message, error.details);
    }
    throw new ApiError(
      response.status,
      `HTTP_${response.status}`,
      `${target.url} answered ${response.status}`,
    );
  }
  return {
    url: target.url,
    get: (path) => call('GET', path, undefined, timeoutMs),
    post: (path, body, options) => call('POST', path, body, options?.timeoutMs ?? timeoutMs),
  };
}

/**
 * Runs `work` against the API a command's options point at, turning the ways that can fail into
 * a message on stderr and an exit code: 2 for a usage mistake, 1 when the API cannot be reached or
 * answers with an error.
 */
export async function withApi(
  command: string,
  input: ApiTargetInput,
  output: CliOutput,
  work: (client: ApiClient) => Promise<number>,
): Promise<number> {
  try {
    const target = await resolveApiTarget(input, { cwd: process.cwd(), env: process.env });
    return await work(createApiClient(target));
  } catch (error) {
    if (isCliUsageError(error)) {
      output.stderr.write(`rebound ${command}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (isApiUnreachableError(error)) {
      output.stderr.write(`rebound ${command}: ${error.message}\n`);
      return 1;
    }
    if (isApiError(error)) {
      const hint = error.status === 401 ? ' (give --token or set REBOUND_TOKEN)' : '';
      output.stderr.write(`rebound ${command}: ${error.message}${hint}\n`);
      for (const line of problemLines(error.details)) output.stderr.write(`  ${line}\n`);
      return 1;
    }
    throw error;
  }
}

function problemLines(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((problem: { path?: unknown; message?: unknown }) =>
    typeof problem?.message === 'string'
      ? [
          typeof problem.path === 'string' && problem.path !== ''
            ? `${problem.path}: ${problem.message}`
            : problem.message,
        ]
      : [],
  );
}
