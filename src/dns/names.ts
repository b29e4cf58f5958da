/**
 * Query-name checks and Postfix-worded DNS error texts for the node:dns adapter.
 *
 * Decides: how a name becomes the ASCII (A-label) query name, whether a name is a valid host
 * name (Postfix valid_hostname), and which class and text a node:dns error code maps to.
 * Never: performs lookups.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { isValidHostname as isCoreHostname } from '../core/nexthop.ts';
import type { DnsAnswer, DnsClass, DnsType } from '../core/ports.ts';

/**
 * Postfix valid_hostname() for names in DNS data: core's host-name rule (letters, digits, '-'
 * and '_'; no '-' at label edges; not all-numeric) restricted to ASCII (A-labels only).
 */
export function isValidHostname(name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: an ASCII range test
  return /^[\x00-\x7f]*$/.test(name) && isCoreHostname(name);
}

/** One trailing dot removed (DNS names from answers and users may carry it). */
export function stripTrailingDot(name: string): string {
  return name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
}

/** The ASCII query name for `name`, or undefined when it is numeric, unconvertible or invalid. */
export function toQueryName(name: string): string | undefined {
  const bare = stripTrailingDot(name.trim());
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range test
  const ascii = /^[\x00-\x7f]*$/.test(bare) ? bare : domainToASCII(bare);
  if (ascii === '' || isIP(ascii) !== 0 || !isValidHostname(ascii)) return undefined;
  return ascii;
}

export function invalidNameAnswer(name: string, type: DnsType): DnsAnswer {
  return { class: 'NOTFOUND', type, text: `Name service error for ${name}: invalid host or domain name` };
}

export function malformedReplyText(qname: string, type: DnsType): string {
  return `Name service error for name=${qname} type=${type}: Malformed or unexpected name server reply`;
}

function resolverErrorText(qname: string, type: DnsType, text: string): string {
  return `Host or domain name not found. Name service error for name=${qname} type=${type}: ${text}`;
}

const NON_RECOVERABLE = new Set(['EREFUSED', 'EFORMERR', 'ENOTIMP']);

/** Map a node:dns error code (ENOTFOUND, ENODATA, ESERVFAIL, ...) to a failed DnsAnswer. */
export function errorAnswer(code: string | undefined, qname: string, type: DnsType): DnsAnswer {
  const fail = (cls: Exclude<DnsClass, 'OK'>, text: string): DnsAnswer => ({ class: cls, type, text });
  if (code === 'ENOTFOUND') return fail('NOTFOUND', resolverErrorText(qname, type, 'Host not found'));
  if (code === 'ENODATA') {
    return fail(
      'NOTFOUND',
      resolverErrorText(qname, type, 'Host found but no data record of requested type'),
    );
  }
  if (code === 'EBADNAME') return invalidNameAnswer(qname, type);
  if (code === 'EBADRESP') return fail('RETRY', malformedReplyText(qname, type));
  if (code !== undefined && NON_RECOVERABLE.has(code)) {
    return fail('FAIL', resolverErrorText(qname, type, 'Non-recoverable error'));
  }
  return fail('RETRY', resolverErrorText(qname, type, 'Host not found, try again'));
}

/** Answer for a successful query that returned no record of the type (c-ares gives []). */
export function noDataAnswer(qname: string, type: DnsType): DnsAnswer {
  return errorAnswer('ENODATA', qname, type);
}
