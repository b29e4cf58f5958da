/**
 * IP address literals: recognising IPv4 and IPv6 text forms and comparing them.
 *
 * Decides: whether a string is a dotted-quad IPv4 address (no leading zeros) or an RFC 4291 IPv6
 * address (optional trailing dotted quad), its family, and a canonical form for comparisons.
 * Never: resolves names or looks at interfaces.
 */

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

/** A dotted-quad IPv4 address: four decimal octets 0..255, no leading zeros. */
export function isIpv4Address(s: string): boolean {
  return IPV4.test(s);
}

/** An IPv6 address (RFC 4291 text form, optional trailing dotted quad, no zone id). */
export function isIpv6Address(s: string): boolean {
  return !s.includes('%') && expandIpv6(s) !== undefined;
}
