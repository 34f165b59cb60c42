// Reads an upstream's response head: status, framing, keep-alive, and the hop-by-hop headers to drop.

import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  COLON,
  CONNECTION_CLOSE,
  CONNECTION_KEEP_ALIVE,
  CONNECTION_OTHER,
  CR,
  connectionNames,
  connectionTokens,
  dropListed,
  LF,
  LineRanges,
  MAX_HEADERS,
  nameIs,
  parseLength,
  SPACE,
  TAB,
  TOKEN,
  VALUE,
} from './gatewayHttp.ts';

/** What the gateway needs to know of a response head; one per upstream connection. */
export class ResponseHead {
  status = 0;
  body = BODY_NONE;
  contentLength = 0;
  /** The upstream will close the connection after this response. */
  close = false;
  /** `Keep-Alive: timeout=N` in ms, 0 when not given. */
  keepAliveMs = 0;
  headEnd = 0;
  readonly dropped = new LineRanges();
  connectionNames: string[] | undefined = undefined;

  reset(): void {
    this.status = 0;
    this.body = BODY_NONE;
    this.contentLength = 0;
    this.close = false;
    this.keepAliveMs = 0;
    this.headEnd = 0;
    this.dropped.clear();
    this.connectionNames = undefined;
  }
}

/**
 * Parses a response head in `buffer[0, headEnd)`. Returns false when it is not a valid HTTP/1.x
 * response head (the gateway then answers 502). `headRequest`: the request was HEAD (no body).
 */
export function parseResponseHead(
  buffer: Buffer,
  headEnd: number,
  headRequest: boolean,
  head: ResponseHead,
): boolean {
  head.reset();
  head.headEnd = headEnd;
  if (
    headEnd < 16 ||
    buffer[0] !== 0x48 ||
    buffer[1] !== 0x54 ||
    buffer[2] !== 0x54 ||
    buffer[3] !== 0x50 ||
    buffer[4] !== 0x2f ||
    buffer[5] !== 0x31 ||
    buffer[6] !== 0x2e ||
    buffer[8] !== SPACE
  ) {
    return false;
  }
  const http10 = buffer[7] === 0x30;
  const d1 = buffer[9]! - 0x30;
  const d2 = buffer[10]! - 0x30;
  const d3 = buffer[11]! - 0x30;
  if (d1 < 1 || d1 > 5 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) return false;
  if (buffer[12] !== SPACE && buffer[12] !== CR) return false;
  head.status = d1 * 100 + d2 * 10 + d3;
  let i = buffer.indexOf(LF, 12) + 1;
  if (i === 0 || buffer[i - 2] !== CR) return false;

  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let connectionClose = http10;
  let headers = 0;
  while (i < headEnd - 2) {
    if (++headers > MAX_HEADERS) return false;
    const lineStart = i;
    while (TOKEN[buffer[i]!] === 1) i++;
    const nameLength = i - lineStart;
    if (nameLength === 0 || buffer[i] !== COLON) return false;
    i++;
    while (buffer[i] === SPACE || buffer[i] === TAB) i++;
    const valueStart = i;
    while (VALUE[buffer[i]!] === 1) i++;
    if (buffer[i] !== CR || buffer[i + 1] !== LF) return false;
    let valueEnd = i;
    while (valueEnd > valueStart && (buffer[valueEnd - 1] === SPACE || buffer[valueEnd - 1] === TAB))
      valueEnd--;
    i += 2;
    const lineEnd = i;
    switch (nameLength) {
      case 10:
        if (nameIs(buffer, lineStart, 10, 'connection')) {
          head.dropped.add(lineStart, lineEnd);
          const bits = connectionTokens(buffer, valueStart, valueEnd);
          if ((bits & CONNECTION_CLOSE) !== 0) connectionClose = true;
          else if ((bits & CONNECTION_KEEP_ALIVE) !== 0 && http10) connectionClose = false;
          if ((bits & CONNECTION_OTHER) !== 0) {
            head.connectionNames = [
              ...(head.connectionNames ?? []),
              ...connectionNames(buffer, valueStart, valueEnd),
            ];
          }
        } else if (nameIs(buffer, lineStart, 10, 'keep-alive')) {
          head.dropped.add(lineStart, lineEnd);
          head.keepAliveMs = keepAliveTimeout(buffer, valueStart, valueEnd);
        }
        break;
      case 14:
        if (nameIs(buffer, lineStart, 14, 'content-length')) {
          const length = parseLength(buffer, valueStart, valueEnd);
          if (length < 0 || (contentLength >= 0 && contentLength !== length)) return false;
          contentLength = length;
        }
        break;
      case 16:
        if (nameIs(buffer, lineStart, 16, 'proxy-connection')) head.dropped.add(lineStart, lineEnd);
        break;
      case 17:
        if (nameIs(buffer, lineStart, 17, 'transfer-encoding')) {
          transferEncoding = true;
          // Chunked only when it is the last coding; otherwise the body ends when the connection does.
          chunked = endsWithChunked(buffer, valueStart, valueEnd);
        }
        break;
    }
  }
  if (i !== headEnd - 2) return false;
  const status = head.status;
  if (headRequest || status < 200 || status === 204 || status === 304) {
    head.body = BODY_NONE;
  } else if (transferEncoding) {
    head.body = chunked ? BODY_CHUNKED : BODY_UNTIL_CLOSE;
    if (!chunked) connectionClose = true;
  } else if (contentLength >= 0) {
    head.body = contentLength === 0 ? BODY_NONE : BODY_LENGTH;
    head.contentLength = contentLength;
  } else {
    head.body = BODY_UNTIL_CLOSE;
    connectionClose = true;
  }
  if (transferEncoding && contentLength >= 0) {
    // Transfer-Encoding wins over Content-Length (RFC 9112 6.3); the length line must not be passed on.
    dropNamed(buffer, headEnd, 'content-length', head.dropped);
  }
  head.close = connectionClose;
  if (head.connectionNames !== undefined) dropListed(buffer, headEnd, head.connectionNames, head.dropped);
  return true;
}

function dropNamed(buffer: Buffer, headEnd: number, name: string, dropped: LineRanges): void {
  dropListed(buffer, headEnd, [name], dropped);
}

function endsWithChunked(buffer: Buffer, start: number, end: number): boolean {
  let last = start;
  for (let i = end - 1; i >= start; i--) {
    if (buffer[i] === 0x2c) {
      last = i + 1;
      break;
    }
  }
  while (last < end && (buffer[last] === SPACE || buffer[last] === TAB)) last++;
  return nameIs(buffer, last, end - last, 'chunked');
}

/** `timeout=5, max=100` → 5000; 0 when absent or malformed. Read without allocating: Node sends it on every response. */
function keepAliveTimeout(buffer: Buffer, start: number, end: number): number {
  let i = start;
  while (i + 8 < end) {
    const atToken = i === start || buffer[i - 1] === SPACE || buffer[i - 1] === 0x2c || buffer[i - 1] === TAB;
    if (atToken && nameIs(buffer, i, 8, 'timeout=')) {
      let j = i + 8;
      while (j < end && buffer[j]! >= 0x30 && buffer[j]! <= 0x39) j++;
      const seconds = parseLength(buffer, i + 8, j);
      return seconds > 0 && seconds < 1e6 ? seconds * 1000 : 0;
    }
    i++;
  }
  return 0;
}
