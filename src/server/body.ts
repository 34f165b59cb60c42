// Request bodies (SPEC 4.2a): JSON only, at most 1 MiB, read no further than the limit.

import type { ApiRequest, BodySource } from './apiTypes.ts';
import { badRequest, HttpError } from './responses.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Whether the request carries a body at all (HTTP/1.1: a length above 0 or a chunked transfer). */
export function hasBody(request: ApiRequest): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = request.headers['content-length'];
  if (typeof length === 'string') return Number(length) > 0;
  const body = request.body;
  if (typeof body === 'string' || body instanceof Uint8Array) return body.length > 0;
  // A request read from a socket with neither header has no body (RFC 9112, section 6.3): `curl -X
  // POST` without -d sends exactly that.
  return false;
}

/**
 * The request's JSON body, or `undefined` when it has none. Refuses a body that is not
 * `application/json` (415), longer than `limit` bytes (413: a declared length is refused before
 * reading, a stream as soon as it passes the limit) or not JSON (400).
 */
export async function readJsonBody(request: ApiRequest, limit = MAX_BODY_BYTES): Promise<unknown> {
  if (!hasBody(request)) return undefined;
  checkContentType(request.headers['content-type']);
  const declared = request.headers['content-length'];
  if (typeof declared === 'string' && Number(declared) > limit) throw tooLarge(limit);
  const bytes = await readBytes(request.body ?? '', limit);
  if (bytes.length === 0) return undefined;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw badRequest('the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`the body is not valid JSON: ${(error as Error).message}`);
  }
}

function checkContentType(header: string | readonly string[] | undefined): void {
  const value = typeof header === 'string' ? header : undefined;
  const [mediaType, ...parameters] = (value ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  const utf8 = charset === undefined || /^charset="?utf-8"?$/.test(charset);
  if (mediaType !== 'application/json' || !utf8) {
    throw new HttpError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `request bodies must be application/json (UTF-8), got ${value === undefined ? 'no Content-Type' : JSON.stringify(value)}`,
    );
  }
}

async function readBytes(source: BodySource, limit: number): Promise<Uint8Array> {
  if (typeof source === 'string') source = Buffer.from(source, 'utf8');
  if (source instanceof Uint8Array) {
    if (source.length > limit) throw tooLarge(limit);
    return source;
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  // Iterated by hand: leaving a `for await` would destroy a socket's request stream, and with it
  // the connection the 413 still has to be written to. The server closes that connection after.
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await iterator.next();
    } catch (error) {
      // The client went away or broke the framing mid-body: its fault, not a server error.
      throw badRequest(`the request body could not be read: ${(error as Error).message}`);
    }
    if (next.done) break;
    length += next.value.length;
    if (length > limit) throw tooLarge(limit);
    chunks.push(next.value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `request bodies may be at most ${limit} bytes`);
}
