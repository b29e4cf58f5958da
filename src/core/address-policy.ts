/**
 * The address policy (G25, SSRF): which server addresses a delivery to a *recipient's own domain*
 * may connect to.
 *
 * The recipient address is chosen by whoever calls the API; the MX and A/AAAA records of its domain
 * are chosen by whoever controls that domain's DNS. Neither should be able to make mxq connect to
 * this host, the operator's internal network or a cloud metadata endpoint. So when the next-hop is a
 * recipient's domain (or domain literal), mxq refuses loopback, private, link-local, CGNAT,
 * unique-local, IPv4-mapped, NAT64-to-special, documentation, multicast and other special-use
 * addresses, and numeric MX host names, unless the address is on `smtpAddressAllowlist`.
 * Next-hops that the operator or application wrote (relayhost, fallback relays, an explicit
 * `nexthop`, transport-map next-hops, LMTP) are trusted and never filtered.
 *
 * Decides: whether a next-hop is subject to the policy, the special-range name of an address, and
 * whether an address is allowed; parses allowlist entries ("127.0.0.0/8", "::1", "10.1.2.3").
 * Never: resolves names or connects; decides the DSN status (resolve.ts treats a refused address
 * like a missing one, as Postfix treats records dropped by smtp_dns_reply_filter).
 */
import { expandIpv6, ipFamily } from './ip-address.ts';
import type { Protocol, Recipient } from './types.ts';

interface Range {
  family: 4 | 6;
  bytes: number[];
  bits: number;
}

function ipBytes(addr: string): { family: 4 | 6; bytes: number[] } | undefined {
  const family = ipFamily(addr);
  if (family === 4) return { family, bytes: addr.split('.').map(Number) };
  if (family !== 6) return undefined;
  const expanded = expandIpv6(addr);
  if (expanded === undefined) return undefined;
  const bytes: number[] = [];
  for (const g of expanded.split(':')) {
    const n = Number.parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  return { family, bytes };
}

/** "10.0.0.0/8", "fd00::/8", "127.0.0.1" (a single address) → a range; undefined when malformed. */
export function parseCidr(text: string): Range | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const ip = ipBytes(addr);
  if (ip === undefined) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > max) return undefined;
  return { family: ip.family, bytes: ip.bytes, bits };
}

function inRange(ip: { family: 4 | 6; bytes: number[] }, r: Range): boolean {
  if (ip.family !== r.family) return false;
  for (let bit = 0; bit < r.bits; bit += 8) {
    const i = bit / 8;
    const take = Math.min(8, r.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== ((r.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

function table(entries: ReadonlyArray<[string, string]>): ReadonlyArray<[Range, string]> {
  const out: Array<[Range, string]> = [];
  for (const [cidr, name] of entries) {
    const r = parseCidr(cidr);
    if (r !== undefined) out.push([r, name]);
  }
  return out;
}

/** IANA special-purpose registries (RFC 6890 and successors), most specific first where nested. */
const SPECIAL_V4 = table([
  ['0.0.0.0/8', '"this network"'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const SPECIAL_V6 = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::ffff:0:0/96', 'IPv4-mapped'],
  ['::/96', 'IPv4-compatible'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'IETF protocol assignment'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment routing'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
]);

const NAT64 = parseCidr('64:ff9b::/96');
const SIX_TO_FOUR = parseCidr('2002::/16');

/**
 * The special-use class of an address ("loopback", "private", ...), or undefined for an ordinary
 * global unicast address. NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are special when the
 * IPv4 address they embed is. A string that is not an IP address is "non-IP".
 */
export function specialAddressClass(addr: string): string | undefined {
  const ip = ipBytes(addr);
  if (ip === undefined) return 'non-IP';
  const list = ip.family === 4 ? SPECIAL_V4 : SPECIAL_V6;
  for (const [r, name] of list) if (inRange(ip, r)) return name;
  if (ip.family === 6) {
    const nat64 = NAT64 !== undefined && inRange(ip, NAT64);
    const sixToFour = SIX_TO_FOUR !== undefined && inRange(ip, SIX_TO_FOUR);
    const embedded = nat64 ? ip.bytes.slice(12, 16) : sixToFour ? ip.bytes.slice(2, 6) : undefined;
    if (embedded !== undefined) {
      const inner = specialAddressClass(embedded.join('.'));
      if (inner !== undefined) return `${nat64 ? 'NAT64' : '6to4'} of ${inner}`;
    }
  }
  return undefined;
}

/** The allowlist entries that are malformed (for a clear configuration error). */
export function badAllowlistEntries(allowlist: readonly string[]): string[] {
  return allowlist.filter((e) => parseCidr(e) === undefined);
}

export function onAllowlist(addr: string, allowlist: readonly string[]): boolean {
  const ip = ipBytes(addr);
  if (ip === undefined) return false;
  return allowlist.some((e) => {
    const r = parseCidr(e);
    return r !== undefined && inRange(ip, r);
  });
}

/** Why `addr` may not be connected to, or undefined when it may. */
export function refusedAddress(addr: string, allowlist: readonly string[]): string | undefined {
  const cls = specialAddressClass(addr);
  if (cls === undefined || onAllowlist(addr, allowlist)) return undefined;
  return `${cls} address`;
}

/**
 * Whether the policy applies to a next-hop: SMTP to a TCP destination that is one of the
 * recipients' own domains (or domain literals), as the queue derives it when no relayhost or
 * explicit next-hop is set.
 */
export function isRecipientDestination(
  /** A parsed next-hop (nexthop.ts NexthopTarget; structural here, so options.ts can import this module). */
  target: { kind: string; host?: string; bracketed?: boolean },
  recipients: readonly Recipient[],
  protocol: Protocol,
): boolean {
  if (protocol !== 'smtp' || target.kind !== 'inet' || target.host === undefined) return false;
  const hop = (target.bracketed ? `[${target.host}]` : target.host).toLowerCase();
  return recipients.some((r) => {
    const d = r.address.slice(r.address.lastIndexOf('@') + 1).toLowerCase();
    return (d.startsWith('[ipv6:') ? `[${d.slice(6)}` : d) === hop;
  });
}
