// Reads a client's request head: method, framing, keep-alive, and the hop-by-hop headers to drop.

import {
  BODY_CHUNKED,
  BODY_LENGTH,
  COLON,
  CONNECTION_CLOSE,
  CONNECTION_KEEP_ALIVE,
  CONNECTION_OTHER,
  CONNECTION_UPGRADE,
  CR,
  connectionNames,
  connectionTokens,
  dropListed,
  LF,
  LineRanges,
  MAX_HEADERS,
  METHOD_CONNECT,
  METHOD_DELETE,
  METHOD_GET,
  METHOD_HEAD,
  METHOD_OPTIONS,
  METHOD_OTHER,
  METHOD_PATCH,
  METHOD_POST,
  METHOD_PUT,
  METHOD_TRACE,
  BODY_NONE,
  nameIs,
  parseLength,
  SPACE,
  TAB,
  TOKEN,
  VALUE,
} from './gatewayHttp.ts';

/** What the gateway needs to know of a request head; one per client connection, refilled per request. */
export class RequestHead {
  method = METHOD_OTHER;
  idempotent = false;
  http10 = false;
  keepAlive = true;
  body = BODY_NONE;
  contentLength = 0;
  /** A WebSocket-style upgrade: forwarded with its Upgrade header, tunnelled on 101. */
  upgrade = false;
  /** Index just after the blank line ending the head. */
  headEnd = 0;
  hostStart = -1;
  hostEnd = -1;
  forwardedForStart = -1;
  forwardedForEnd = -1;
  hasForwardedProto = false;
  hasForwardedHost = false;
  /** Header lines to leave out (hop-by-hop). */
  readonly dropped = new LineRanges();
  /** Names listed in `Connection` that are hop-by-hop for this request (rare). */
  connectionNames: string[] | undefined = undefined;

  reset(): void {
    this.method = METHOD_OTHER;
    this.idempotent = false;
    this.http10 = false;
    this.keepAlive = true;
    this.body = BODY_NONE;
    this.contentLength = 0;
    this.upgrade = false;
    this.headEnd = 0;
    this.hostStart = this.hostEnd = this.forwardedForStart = this.forwardedForEnd = -1;
    this.hasForwardedProto = this.hasForwardedHost = false;
    this.dropped.clear();
    this.connectionNames = undefined;
  }
}

/** Whether `buffer[start, start + text.length)` is exactly `text`. */
function bytesAre(buffer: Buffer, start: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buffer[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

function classifyMethod(buffer: Buffer, start: number, length: number): number {
  switch (length) {
    case 3:
      if (bytesAre(buffer, start, 'GET')) return METHOD_GET;
      return bytesAre(buffer, start, 'PUT') ? METHOD_PUT : METHOD_OTHER;
    case 4:
      if (bytesAre(buffer, start, 'POST')) return METHOD_POST;
      return bytesAre(buffer, start, 'HEAD') ? METHOD_HEAD : METHOD_OTHER;
    case 5:
      if (bytesAre(buffer, start, 'PATCH')) return METHOD_PATCH;
      return bytesAre(buffer, start, 'TRACE') ? METHOD_TRACE : METHOD_OTHER;
    case 6:
      return bytesAre(buffer, start, 'DELETE') ? METHOD_DELETE : METHOD_OTHER;
    case 7:
      if (bytesAre(buffer, start, 'OPTIONS')) return METHOD_OPTIONS;
      return bytesAre(buffer, start, 'CONNECT') ? METHOD_CONNECT : METHOD_OTHER;
    default:
      return METHOD_OTHER;
  }
}

/**
 * Parses the request head in `buffer[0, headEnd)` (headEnd just after the blank line) into `head`.
 * Returns 0, or the status to refuse the request with: 400 (malformed, ambiguous framing),
 * 405 (CONNECT), 501 (a transfer coding other than chunked), 505 (not HTTP/1.x).
 */
export function parseRequestHead(buffer: Buffer, headEnd: number, head: RequestHead): number {
  head.reset();
  head.headEnd = headEnd;
  // Request line: method SP target SP HTTP/1.x CRLF
  let i = 0;
  while (i < headEnd && TOKEN[buffer[i]!] === 1) i++;
  const methodLength = i;
  if (methodLength === 0 || methodLength > 24 || buffer[i] !== SPACE) return 400;
  head.method = classifyMethod(buffer, 0, methodLength);
  if (head.method === METHOD_CONNECT) return 405;
  head.idempotent =
    head.method !== METHOD_POST && head.method !== METHOD_PATCH && head.method !== METHOD_OTHER;
  const targetStart = ++i;
  while (i < headEnd) {
    const c = buffer[i]!;
    if (c <= SPACE || c === 0x7f) break;
    i++;
  }
  if (i === targetStart || buffer[i] !== SPACE) return 400;
  i++;
  if (
    i + 10 > headEnd ||
    buffer[i] !== 0x48 || // H
    buffer[i + 1] !== 0x54 ||
    buffer[i + 2] !== 0x54 ||
    buffer[i + 3] !== 0x50 ||
    buffer[i + 4] !== 0x2f || // /
    buffer[i + 6] !== 0x2e // .
  ) {
    return 400;
  }
  const major = buffer[i + 5]!;
  const minor = buffer[i + 7]!;
  if (major < 0x30 || major > 0x39 || minor < 0x30 || minor > 0x39) return 400;
  if (major !== 0x31 || (minor !== 0x30 && minor !== 0x31)) return 505;
  if (buffer[i + 8] !== CR || buffer[i + 9] !== LF) return 400;
  head.http10 = minor === 0x30;
  i += 10;

  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let hostSeen = false;
  let connection = 0;
  let upgradeHeader = false;
  let upgradeStart = -1;
  let upgradeEnd = -1;
  let headers = 0;
  // Header lines until the blank line at headEnd - 2.
  while (i < headEnd - 2) {
    if (++headers > MAX_HEADERS) return 431;
    const lineStart = i;
    while (TOKEN[buffer[i]!] === 1) i++;
    const nameLength = i - lineStart;
    // No name, or whitespace before the colon (a classic smuggling vector), or obs-fold.
    if (nameLength === 0 || buffer[i] !== COLON) return 400;
    i++;
    while (buffer[i] === SPACE || buffer[i] === TAB) i++;
    const valueStart = i;
    while (VALUE[buffer[i]!] === 1) i++;
    if (buffer[i] !== CR || buffer[i + 1] !== LF) return 400;
    let valueEnd = i;
    while (valueEnd > valueStart && (buffer[valueEnd - 1] === SPACE || buffer[valueEnd - 1] === TAB))
      valueEnd--;
    i += 2;
    const lineEnd = i;

    switch (nameLength) {
      case 4:
        if (nameIs(buffer, lineStart, 4, 'host')) {
          if (hostSeen) return 400;
          hostSeen = true;
          head.hostStart = valueStart;
          head.hostEnd = valueEnd;
        }
        break;
      case 2:
        if (nameIs(buffer, lineStart, 2, 'te')) head.dropped.add(lineStart, lineEnd);
        break;
      case 7:
        if (nameIs(buffer, lineStart, 7, 'upgrade')) {
          upgradeHeader = true;
          upgradeStart = lineStart;
          upgradeEnd = lineEnd;
        }
        break;
      case 10:
        if (nameIs(buffer, lineStart, 10, 'connection')) {
          head.dropped.add(lineStart, lineEnd);
          const bits = connectionTokens(buffer, valueStart, valueEnd);
          connection |= bits;
          if ((bits & CONNECTION_OTHER) !== 0) {
            head.connectionNames = [
              ...(head.connectionNames ?? []),
              ...connectionNames(buffer, valueStart, valueEnd),
            ];
          }
        } else if (nameIs(buffer, lineStart, 10, 'keep-alive')) {
          head.dropped.add(lineStart, lineEnd);
        }
        break;
      case 14:
        if (nameIs(buffer, lineStart, 14, 'content-length')) {
          const length = parseLength(buffer, valueStart, valueEnd);
          if (length < 0 || (contentLength >= 0 && contentLength !== length)) return 400;
          contentLength = length;
        }
        break;
      case 15:
        if (nameIs(buffer, lineStart, 15, 'x-forwarded-for')) {
          if (head.forwardedForStart >= 0) return 400;
          head.forwardedForStart = valueStart;
          head.forwardedForEnd = valueEnd;
          head.dropped.add(lineStart, lineEnd);
        }
        break;
      case 16:
        if (nameIs(buffer, lineStart, 16, 'proxy-connection')) head.dropped.add(lineStart, lineEnd);
        else if (nameIs(buffer, lineStart, 16, 'x-forwarded-host')) head.hasForwardedHost = true;
        break;
      case 17:
        if (nameIs(buffer, lineStart, 17, 'transfer-encoding')) {
          if (transferEncoding) return 400;
          transferEncoding = true;
          // Passed through unchanged, so only a plain `chunked` can be framed the same way upstream.
          if (!nameIs(buffer, valueStart, valueEnd - valueStart, 'chunked')) return 501;
          chunked = true;
        } else if (nameIs(buffer, lineStart, 17, 'x-forwarded-proto')) {
          head.hasForwardedProto = true;
        }
        break;
    }
  }
  if (i !== headEnd - 2) return 400;
  // HTTP/1.1 requires Host (RFC 9112 3.2).
  if (!hostSeen && !head.http10) return 400;
  if (chunked) {
    if (contentLength >= 0 || head.http10) return 400; // ambiguous framing: refuse, never guess
    head.body = BODY_CHUNKED;
  } else if (contentLength > 0) {
    head.body = BODY_LENGTH;
    head.contentLength = contentLength;
  }
  const close = (connection & CONNECTION_CLOSE) !== 0;
  head.keepAlive = head.http10 ? (connection & CONNECTION_KEEP_ALIVE) !== 0 && !close : !close;
  if ((connection & CONNECTION_UPGRADE) !== 0 && upgradeHeader && !head.http10) {
    head.upgrade = true;
  } else if (upgradeHeader) {
    head.dropped.add(upgradeStart, upgradeEnd);
  }
  if (head.connectionNames !== undefined)
    dropListed(buffer, head.headEnd, head.connectionNames, head.dropped);
  return 0;
}
