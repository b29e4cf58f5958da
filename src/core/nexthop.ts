/**
 * Next-hop syntax (Postfix host_port.c + smtp_connect.c): one list element → where and how to look.
 *
 * Decides: how a next-hop list splits into elements; for one element, host or socket path,
 * bracketed or not, IP literal family, service and port, loop detection, and the lookup mode
 * (MX, host A/AAAA, literal, UNIX socket, SRV service). Errors use Postfix's wording
 * ("missing \"]\" in server description: [x").
 * Never: does DNS (IDNA conversion of U-labels happens in the DNS adapter), reads services(5):
 * a service is either a name from `knownTcpPorts` or a number 1..65535; any other name is the
 * error `unknown service: NAME/tcp` (documented in docs/configuration.md).
 *
 * Deliberate difference from Postfix (spec §12.2): in LMTP mode Postfix strips one `unix:`/`inet:`
 * prefix from the start of the *whole* next-hop string, so a later list element written
 * `inet:host:port` fails the host check and is fatal. mxq parses each list element on its own, so
 * **every** element may carry `inet:` or `unix:`. This is what people write and what the Postfix
 * documentation suggests; nothing that Postfix accepts is parsed differently. SMTP mode never
 * recognises these prefixes (a host may be named `inet`).
 */
import { isIpv4Address, isIpv6Address } from './ip-address.ts';
import type { ResolvedOptions } from './options.ts';
import type { Protocol } from './types.ts';

export interface NexthopTarget {
  /** The element as written. */
  raw: string;
  kind: 'inet' | 'unix';
  /** Host name or address without brackets (an IPv6 literal without `ipv6:`); the path for unix. */
  host: string;
  bracketed: boolean;
  /** Set when host is an IP address (bracketed or not). */
  literal?: 4 | 6;
  /** Service as written or the default (`smtpTcpPort` / `lmtpTcpPort`); '' for unix. */
  service: string;
  /** TCP port; 0 for unix. */
  port: number;
  /** SMTP mode and port 25 (follows the next-hop port, never an SRV port). */
  loopDetect: boolean;
  lookup: 'mx' | 'host' | 'literal' | 'unix';
  /** Set when the service is listed in `useSrvLookup` and the element is not bracketed or a literal. */
  srvService?: string;
}

export type NexthopParse = { ok: true; target: NexthopTarget } | { ok: false; error: string };

type NexthopOptions = Pick<
  ResolvedOptions,
  'knownTcpPorts' | 'smtpTcpPort' | 'lmtpTcpPort' | 'useSrvLookup' | 'smtpDnsSupportLevel'
>;

/** Split a next-hop list on commas and whitespace; empty pieces are dropped. */
export function splitNexthopList(list: string): string[] {
  return list.split(/[\s,]+/).filter((piece) => piece !== '');
}

/** Replace control characters so that an element can be quoted in an error text. */
function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
  return s.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/**
 * A host name: labels of letters, digits, '-' and '_' (not starting or ending with '-'), U-labels
 * (non-ASCII letters) allowed, label ≤ 63, name ≤ 253, no empty label, not all-numeric.
 */
export function isValidHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) return false;
    if (label.startsWith('-') || label.endsWith('-')) return false;
    if (!/^[\p{L}\p{M}\p{N}_-]+$/u.test(label)) return false;
  }
  return !/^[\d.]+$/.test(s);
}

/** Resolve a service name or number to a port, or return the Postfix error. */
export function servicePort(
  service: string,
  element: string,
  knownTcpPorts: Readonly<Record<string, number>>,
): { ok: true; port: number } | { ok: false; error: string } {
  const known = Object.hasOwn(knownTcpPorts, service) ? knownTcpPorts[service] : undefined;
  const value = known === undefined ? service : String(known);
  if (/^\d+$/.test(value)) {
    const port = Number(value);
    if (port < 1 || port > 65535) {
      return {
        ok: false,
        error: `bad network port: ${printable(value)} for destination: ${printable(element)}`,
      };
    }
    return { ok: true, port };
  }
  return { ok: false, error: `unknown service: ${printable(service)}/tcp` };
}

interface HostPort {
  host: string;
  bracketed: boolean;
  literal?: 4 | 6;
  service?: string;
}

/** Split "host", "host:svc", "[host]", "[host]:svc" (Postfix host_port) and validate the host. */
function splitHostPort(
  spec: string,
  element: string,
): { ok: true; hp: HostPort } | { ok: false; error: string } {
  const fail = (what: string) => ({
    ok: false as const,
    error: `${what} in server description: ${printable(element)}`,
  });
  let host: string;
  let service: string | undefined;
  const bracketed = spec.startsWith('[');
  if (bracketed) {
    const close = spec.indexOf(']');
    if (close < 0) return fail('missing "]"');
    host = spec.slice(1, close);
    const rest = spec.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return fail('garbage after "]"');
    if (rest !== '') service = rest.slice(1);
  } else {
    const colon = spec.lastIndexOf(':');
    host = colon < 0 ? spec : spec.slice(0, colon);
    if (colon >= 0) service = spec.slice(colon + 1);
  }
  if (host === '') return fail('missing host information');
  const hp: HostPort = { host, bracketed };
  if (service !== undefined && service !== '') hp.service = service;
  if (bracketed && /^ipv6:/i.test(host)) {
    const addr = host.slice(5);
    if (!isIpv6Address(addr)) return fail('malformed IPv6 address');
    return { ok: true, hp: { ...hp, host: addr.toLowerCase(), literal: 6 } };
  }
  if (isIpv4Address(host)) return { ok: true, hp: { ...hp, literal: 4 } };
  if (bracketed && isIpv6Address(host))
    return { ok: true, hp: { ...hp, host: host.toLowerCase(), literal: 6 } };
  if (!isValidHostname(host)) return fail('valid hostname or network address required');
  return { ok: true, hp };
}

/**
 * Parse one next-hop list element for SMTP or LMTP.
 * SMTP: `domain`, `domain:svc`, `[host]`, `[host]:svc`, `[1.2.3.4]`, `[ipv6:2001:db8::1]:svc`.
 * LMTP: additionally `unix:/path`, `inet:host[:svc]`, `inet:[addr]:svc`; bare host[:svc] = inet.
 */
export function parseNexthop(element: string, protocol: Protocol, opts: NexthopOptions): NexthopParse {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: CR, LF, NUL and friends are refused
  if (/[\u0000-\u001f\u007f\s]/.test(element)) {
    return {
      ok: false,
      error: `valid hostname or network address required in server description: ${printable(element)}`,
    };
  }
  let spec = element;
  if (protocol === 'lmtp') {
    if (/^unix:/i.test(spec)) {
      const path = spec.slice(5);
      if (path === '')
        return { ok: false, error: `missing host information in server description: ${printable(element)}` };
      const target: NexthopTarget = {
        raw: element,
        kind: 'unix',
        host: path,
        bracketed: false,
        service: '',
        port: 0,
        loopDetect: false,
        lookup: 'unix',
      };
      return { ok: true, target };
    }
    if (/^inet:/i.test(spec)) spec = spec.slice(5);
  }
  const split = splitHostPort(spec, element);
  if (!split.ok) return split;
  const { hp } = split;
  const service = hp.service ?? (protocol === 'lmtp' ? opts.lmtpTcpPort : opts.smtpTcpPort);
  const port = servicePort(service, element, opts.knownTcpPorts);
  if (!port.ok) return port;
  const nonDns = opts.smtpDnsSupportLevel === 'disabled' || hp.bracketed;
  let lookup: NexthopTarget['lookup'];
  if (hp.literal !== undefined) lookup = 'literal';
  else if (nonDns || protocol === 'lmtp') lookup = 'host';
  else lookup = 'mx';
  const target: NexthopTarget = {
    raw: element,
    kind: 'inet',
    host: hp.host,
    bracketed: hp.bracketed,
    service,
    port: port.port,
    loopDetect: protocol === 'smtp' && port.port === 25,
    lookup,
  };
  if (hp.literal !== undefined) target.literal = hp.literal;
  if (!nonDns && hp.literal === undefined && opts.useSrvLookup.includes(service)) target.srvService = service;
  return { ok: true, target };
}
