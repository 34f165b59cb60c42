// The gateway's HTTP/1.1 parsing: request and response heads read straight from socket bytes into
// reused objects, strictly enough that a request cannot be framed one way here and another upstream.

/** Methods the gateway tells apart; everything else is METHOD_OTHER. */
export const METHOD_OTHER = 0;
export const METHOD_GET = 1;
export const METHOD_HEAD = 2;
export const METHOD_POST = 3;
export const METHOD_PUT = 4;
export const METHOD_DELETE = 5;
export const METHOD_OPTIONS = 6;
export const METHOD_PATCH = 7;
export const METHOD_CONNECT = 8;
export const METHOD_TRACE = 9;

/** How a message's body is delimited. */
export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
/** Responses only: the body runs until the upstream closes the connection. */
export const BODY_UNTIL_CLOSE = 3;

/** Longest request or response head accepted (Node's default too); longer requests get 431. */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_HEADERS = 200;

export const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');

const CR = 13;
const LF = 10;
const SPACE = 32;
const TAB = 9;
const COLON = 58;

/** RFC 9110 token characters (header names, methods). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** Bytes allowed in a header value: visible ASCII, space, tab and obs-text; no other control byte. */
const VALUE = new Uint8Array(256);
VALUE[TAB] = 1;
for (let c = 0x20; c <= 0xff; c++) VALUE[c] = c === 0x7f ? 0 : 1;

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
  /** Start and end of each header line to leave out (hop-by-hop), pairwise. */
  readonly dropped: number[] = [];
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
    this.dropped.length = 0;
    this.connectionNames = undefined;
  }
}

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
  readonly dropped: number[] = [];
  connectionNames: string[] | undefined = undefined;

  reset(): void {
    this.status = 0;
    this.body = BODY_NONE;
    this.contentLength = 0;
    this.close = false;
    this.keepAliveMs = 0;
    this.headEnd = 0;
    this.dropped.length = 0;
    this.connectionNames = undefined;
  }
}

/** Whether `buffer[start, start + name.length)` is `name` (lower case), ignoring ASCII case. */
function nameIs(buffer: Buffer, start: number, length: number, name: string): boolean {
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) {
    if ((buffer[start + i]! | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** Parses a decimal Content-Length; -1 when it is not one. */
function parseLength(buffer: Buffer, start: number, end: number): number {
  if (start === end || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = buffer[i]! - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

// What a Connection header says, as bits.
const CONNECTION_CLOSE = 1;
const CONNECTION_KEEP_ALIVE = 2;
const CONNECTION_UPGRADE = 4;
/** It also names other headers, hop-by-hop for this message. */
const CONNECTION_OTHER = 8;

/** Reads the comma-separated tokens of a Connection header value into CONNECTION_* bits. */
function connectionTokens(buffer: Buffer, start: number, end: number): number {
  let bits = 0;
  let from = start;
  for (let i = start; i <= end; i++) {
    if (i !== end && buffer[i] !== 0x2c) continue;
    let a = from;
    let b = i;
    while (a < b && (buffer[a] === SPACE || buffer[a] === TAB)) a++;
    while (b > a && (buffer[b - 1] === SPACE || buffer[b - 1] === TAB)) b--;
    const length = b - a;
    if (nameIs(buffer, a, length, 'close')) bits |= CONNECTION_CLOSE;
    else if (nameIs(buffer, a, length, 'keep-alive')) bits |= CONNECTION_KEEP_ALIVE;
    else if (nameIs(buffer, a, length, 'upgrade')) bits |= CONNECTION_UPGRADE;
    else if (length > 0) bits |= CONNECTION_OTHER;
    from = i + 1;
  }
  return bits;
}

/** The header names a Connection header lists besides close, keep-alive and upgrade, lower case. */
function connectionNames(buffer: Buffer, start: number, end: number): string[] {
  const names: string[] = [];
  for (const token of buffer.toString('latin1', start, end).split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') names.push(name);
  }
  return names;
}

function isListed(names: string[] | undefined, buffer: Buffer, start: number, length: number): boolean {
  if (names === undefined) return false;
  for (const name of names) if (nameIs(buffer, start, length, name)) return true;
  return false;
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
        if (nameIs(buffer, lineStart, 2, 'te')) head.dropped.push(lineStart, lineEnd);
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
          head.dropped.push(lineStart, lineEnd);
          const bits = connectionTokens(buffer, valueStart, valueEnd);
          connection |= bits;
          if ((bits & CONNECTION_OTHER) !== 0) {
            head.connectionNames = [
              ...(head.connectionNames ?? []),
              ...connectionNames(buffer, valueStart, valueEnd),
            ];
          }
        } else if (nameIs(buffer, lineStart, 10, 'keep-alive')) {
          head.dropped.push(lineStart, lineEnd);
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
          head.dropped.push(lineStart, lineEnd);
        }
        break;
      case 16:
        if (nameIs(buffer, lineStart, 16, 'proxy-connection')) head.dropped.push(lineStart, lineEnd);
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
    insertPair(head.dropped, upgradeStart, upgradeEnd);
  }
  if (head.connectionNames !== undefined)
    dropListed(buffer, head.headEnd, head.connectionNames, head.dropped);
  return 0;
}

/** Marks header lines whose names a Connection header listed (each line's start and end). */
function dropListed(buffer: Buffer, headEnd: number, names: string[], dropped: number[]): void {
  let i = buffer.indexOf(LF) + 1;
  while (i < headEnd - 2) {
    const lineEnd = buffer.indexOf(LF, i) + 1;
    const colon = buffer.indexOf(COLON, i);
    if (isListed(names, buffer, i, colon - i) && !isDropped(dropped, i)) dropped.push(i, lineEnd);
    i = lineEnd;
  }
  sortPairs(dropped);
}

/** Adds a line range to sorted pairs, keeping them sorted. */
function insertPair(pairs: number[], start: number, end: number): void {
  let k = pairs.length;
  pairs.push(start, end);
  while (k > 0 && pairs[k - 2]! > start) {
    pairs[k] = pairs[k - 2]!;
    pairs[k + 1] = pairs[k - 1]!;
    pairs[k - 2] = start;
    pairs[k - 1] = end;
    k -= 2;
  }
}

function isDropped(dropped: number[], start: number): boolean {
  for (let k = 0; k < dropped.length; k += 2) if (dropped[k] === start) return true;
  return false;
}

function sortPairs(pairs: number[]): void {
  const sorted: [number, number][] = [];
  for (let k = 0; k < pairs.length; k += 2) sorted.push([pairs[k]!, pairs[k + 1]!]);
  sorted.sort((a, b) => a[0] - b[0]);
  pairs.length = 0;
  for (const [start, end] of sorted) pairs.push(start, end);
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
          head.dropped.push(lineStart, lineEnd);
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
          head.dropped.push(lineStart, lineEnd);
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
        if (nameIs(buffer, lineStart, 16, 'proxy-connection')) head.dropped.push(lineStart, lineEnd);
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

function dropNamed(buffer: Buffer, headEnd: number, name: string, dropped: number[]): void {
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

/** Total bytes of the dropped line ranges. */
export function droppedBytes(dropped: readonly number[]): number {
  let total = 0;
  for (let k = 0; k < dropped.length; k += 2) total += dropped[k + 1]! - dropped[k]!;
  return total;
}

/**
 * Copies `source[from, to)` into `target` at `offset` leaving out the dropped ranges (sorted, within
 * the range); returns the new offset.
 */
export function copyKept(
  source: Buffer,
  from: number,
  to: number,
  dropped: readonly number[],
  target: Buffer,
  offset: number,
): number {
  let position = from;
  for (let k = 0; k < dropped.length; k += 2) {
    const start = dropped[k]!;
    if (start > position) offset += source.copy(target, offset, position, start);
    position = dropped[k + 1]!;
  }
  if (to > position) offset += source.copy(target, offset, position, to);
  return offset;
}

// Chunked body states.
const SIZE = 0;
const SIZE_EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_START = 6;
const TRAILER_LINE = 7;
const TRAILER_LF = 8;
const END_LF = 9;

/**
 * Follows a chunked body through its bytes, passed on unchanged, to find where it ends. Chunk data
 * is skipped in one step; only size lines and trailers are read byte by byte.
 */
export class ChunkedScanner {
  private state = SIZE;
  private digits = 0;
  private remaining = 0;

  reset(): void {
    this.state = SIZE;
    this.digits = 0;
    this.remaining = 0;
  }

  /**
   * Scans `buffer[start, end)`: returns the index just after the body's last byte, -1 when the body
   * goes on past `end`, or -2 when the bytes are not valid chunked framing.
   */
  scan(buffer: Buffer, start: number, end: number): number {
    let i = start;
    let state = this.state;
    while (i < end) {
      const c = buffer[i]!;
      switch (state) {
        case SIZE: {
          const digit = hexValue(c);
          if (digit >= 0) {
            if (++this.digits > 12) return -2;
            this.remaining = this.remaining * 16 + digit;
            i++;
          } else if (this.digits === 0) {
            return -2;
          } else if (c === CR) {
            state = SIZE_LF;
            i++;
          } else if (c === 0x3b || c === SPACE || c === TAB) {
            state = SIZE_EXTENSION;
            i++;
          } else {
            return -2;
          }
          break;
        }
        case SIZE_EXTENSION:
          if (c === CR) state = SIZE_LF;
          else if (c === LF || (c < SPACE && c !== TAB)) return -2;
          i++;
          break;
        case SIZE_LF:
          if (c !== LF) return -2;
          i++;
          this.digits = 0;
          state = this.remaining === 0 ? TRAILER_START : DATA;
          break;
        case DATA: {
          const take = Math.min(this.remaining, end - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (c !== CR) return -2;
          state = DATA_LF;
          i++;
          break;
        case DATA_LF:
          if (c !== LF) return -2;
          state = SIZE;
          i++;
          break;
        case TRAILER_START:
          if (c === CR) state = END_LF;
          else if (TOKEN[c] === 1) state = TRAILER_LINE;
          else return -2;
          i++;
          break;
        case TRAILER_LINE:
          if (c === CR) state = TRAILER_LF;
          else if (c === LF) return -2;
          i++;
          break;
        case TRAILER_LF:
          if (c !== LF) return -2;
          state = TRAILER_START;
          i++;
          break;
        case END_LF:
          if (c !== LF) return -2;
          this.reset();
          return i + 1;
      }
    }
    this.state = state;
    return -1;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
