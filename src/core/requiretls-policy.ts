/**
 * REQUIRETLS policy for a destination (RFC 8689, spec §7.6): how strictly a message that asked
 * for REQUIRETLS must be protected on the way to this next-hop domain.
 *
 * Decides: the policy for a domain. A configured `smtpRequiretlsPolicy` table is consulted first:
 * the domain itself, then `.parent` keys (".example.com" matches every subdomain of example.com),
 * then "*". With no match (or an empty table) Postfix's default applies: `$mydomain`,
 * `.$mydomain`, `localhost` and every IP literal → `opportunistic`; everything else → `enforce`.
 * Never: decides whether the message requested REQUIRETLS, or what a failure looks like.
 */
import { isIpv4Address, isIpv6Address } from './ip-address.ts';
import type { ResolvedOptions } from './options.ts';
import type { RequireTlsPolicy } from './types.ts';

/** Strip brackets, an "ipv6:" prefix, a ":port" and a trailing dot: "[ipv6:::1]:25" → "::1". */
export function requireTlsDomain(nexthop: string): string {
  let d = nexthop.trim().toLowerCase();
  if (d.startsWith('[')) {
    const close = d.indexOf(']');
    d = close < 0 ? d.slice(1) : d.slice(1, close);
    if (d.startsWith('ipv6:')) d = d.slice(5);
    return d;
  }
  if (!isIpv6Address(d)) {
    const colon = d.lastIndexOf(':');
    if (colon >= 0) d = d.slice(0, colon);
  }
  return d.endsWith('.') ? d.slice(0, -1) : d;
}

/** Postfix's default table. */
export function defaultRequireTlsPolicy(domain: string, mydomain: string): RequireTlsPolicy {
  const d = requireTlsDomain(domain);
  const my = mydomain.toLowerCase();
  if (d === 'localhost' || isIpv4Address(d) || isIpv6Address(d)) return 'opportunistic';
  if (my !== '' && (d === my || d.endsWith(`.${my}`))) return 'opportunistic';
  return 'enforce';
}

/** The REQUIRETLS policy for a next-hop domain (no [] or port needed; they are stripped). */
export function requireTlsPolicyFor(
  domain: string,
  opts: Pick<ResolvedOptions, 'smtpRequiretlsPolicy' | 'mydomain'>,
): RequireTlsPolicy {
  const d = requireTlsDomain(domain);
  const table = new Map(Object.entries(opts.smtpRequiretlsPolicy).map(([k, v]) => [k.toLowerCase(), v]));
  if (table.size > 0) {
    const exact = table.get(d);
    if (exact !== undefined) return exact;
    const labels = d.split('.');
    for (let i = 1; i < labels.length; i++) {
      const parent = table.get(`.${labels.slice(i).join('.')}`);
      if (parent !== undefined) return parent;
    }
    const star = table.get('*');
    if (star !== undefined) return star;
  }
  return defaultRequireTlsPolicy(d, opts.mydomain);
}
