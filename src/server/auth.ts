// Who may call the API (SPEC 4.2a): with a token set, every mutating call needs
// `Authorization: Bearer <token>`, and reads too unless the server listens on loopback only.

import { createHash, timingSafeEqual } from 'node:crypto';

export interface AccessRule {
  /** `server.token`; without one every call is allowed (config checks require it off loopback). */
  readonly token: string | undefined;
  /** The server listens on a loopback address only: reads need no token there. */
  readonly loopbackOnly: boolean;
}

/** Whether a call may go ahead; `mutating` is anything but a read. */
export function isAllowed(
  rule: AccessRule,
  mutating: boolean,
  authorization: string | readonly string[] | undefined,
): boolean {
  if (rule.token === undefined || rule.token === '') return true;
  if (!mutating && rule.loopbackOnly) return true;
  return bearerMatches(authorization, rule.token);
}

/** `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235), compared in constant time. */
export function bearerMatches(authorization: string | readonly string[] | undefined, token: string): boolean {
  if (typeof authorization !== 'string') return false;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match) return false;
  // Digests have equal lengths, so the comparison takes the same time whatever the length of the guess.
  return timingSafeEqual(digest(match[1]!), digest(token));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
