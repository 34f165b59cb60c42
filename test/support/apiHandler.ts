// The HTTP API in-process (no socket) for the route tests: a handler on the fake control plane, a
// `call` that sends and reads JSON, and the check of the error shape every refusal has.

import assert from 'node:assert/strict';
import { createApiHandler } from '../../src/server/api.ts';
import type { ApiRequest, ApiResponse, BodySource, Route } from '../../src/server/apiTypes.ts';
import { type FakeControlPlane, fakeControlPlane } from './fakeControlPlane.ts';

/** A JSON answer, read field by field in the assertions (a precise type would only repeat them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Answer = any;

export interface CallOptions {
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  /** Sent as is, with the headers given. */
  body?: BodySource;
  headers?: Record<string, string>;
  token?: string;
}

export interface CallAnswer extends ApiResponse {
  /** The body parsed, when the answer is JSON. */
  json: Answer;
}

export interface ApiHandlerSetup {
  /** Default: a new fake control plane. */
  controlPlane?: FakeControlPlane;
  token?: string;
  /** Default: true (the API listens on loopback). */
  loopbackOnly?: boolean;
  /** Routes mounted beside the API's own. */
  routes?: Route[];
}

export function apiHandler(options: ApiHandlerSetup = {}) {
  const controlPlane = options.controlPlane ?? fakeControlPlane();
  /** What the handler reported to `onError` (unexpected errors, answered 500). */
  const errors: unknown[] = [];
  const handler = createApiHandler({
    controlPlane,
    token: options.token,
    loopbackOnly: options.loopbackOnly ?? true,
    onError: (error) => errors.push(error),
    ...(options.routes ? { routes: options.routes } : {}),
  });
  async function call(method: string, url: string, init: CallOptions = {}): Promise<CallAnswer> {
    const headers: Record<string, string> = { ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] ??= 'application/json';
    }
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    const request: ApiRequest = { method, url, headers, ...(body === undefined ? {} : { body }) };
    const response = await handler(request);
    const isJson = response.headers['content-type']!.startsWith('application/json');
    return { ...response, json: isJson ? (JSON.parse(response.body) as Answer) : undefined };
  }
  const get = (url: string, init?: CallOptions) => call('GET', url, init);
  return { controlPlane, errors, call, get };
}

/** The API's error shape: the status, a stable code and a message that says something. */
export function assertError(response: { status: number; json: Answer }, status: number, code: string): void {
  assert.equal(response.status, status, JSON.stringify(response.json));
  assert.equal(response.json.error.code, code);
  assert.equal(typeof response.json.error.message, 'string');
  assert.ok(response.json.error.message.length > 0);
}
