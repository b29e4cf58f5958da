/**
 * Pool-wide memory about next-hops and endpoints (the cluster tier): the keys and every decision
 * taken from what the NexthopStateStore remembers. Like Postfix's scache dest label, which binds a
 * request next-hop to the session that last worked, but shared by every process and host.
 *
 * Decides: the binding key (service + request next-hop as written), the endpoint key (service,
 * address, port), the TLS ticket key (exact server name, port and a digest of the whole TLS
 * policy: level, match names, fingerprints, trust anchors, wrapper mode, SASL identity); the
 * candidate order (the bound endpoint first while it is not marked dead; dead endpoints skipped,
 * unless every candidate is dead: then the list is left as it was); which failure marks what
 * (connect or handshake failure → dead; a failed TLS handshake at level may → broken TLS, never
 * dead); when a remembered broken-TLS endpoint is spoken to in plaintext (level may only, no SASL
 * credentials, TLS not needed for REQUIRETLS: never at encrypt or above); when to bind.
 * Never: stores anything (the store does), reads the clock, decides defer versus bounce.
 */
import { saslIdentityFor, sha256Hex } from './cache-key.ts';
import type { NexthopState, NexthopStateQuery, SaslCredentials, TlsSettings } from './ports.ts';
import { isLoopStatus } from './trouble.ts';
import type { DeliveryFailure, Endpoint, Protocol, TlsLevel } from './types.ts';

export const EMPTY_NEXTHOP_STATE: NexthopState = {
  dead: new Set(),
  brokenTls: new Set(),
  tickets: new Map(),
};

/** The binding key of a list element: service and request next-hop exactly as written. */
export function bindingKey(protocol: Protocol, site: string): string {
  return `${protocol}:${site}`;
}

/** The key of one inet endpoint (dead and broken-TLS marks). */
export function endpointKey(protocol: Protocol, ep: Pick<Endpoint, 'address' | 'port'>): string {
  return `${protocol}:[${ep.address}]:${ep.port}`;
}

/**
 * A fast 2×32-bit digest (with the length) of possibly large operator-given text (a CA bundle):
 * the pure SHA-256 here costs milliseconds per hundred kilobytes on every attempt. The input is
 * configuration, not attacker-controlled, so an accidental collision (about 2^-64) is the only risk.
 */
export function contentDigest(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${text.length}.${(h2 >>> 0).toString(16).padStart(8, '0')}${(h1 >>> 0).toString(16).padStart(8, '0')}`;
}

/** Levels that use tickets (DANE levels check TLSA records a resumed session cannot show). */
const TICKET_LEVELS: ReadonlySet<TlsLevel> = new Set(['may', 'encrypt', 'fingerprint', 'verify', 'secure']);

/**
 * The TLS session ticket key: the exact server name (SNI, else the host name) and port, plus a
 * digest of everything the policy checks, so a ticket is offered only to the same name under the
 * same policy and credentials. undefined at level none and at the DANE levels (no ticket).
 */
export function ticketKey(
  ep: Pick<Endpoint, 'host' | 'port'>,
  tls: TlsSettings,
  sasl?: SaslCredentials,
): string | undefined {
  if (!TICKET_LEVELS.has(tls.level)) return undefined;
  const name = (tls.servername ?? ep.host).toLowerCase();
  const policy = [
    `level=${tls.level}`,
    `match=${[...(tls.matchNames ?? [])]
      .map((n) => n.toLowerCase())
      .sort()
      .join(',')}`,
    `fp=${[...(tls.fingerprints ?? [])]
      .map((f) => f.replace(/:/g, '').toLowerCase())
      .sort()
      .join(',')}`,
    `ca=${contentDigest((tls.ca ?? []).join('\n'))}`,
    `wrapper=${tls.wrapperMode === true ? 1 : 0}`,
    `sasl=${sasl !== undefined ? saslIdentityFor(sasl.username) : '*'}`,
  ].join('\n');
  return `${name}:${ep.port}:${sha256Hex(policy).slice(0, 32)}`;
}

/** The one batched read of a list element. */
export function nexthopQuery(
  protocol: Protocol,
  site: string,
  list: readonly Endpoint[],
  ticketKeys: readonly string[],
): NexthopStateQuery {
  const endpoints = list.filter((ep) => ep.kind === 'inet').map((ep) => endpointKey(protocol, ep));
  return {
    binding: bindingKey(protocol, site),
    endpoints: [...new Set(endpoints)],
    tickets: [...new Set(ticketKeys)],
  };
}

export interface CandidateOrder {
  list: Endpoint[];
  /** Endpoints left out because they are marked dead. */
  skipped: Endpoint[];
  /** The bound endpoint was moved to the front. */
  boundFirst: boolean;
}

/**
 * Order a list element's candidates: dead endpoints out (never all of them: when every candidate
 * is dead the list stays whole), then the bound endpoint first when it is still a candidate.
 */
export function orderCandidates(
  protocol: Protocol,
  list: readonly Endpoint[],
  state: NexthopState,
): CandidateOrder {
  const isDead = (ep: Endpoint): boolean => ep.kind === 'inet' && state.dead.has(endpointKey(protocol, ep));
  const alive = list.filter((ep) => !isDead(ep));
  const allDead = alive.length === 0;
  const kept = allDead ? [...list] : alive;
  const skipped = allDead ? [] : list.filter(isDead);
  const boundAt =
    state.bound === undefined
      ? -1
      : kept.findIndex(
          (ep) => ep.kind === 'inet' && endpointKey(protocol, ep) === state.bound && !isDead(ep),
        );
  if (boundAt <= 0) return { list: kept, skipped, boundFirst: false };
  const bound = kept[boundAt] as Endpoint;
  return { list: [bound, ...kept.slice(0, boundAt), ...kept.slice(boundAt + 1)], skipped, boundFirst: true };
}

export type FailureMark = 'dead' | 'broken-tls' | undefined;

/**
 * What a failed connect or handshake marks. A TLS handshake that failed at level may (the engine
 * asks for a plaintext retry) marks broken TLS: the server itself works. A loop verdict marks
 * nothing. Any other connect or handshake failure that throttles marks the endpoint dead.
 */
export function markForFailure(failure: DeliveryFailure, policyLevel: TlsLevel): FailureMark {
  if (failure.retryAsPlaintext === true || (failure.tlsHandshakeFailed === true && policyLevel === 'may')) {
    return policyLevel === 'may' ? 'broken-tls' : undefined;
  }
  if (isLoopStatus(failure.status)) return undefined;
  return failure.throttle ? 'dead' : undefined;
}

/**
 * Whether a remembered broken-TLS endpoint is spoken to in plaintext at once: only at level may,
 * without SASL credentials for the server and when REQUIRETLS does not need TLS (§7.4's
 * conditions without its wait, which the memory replaces). Never at encrypt or above.
 */
export function plaintextFromMemory(p: {
  level: TlsLevel;
  marked: boolean;
  sasl: boolean;
  requireTlsNeedsTls: boolean;
}): boolean {
  return p.marked && p.level === 'may' && !p.sasl && !p.requireTlsNeedsTls;
}

/**
 * Whether a session that worked binds its next-hop to its endpoint: when an earlier candidate of
 * this element failed, or the binding already points elsewhere. A binding that already points at
 * this endpoint is left to run out (one write per binding period, not one per message).
 */
export function shouldBind(p: {
  failedBefore: boolean;
  bound: string | undefined;
  endpoint: string;
}): boolean {
  if (p.bound === p.endpoint) return false;
  return p.failedBefore || p.bound !== undefined;
}
