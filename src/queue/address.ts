/**
 * RFC 5321 mailbox syntax (with RFC 6531 SMTPUTF8 extensions) for envelope addresses.
 *
 * Decides: whether a string is a Mailbox (Local-part "@" Domain / address-literal), the length
 * limits (local part 64, domain 255, path 256 octets), and where UTF-8 is allowed.
 * Never: does DNS, lower-cases or rewrites the address, accepts source routes or the bare
 * "postmaster" recipient.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const LOCAL_PART_MAX = 64;
export const DOMAIN_MAX = 255;
/** Path = "<" Mailbox ">": 256 octets, so a Mailbox has at most 254. */
export const PATH_MAX = 256;

export type AddressCheck = { ok: true; local: string; domain: string } | { ok: false; error: string };

const ATEXT_ASCII = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;
const ATEXT_UTF8 = /^(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]|[\u0080-\u{10ffff}])+$/u;
const LABEL_ASCII = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const LABEL_UTF8 = /^[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]*[\p{L}\p{N}\p{M}])?$/u;
const CTL = /[\r\n\0]/;

const octets = (s: string): number => Buffer.byteLength(s, 'utf8');

/** True when the string contains a non-ASCII character. */
export function hasNonAscii(s: string): boolean {
  return /[\u0080-\u{10ffff}]/u.test(s);
}

/** Splits at the last "@" not inside the quoted local part. */
function splitMailbox(addr: string): { local: string; domain: string } | undefined {
  const at = addr.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { local: addr.slice(0, at), domain: addr.slice(at + 1) };
}

function checkLocalPart(local: string, utf8: boolean): string | undefined {
  if (octets(local) > LOCAL_PART_MAX) return `local part longer than ${LOCAL_PART_MAX} octets`;
  if (local.startsWith('"')) return checkQuotedString(local, utf8);
  const atext = utf8 ? ATEXT_UTF8 : ATEXT_ASCII;
  if (!local.split('.').every((atom) => atext.test(atom))) {
    return 'local part is neither a dot-string nor a quoted-string';
  }
  return undefined;
}

function checkQuotedString(q: string, utf8: boolean): string | undefined {
  if (q.length < 2 || !q.endsWith('"')) return 'unterminated quoted-string in local part';
  const inner = q.slice(1, -1);
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (c === 0x5c) {
      const next = inner.charCodeAt(i + 1);
      if (!(next >= 32 && next <= 126)) return 'bad quoted-pair in local part';
      i++;
    } else if (c === 0x22) {
      return "unescaped '\"' in quoted local part";
    } else if (c > 0x7f ? !utf8 : c < 32 || c > 126) {
      return 'bad character in quoted local part';
    }
  }
  return undefined;
}

function checkLiteral(domain: string): string | undefined {
  const inner = domain.slice(1, -1);
  if (!domain.endsWith(']')) return 'missing "]" in address literal';
  if (/^ipv6:/i.test(inner)) {
    return isIPv6(inner.slice(5)) ? undefined : `bad IPv6 address literal ${domain}`;
  }
  return isIPv4(inner) ? undefined : `bad address literal ${domain}`;
}

function checkDomain(domain: string, utf8: boolean): string | undefined {
  if (domain === '') return 'empty domain';
  if (octets(domain) > DOMAIN_MAX) return `domain longer than ${DOMAIN_MAX} octets`;
  if (domain.startsWith('[')) return checkLiteral(domain);
  const label = utf8 ? LABEL_UTF8 : LABEL_ASCII;
  for (const part of domain.split('.')) {
    if (part === '') return `empty label in domain ${domain}`;
    if (octets(part) > 63) return 'domain label longer than 63 octets';
    if (!label.test(part)) return `bad domain syntax ${domain}`;
  }
  return undefined;
}

/**
 * Checks one envelope address. `smtputf8` allows UTF-8 in local part and domain (RFC 6531).
 * The null address '' is not a mailbox: callers allow it for the sender themselves.
 */
export function checkMailbox(addr: string, smtputf8: boolean): AddressCheck {
  if (CTL.test(addr)) return { ok: false, error: 'contains CR, LF or NUL' };
  if (addr === '') return { ok: false, error: 'empty address' };
  if (hasNonAscii(addr) && !smtputf8) {
    return { ok: false, error: 'non-ASCII address requires smtputf8: true' };
  }
  if (octets(addr) + 2 > PATH_MAX) return { ok: false, error: `path longer than ${PATH_MAX} octets` };
  const parts = splitMailbox(addr);
  if (parts === undefined) return { ok: false, error: 'missing "@domain"' };
  const bad = checkLocalPart(parts.local, smtputf8) ?? checkDomain(parts.domain, smtputf8);
  return bad === undefined ? { ok: true, ...parts } : { ok: false, error: bad };
}

/** Duplicate-detection key: local part as written, domain lower-cased (RFC 5321 §2.4). */
export function mailboxKey(local: string, domain: string): string {
  return `${local}@${domain.toLowerCase()}`;
}

/** The next-hop a domain implies: lower-cased; "[IPv6:x]" becomes "[x]". */
export function domainNexthop(domain: string): string {
  const d = domain.toLowerCase();
  return d.startsWith('[ipv6:') ? `[${d.slice(6)}` : d;
}
