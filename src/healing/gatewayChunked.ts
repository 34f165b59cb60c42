// ChunkedScanner: follows a chunked body through its bytes to find where it ends.

import { CR, LF, SPACE, TAB, TOKEN } from './gatewayHttp.ts';

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
