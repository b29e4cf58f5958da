/**
 * Bearer-token checks of mxq's HTTP side-services.
 *
 * Decides: a request is authenticated by `Authorization: Bearer <token>` (or, for browsers, the
 * cookie named by the caller), compared in constant time.
 * Never: logs or echoes a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** The bearer token of an Authorization header value, if any. */
export function bearerOf(header: string | undefined | null): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** The value of cookie `name` in a Cookie header, if any. */
export function cookieOf(header: string | undefined | null, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}
