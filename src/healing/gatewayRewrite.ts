// How heads are rewritten on their way through the gateway: hop-by-hop headers out, X-Forwarded-*
// and x-rebound-replica in, each message built into one buffer (with the body bytes that came along)
// so that it leaves in one write.

import type { RequestHead } from './gatewayRequestHead.ts';
import type { ResponseHead } from './gatewayResponseHead.ts';

const CRLF = Buffer.from('\r\n', 'latin1');
const FORWARDED_PROTO = Buffer.from('x-forwarded-proto: http\r\n', 'latin1');
const FORWARDED_HOST = Buffer.from('x-forwarded-host: ', 'latin1');
const FORWARDED_FOR = Buffer.from('x-forwarded-for: ', 'latin1');
const LIST_SEPARATOR = Buffer.from(', ', 'latin1');
export const CONNECTION_KEEP_ALIVE = Buffer.from('connection: keep-alive\r\n', 'latin1');
export const CONNECTION_CLOSE = Buffer.from('connection: close\r\n', 'latin1');
export const CONNECTION_UPGRADE = Buffer.from('connection: upgrade\r\n', 'latin1');
export const NO_LINE = Buffer.alloc(0);

/**
 * The request as it goes upstream, with `buffer[headEnd, bodyEnd)` (the body received with the head)
 * behind it. X-Forwarded-For gets the client's `address` appended; X-Forwarded-Proto and -Host are
 * set unless a proxy in front set them. HTTP/1.0 requests ask the upstream for keep-alive, so that
 * the upstream connection can be reused whatever the client does.
 */
export function requestForUpstream(
  head: RequestHead,
  buffer: Buffer,
  headEnd: number,
  bodyEnd: number,
  address: Buffer,
): Buffer {
  const hostLength = head.hostStart >= 0 && !head.hasForwardedHost ? head.hostEnd - head.hostStart : -1;
  const previousFor = head.forwardedForStart >= 0 ? head.forwardedForEnd - head.forwardedForStart : -1;
  const connection = head.upgrade ? CONNECTION_UPGRADE : head.http10 ? CONNECTION_KEEP_ALIVE : NO_LINE;
  const size =
    headEnd -
    2 -
    head.dropped.bytes() +
    FORWARDED_FOR.length +
    (previousFor >= 0 ? previousFor + LIST_SEPARATOR.length : 0) +
    address.length +
    2 +
    (head.hasForwardedProto ? 0 : FORWARDED_PROTO.length) +
    (hostLength >= 0 ? FORWARDED_HOST.length + hostLength + 2 : 0) +
    connection.length +
    2 +
    (bodyEnd - headEnd);
  const out = Buffer.allocUnsafe(size);
  let offset = head.dropped.copyKept(buffer, 0, headEnd - 2, out, 0);
  offset += FORWARDED_FOR.copy(out, offset);
  if (previousFor >= 0) {
    offset += buffer.copy(out, offset, head.forwardedForStart, head.forwardedForEnd);
    offset += LIST_SEPARATOR.copy(out, offset);
  }
  offset += address.copy(out, offset);
  offset += CRLF.copy(out, offset);
  if (!head.hasForwardedProto) offset += FORWARDED_PROTO.copy(out, offset);
  if (hostLength >= 0) {
    offset += FORWARDED_HOST.copy(out, offset);
    offset += buffer.copy(out, offset, head.hostStart, head.hostEnd);
    offset += CRLF.copy(out, offset);
  }
  offset += connection.copy(out, offset);
  offset += CRLF.copy(out, offset);
  buffer.copy(out, offset, headEnd, bodyEnd);
  return out;
}

/**
 * The response head as it goes to the client, plus `buffer[headEnd, bodyEnd)`: the hop-by-hop
 * headers out, `replica` (an `x-rebound-replica` line, or nothing) and `connection` (a Connection
 * line, or nothing) in.
 */
export function responseForClient(
  response: ResponseHead,
  buffer: Buffer,
  headEnd: number,
  bodyEnd: number,
  replica: Buffer,
  connection: Buffer,
): Buffer {
  const out = Buffer.allocUnsafe(
    headEnd - response.dropped.bytes() + replica.length + connection.length + (bodyEnd - headEnd),
  );
  let offset = response.dropped.copyKept(buffer, 0, headEnd - 2, out, 0);
  offset += replica.copy(out, offset);
  offset += connection.copy(out, offset);
  offset += CRLF.copy(out, offset);
  buffer.copy(out, offset, headEnd, bodyEnd);
  return out;
}
