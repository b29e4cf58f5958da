/**
 * Self detection for loop prevention (Postfix smtp_find_self / smtp_truncate_self), plus the
 * small pure IP-literal helpers it needs.
 *
 * Decides: whether a string is an IPv4/IPv6 literal, when two addresses are equal, which
 * resolved address is "me" (inetInterfaces ∪ proxyInterfaces), and where the list is cut.
 * Never: looks up interfaces or names; decides DSNs (resolve.ts does).
 */
import type { Endpoint } from './types.ts';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function ipv6Groups(part: string): string[] | undefined {
  if (part === '') return [];
  const groups = part.split(':');
  return groups.every((g) => HEX_GROUP.test(g)) ? groups : undefined;
}

/** Expand an IPv6 literal to eight lower-case 4-digit groups; undefined when not IPv6. */
export function expandIpv6(addr: string): string | undefined {
  let text = addr.toLowerCase();
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail?.[1] !== undefined && tail[2] !== undefined) {
    if (!IPV4.test(tail[2])) return undefined;
    const [a, b, c, d] = tail[2].split('.').map(Number) as [number, number, number, number];
    text = `${tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = ipv6Groups(halves[0] ?? '');
  const rest = halves.length === 2 ? ipv6Groups(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array.from({ length: missing }, () => '0'), ...rest];
  return all.map((g) => g.padStart(4, '0')).join(':');
}

/** 4 or 6 when `s` is a numeric IPv4 / IPv6 address, else undefined. */
export function ipFamily(s: string): 4 | 6 | undefined {
  if (IPV4.test(s)) return 4;
  return s.includes(':') && expandIpv6(s) !== undefined ? 6 : undefined;
}

/** Canonical form for comparisons (IPv4 as is, IPv6 expanded); undefined when not an address. */
export function canonicalIp(s: string): string | undefined {
  const fam = ipFamily(s);
  if (fam === 4) return s;
  return fam === 6 ? expandIpv6(s) : undefined;
}

/** This host's addresses for loop detection: inetInterfaces ∪ proxyInterfaces (non-addresses ignored). */
export function ownAddresses(
  inetInterfaces: readonly string[],
  proxyInterfaces: readonly string[],
): Set<string> {
  const own = new Set<string>();
  for (const entry of [...inetInterfaces, ...proxyInterfaces]) {
    const c = canonicalIp(entry.trim().replace(/^\[(.*)\]$/, '$1'));
    if (c !== undefined) own.add(c);
  }
  return own;
}

/** Index of the first endpoint whose address is one of `own`, or -1. */
export function findSelf(list: readonly Endpoint[], own: ReadonlySet<string>): number {
  return list.findIndex((ep) => {
    const c = canonicalIp(ep.address);
    return c !== undefined && own.has(c);
  });
}

/** Cut the (preference-sorted) list at the first entry with preference `pref` (Postfix smtp_truncate_self). */
export function truncateAtPreference(list: readonly Endpoint[], pref: number): Endpoint[] {
  const cut = list.findIndex((ep) => ep.preference === pref);
  return cut < 0 ? [...list] : list.slice(0, cut);
}
