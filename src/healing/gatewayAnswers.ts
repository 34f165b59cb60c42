// The answers the gateway gives itself (errors, the fallback), built once as whole responses so
// that answering costs one write and no allocation.

import { STATUS_CODES } from 'node:http';
import type { FallbackConfig } from './configTypes.ts';

/** A response ready to write, with and without `Connection: close`. */
export interface Answer {
  readonly status: number;
  readonly keepAlive: Buffer;
  readonly close: Buffer;
}

function build(
  status: number,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  close: boolean,
): Buffer {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  const noBody = status === 204 || status === 304;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding') continue;
    head += `${name}: ${value}\r\n`;
  }
  if (!noBody) head += `content-length: ${body.length}\r\n`;
  head += close ? 'connection: close\r\n\r\n' : '\r\n';
  return noBody ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export function answer(status: number, headers: Readonly<Record<string, string>>, body: Buffer): Answer {
  return {
    status,
    keepAlive: build(status, headers, body, false),
    close: build(status, headers, body, true),
  };
}

/** rebound's error shape, `{ error: { code, message } }`, as JSON. */
export function errorAnswer(
  status: number,
  code: string,
  message: string,
  service: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): Answer {
  const body = Buffer.from(JSON.stringify({ error: { code, message } }));
  return answer(
    status,
    { 'content-type': 'application/json', 'x-rebound-gateway': service, ...extraHeaders },
    body,
  );
}

/**
 * The fallback response of a service: its status and headers, and its body as JSON (a string body is
 * sent as text). It carries `x-rebound-fallback: true` so that clients and tests can tell it apart.
 */
export function fallbackAnswer(fallback: FallbackConfig, service: string): Answer {
  const { body } = fallback;
  const hasType = Object.keys(fallback.headers).some((name) => name.toLowerCase() === 'content-type');
  let bytes: Buffer;
  let type: string;
  if (body === undefined) {
    bytes = Buffer.alloc(0);
    type = 'application/json';
  } else if (typeof body === 'string') {
    bytes = Buffer.from(body);
    type = 'text/plain; charset=utf-8';
  } else {
    bytes = Buffer.from(JSON.stringify(body));
    type = 'application/json';
  }
  const headers: Record<string, string> = hasType ? {} : { 'content-type': type };
  return answer(
    fallback.status,
    { ...headers, ...fallback.headers, 'x-rebound-fallback': 'true', 'x-rebound-gateway': service },
    bytes,
  );
}

/** Answers for requests the gateway refuses before routing them; they always close the connection. */
export function refusalAnswer(status: number, service: string): Answer {
  const messages: Record<number, [string, string]> = {
    400: ['BAD_REQUEST', 'the request is not valid HTTP/1.1'],
    405: ['METHOD_NOT_ALLOWED', 'CONNECT is not supported by the gateway'],
    431: ['HEADERS_TOO_LARGE', 'the request head is larger than 16 KiB'],
    501: ['NOT_IMPLEMENTED', 'only the chunked transfer coding is supported'],
    505: ['HTTP_VERSION_NOT_SUPPORTED', 'only HTTP/1.0 and HTTP/1.1 are supported'],
  };
  const [code, message] = messages[status] ?? ['BAD_REQUEST', 'bad request'];
  return errorAnswer(status, code, message, service);
}
