/**
 * Routing at delivery time (Postfix trivial-rewrite + transport(5)): which transport and next-hop
 * one delivery request uses, decided by the worker from its own configuration at every attempt.
 *
 * Decides, in this order: an explicit next-hop the application asked for (kept as is, with its
 * transport); a `transportMaps` entry for the recipient domain (exact domain, then `.parent`
 * entries from the closest parent up, then `*`); `relayhost`; else the recipient domain (MX
 * lookup). A transport-map result is `transport:nexthop` (`smtp` or `lmtp`; an empty transport is
 * smtp, an empty next-hop is the recipient domain, as in transport(5)); fallback relays are added
 * later by route-plan.ts. Also: the start-up check of `transportMaps` and `relayhost` (an error
 * names the key and the value), and the rule that reads old job data (a stored next-hop equal to
 * the recipient domain means "no explicit next-hop").
 * Never: resolves names, reads the clock, or throws at delivery time: a route it cannot use is a
 * `{ ok: false }` value that the caller defers with 4.3.5 (Postfix's configuration problem).
 */
import { parseNexthop, splitNexthopList } from './nexthop.ts';
import type { ResolvedOptions } from './options.ts';
import type { AttemptResult, Protocol, Recipient, RecipientResult } from './types.ts';

/** What a delivery job carries for routing. */
export interface RouteInput {
  /** Recipient domain, lower-case (the job's grouping key). */
  domain: string;
  /** Next-hop the application asked for explicitly; absent = the worker decides. */
  nexthop?: string;
  /** Transport of the explicit next-hop (ignored without one). */
  transport: Protocol;
}

export interface Route {
  transport: Protocol;
  nexthop: string;
  /** Where the route came from (logged with the attempt). */
  source: 'explicit' | 'transport-map' | 'relayhost' | 'mx';
}

export type RouteDecision = { ok: true; route: Route } | { ok: false; error: string };

type RouteOptions = Pick<
  ResolvedOptions,
  | 'transportMaps'
  | 'relayhost'
  | 'destinationKey'
  | 'knownTcpPorts'
  | 'smtpTcpPort'
  | 'lmtpTcpPort'
  | 'useSrvLookup'
  | 'smtpDnsSupportLevel'
>;

/** A recipient domain as a next-hop: lower-case; `[ipv6:...]` literal domains lose the tag. */
export function domainAsNexthop(domain: string): string {
  const d = domain.toLowerCase();
  return d.startsWith('[ipv6:') ? `[${d.slice(6)}` : d;
}

/** The parts of one transport-map value. */
export type TransportValue =
  | { ok: true; transport: Protocol; nexthop: string }
  | { ok: false; error: string };

/** Split `transport:nexthop` (transport(5) result format); only smtp and lmtp transports exist. */
export function parseTransportValue(value: string): TransportValue {
  const colon = value.indexOf(':');
  const name = (colon < 0 ? value : value.slice(0, colon)).trim().toLowerCase();
  const nexthop = colon < 0 ? '' : value.slice(colon + 1).trim();
  const transport: Protocol | undefined =
    name === '' || name === 'smtp' ? 'smtp' : name === 'lmtp' ? 'lmtp' : undefined;
  if (transport === undefined) return { ok: false, error: `unknown transport "${name}" (smtp or lmtp)` };
  return { ok: true, transport, nexthop };
}

/** The transport-map entry for a domain: exact, `.parent` (closest first), then `*`. */
export function transportMapLookup(
  map: Readonly<Record<string, string>>,
  domain: string,
): { key: string; value: string } | undefined {
  const d = domain.toLowerCase();
  const get = (key: string) => (Object.hasOwn(map, key) ? map[key] : undefined);
  const exact = get(d);
  if (exact !== undefined) return { key: d, value: exact };
  for (let dot = d.indexOf('.'); dot >= 0; dot = d.indexOf('.', dot + 1)) {
    const key = d.slice(dot);
    const v = get(key);
    if (v !== undefined) return { key, value: v };
  }
  const star = get('*');
  return star === undefined ? undefined : { key: '*', value: star };
}

/** Every element of a next-hop list parses for this transport; else the first error. */
function checkNexthopList(nexthop: string, transport: Protocol, opts: RouteOptions): string | undefined {
  const elements = splitNexthopList(nexthop);
  if (elements.length === 0) return `null destination: "${nexthop}"`;
  for (const el of elements) {
    const p = parseNexthop(el, transport, opts);
    if (!p.ok) return p.error;
  }
  return undefined;
}

/** The route of one delivery request under the worker's configuration. */
export function decideRoute(input: RouteInput, opts: RouteOptions): RouteDecision {
  const domainHop = domainAsNexthop(input.domain);
  let route: Route;
  let where: string;
  const entry = transportMapLookup(opts.transportMaps, input.domain);
  if (input.nexthop !== undefined) {
    route = { transport: input.transport, nexthop: input.nexthop, source: 'explicit' };
    where = 'requested next-hop';
  } else if (entry !== undefined) {
    const v = parseTransportValue(entry.value);
    if (!v.ok) return { ok: false, error: `transportMaps["${entry.key}"] = "${entry.value}": ${v.error}` };
    route = {
      transport: v.transport,
      nexthop: v.nexthop === '' ? domainHop : v.nexthop,
      source: 'transport-map',
    };
    where = `transportMaps["${entry.key}"] = "${entry.value}"`;
  } else if (opts.relayhost !== '') {
    route = { transport: 'smtp', nexthop: opts.relayhost, source: 'relayhost' };
    where = `relayhost = "${opts.relayhost}"`;
  } else {
    return { ok: true, route: { transport: 'smtp', nexthop: domainHop, source: 'mx' } };
  }
  const problem = checkNexthopList(route.nexthop, route.transport, opts);
  if (problem !== undefined) return { ok: false, error: `${where}: ${problem}` };
  return { ok: true, route };
}

/**
 * The start-up check: every transport-map key and value, and relayhost. Returns one problem text
 * per bad entry, each naming the option, the key and the value.
 */
export function checkRoutingOptions(opts: RouteOptions): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(opts.transportMaps)) {
    const where = `transportMaps["${key}"] = "${value}"`;
    if (typeof value !== 'string') {
      problems.push(`transportMaps["${key}"] must be a "transport:nexthop" string`);
      continue;
    }
    if (key !== '*' && !/^\.?[^\s@.][^\s@]*$/.test(key)) {
      problems.push(`${where}: the key must be a domain, ".domain" or "*"`);
      continue;
    }
    const v = parseTransportValue(value);
    if (!v.ok) {
      problems.push(`${where}: ${v.error}`);
      continue;
    }
    if (v.nexthop === '') {
      if (v.transport === 'lmtp') problems.push(`${where}: lmtp needs a next-hop`);
      continue;
    }
    const p = checkNexthopList(v.nexthop, v.transport, opts);
    if (p !== undefined) problems.push(`${where}: ${p}`);
  }
  if (opts.relayhost !== '') {
    const p = checkNexthopList(opts.relayhost, 'smtp', opts);
    if (p !== undefined) problems.push(`relayhost = "${opts.relayhost}": ${p}`);
  }
  if (opts.destinationKey !== 'nexthop' && opts.destinationKey !== 'mx-hosts') {
    problems.push(`destinationKey = "${String(opts.destinationKey)}": must be "nexthop" or "mx-hosts"`);
  }
  return problems;
}

/**
 * Old job data (before routing moved to the worker) stored the next-hop chosen at enqueue. A stored
 * SMTP next-hop equal to the recipient domain was the default route, so it counts as "no explicit
 * next-hop" and the worker routes it; any other stored next-hop (a relayhost of the sending side,
 * or one the application gave) is kept as an explicit next-hop.
 */
export function legacyRouteInput(
  stored: { nexthop: string; transport: Protocol },
  domain: string,
): RouteInput {
  if (stored.transport === 'smtp' && stored.nexthop.toLowerCase() === domainAsNexthop(domain)) {
    return { domain: domain.toLowerCase(), transport: 'smtp' };
  }
  return { domain: domain.toLowerCase(), nexthop: stored.nexthop, transport: stored.transport };
}

/**
 * Every recipient of a request deferred without connecting (a route that cannot be used, or a
 * suspended destination): one soft result each, relay=none, reported through onRecipientFinal.
 */
export function deferEveryRecipient(
  req: { recipients: readonly Recipient[]; onRecipientFinal?: (r: RecipientResult) => void },
  status: string,
  text: string,
): AttemptResult {
  const recipients = req.recipients.map((recipient): RecipientResult => {
    const r: RecipientResult = {
      recipient,
      status: 'deferred',
      dsn: status,
      relay: 'none',
      diagnostic: text,
    };
    req.onRecipientFinal?.(r);
    return r;
  });
  return { recipients, servers: [] };
}
