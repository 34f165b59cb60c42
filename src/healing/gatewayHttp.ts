// The gateway's HTTP/1.1 vocabulary: the constants, byte tables and helpers its head parsers
// (gatewayRequestHead.ts, gatewayResponseHead.ts) share. Heads are read straight from socket bytes
// into reused objects, strictly enough that a message cannot be framed one way here and another
// on the other side.

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
export const MAX_HEADERS = 200;

export const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');

export const CR = 13;
export const LF = 10;
export const SPACE = 32;
export const TAB = 9;
export const COLON = 58;

/** RFC 9110 token characters (header names, methods). */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** Bytes allowed in a header value: visible ASCII, space, tab and obs-text; no other control byte. */
export const VALUE = new Uint8Array(256);
VALUE[TAB] = 1;
for (let c = 0x20; c <= 0xff; c++) VALUE[c] = c === 0x7f ? 0 : 1;

/**
 * Header lines to leave out of a head (hop-by-hop ones), in order. Fixed arrays reused for every
 * message: emptying a JS array (`length = 0`) costs a runtime call on the hot path, this a store.
 */
export class LineRanges {
  count = 0;
  private readonly starts = new Int32Array(MAX_HEADERS);
  private readonly ends = new Int32Array(MAX_HEADERS);

  clear(): void {
    this.count = 0;
  }

  /** Adds a line, keeping the ranges sorted (lines are mostly added in order); a line already in is ignored. */
  add(start: number, end: number): void {
    let index = this.count;
    for (let k = 0; k < index; k++) if (this.starts[k] === start) return;
    while (index > 0 && this.starts[index - 1]! > start) {
      this.starts[index] = this.starts[index - 1]!;
      this.ends[index] = this.ends[index - 1]!;
      index--;
    }
    this.starts[index] = start;
    this.ends[index] = end;
    this.count++;
  }

  /** Total bytes of the ranges. */
  bytes(): number {
    let total = 0;
    for (let k = 0; k < this.count; k++) total += this.ends[k]! - this.starts[k]!;
    return total;
  }

  /** Copies `source[from, to)` into `target` at `offset` without the ranges; returns the new offset. */
  copyKept(source: Buffer, from: number, to: number, target: Buffer, offset: number): number {
    let position = from;
    for (let k = 0; k < this.count; k++) {
      const start = this.starts[k]!;
      if (start > position) offset += source.copy(target, offset, position, start);
      position = this.ends[k]!;
    }
    if (to > position) offset += source.copy(target, offset, position, to);
    return offset;
  }
}

/** Whether `buffer[start, start + name.length)` is `name` (lower case), ignoring ASCII case. */
export function nameIs(buffer: Buffer, start: number, length: number, name: string): boolean {
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) {
    if ((buffer[start + i]! | 0x20) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** Parses a decimal Content-Length; -1 when it is not one. */
export function parseLength(buffer: Buffer, start: number, end: number): number {
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
export const CONNECTION_CLOSE = 1;
export const CONNECTION_KEEP_ALIVE = 2;
export const CONNECTION_UPGRADE = 4;
/** It also names other headers, hop-by-hop for this message. */
export const CONNECTION_OTHER = 8;

/** Reads the comma-separated tokens of a Connection header value into CONNECTION_* bits. */
export function connectionTokens(buffer: Buffer, start: number, end: number): number {
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
export function connectionNames(buffer: Buffer, start: number, end: number): string[] {
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

/** Marks header lines whose names a Connection header listed. */
export function dropListed(buffer: Buffer, headEnd: number, names: string[], dropped: LineRanges): void {
  let i = buffer.indexOf(LF) + 1;
  while (i < headEnd - 2) {
    const lineEnd = buffer.indexOf(LF, i) + 1;
    const colon = buffer.indexOf(COLON, i);
    if (isListed(names, buffer, i, colon - i)) dropped.add(i, lineEnd);
    i = lineEnd;
  }
}
