/**
 * The plan of one attempt before any server is contacted: the list of sites (next-hop list plus
 * fallback relays), the connection-cache policy, SASL credentials, SMTPUTF8 need, REQUIRETLS
 * address checks and the per-stage timeouts.
 *
 * Decides: §4.2 `sites = split(nexthop) + fallback relays` (fallback relays are ignored for an LMTP
 * `unix:` destination, with Postfix's warning), §6.3 when caching is on (load/store), §5.5 when a
 * message requires SMTPUTF8 (requested, and a non-ASCII envelope address or header byte), and §7.6
 * which TLS levels a REQUIRETLS policy refuses before connecting (5.7.10, address skipped).
 * Never: resolves, connects or classifies failures.
 */
import type { NexthopTarget } from './nexthop.ts';
import { splitNexthopList } from './nexthop.ts';
import type { ResolvedOptions } from './options.ts';
import type { SaslCredentials, StageTimeoutsMs } from './ports.ts';
import type { AttemptRequest, DeliveryFailure, RequireTlsPolicy, TlsLevel } from './types.ts';
import { TLS_LEVEL_NUMBER } from './types.ts';

export interface SitePlan {
  /** Every list element to try, in order: primary next-hop elements, then fallback relays. */
  sites: string[];
  /** How many of `sites` are primary (the rest are fallback relays). */
  primaryCount: number;
  warnings: string[];
}

export function planSites(
  req: Pick<AttemptRequest, 'nexthop' | 'protocol'>,
  opts: ResolvedOptions,
): SitePlan {
  const primary = splitNexthopList(req.nexthop);
  const fallbackName = req.protocol === 'lmtp' ? 'lmtp_fallback_relay' : 'smtp_fallback_relay';
  const fallbackList = req.protocol === 'lmtp' ? opts.lmtpFallbackRelay : opts.smtpFallbackRelay;
  const fallback = fallbackList.flatMap((f) => splitNexthopList(f));
  if (req.protocol === 'lmtp' && req.nexthop.trim().startsWith('unix:')) {
    const warnings =
      fallback.length > 0
        ? [`ignoring "${fallbackName} = ${fallbackList.join(', ')}" setting for non-TCP connections`]
        : [];
    return { sites: [req.nexthop.trim()], primaryCount: 1, warnings };
  }
  return { sites: [...primary, ...fallback], primaryCount: primary.length, warnings: [] };
}

export interface CachePolicy {
  load: boolean;
  store: boolean;
}

/** §6.3, evaluated for the first list element (only when it resolved). */
export function cachePolicyFor(
  target: NexthopTarget,
  hint: AttemptRequest['cacheHint'],
  opts: ResolvedOptions,
): CachePolicy {
  const domain = target.host.toLowerCase();
  if (opts.smtpConnectionCacheDestinations.some((d) => d.toLowerCase() === domain)) {
    return { load: true, store: true };
  }
  if (!opts.smtpConnectionCacheOnDemand) return { load: false, store: false };
  return { load: hint === 'load' || hint === 'load+store', store: hint === 'load+store' };
}

/** SASL credentials for a server: keyed by the list element as written, then by host name. */
export function saslFor(site: string, host: string, opts: ResolvedOptions): SaslCredentials | undefined {
  if (!opts.smtpSaslAuthEnable) return undefined;
  const entry = opts.smtpSaslPasswordMaps[site] ?? opts.smtpSaslPasswordMaps[host.toLowerCase()];
  if (entry === undefined) return undefined;
  return {
    username: entry.username,
    password: entry.password,
    securityOptions: opts.smtpSaslSecurityOptions,
    tlsSecurityOptions: opts.smtpSaslTlsSecurityOptions,
    mechanismFilter: opts.smtpSaslMechanismFilter,
  };
}

const hasNonAscii = (s: string): boolean => [...s].some((ch) => (ch.codePointAt(0) ?? 0) > 0x7f);

/** Bytes of the header section (up to the first empty line) that are not ASCII. */
export function headerHasNonAscii(message: Uint8Array): boolean {
  for (let i = 0; i < message.length; i++) {
    const b = message[i] ?? 0;
    if (b >= 0x80) return true;
    if (b === 0x0a) {
      const next = message[i + 1];
      if (next === 0x0a || (next === 0x0d && message[i + 2] === 0x0a)) return false;
    }
  }
  return false;
}

/** §5.5: SMTPUTF8 requested and a UTF-8 envelope address or header. */
export function smtputf8Required(
  req: Pick<AttemptRequest, 'smtputf8' | 'sender' | 'recipients'>,
  headerNonAscii: boolean,
  opts: ResolvedOptions,
): boolean {
  if (req.smtputf8 !== true || !opts.smtputf8Enable) return false;
  if (headerNonAscii || hasNonAscii(req.sender)) return true;
  return req.recipients.some(
    (r) => hasNonAscii(r.address) || (r.orcpt !== undefined && hasNonAscii(r.orcpt)),
  );
}

/** The REQUIRETLS policy in force for this message and domain ('disable' when not requested). */
export function requireTlsInForce(
  req: Pick<AttemptRequest, 'requireTls'>,
  opts: ResolvedOptions,
  policyFor: () => RequireTlsPolicy,
): RequireTlsPolicy {
  return req.requireTls === true && opts.requiretlsEnable ? policyFor() : 'disable';
}

/** §7.4: REQUIRETLS does not need TLS under this policy. */
export function requireTlsNeedsTls(policy: RequireTlsPolicy): boolean {
  return policy === 'enforce' || policy === 'opportunistic+starttls';
}

/** §7.6 connect-loop check: a TLS level the REQUIRETLS policy cannot accept skips the address. */
export function requireTlsLevelFailure(
  policy: RequireTlsPolicy,
  level: TlsLevel,
  host: string,
): DeliveryFailure | undefined {
  const base = { handler: 'misc' as const, status: '5.7.10', throttle: false, dontCache: true };
  if (policy === 'enforce' && TLS_LEVEL_NUMBER[level] <= TLS_LEVEL_NUMBER.encrypt) {
    const text = `Sender requested REQUIRETLS, but my configured TLS security level '${level}' disables certificate matching. The last attempted server was ${host}`;
    return { ...base, text };
  }
  if (policy === 'opportunistic+starttls' && level === 'none') {
    const text = `Sender requested REQUIRETLS, but my configured TLS security level '${level}' disables encryption. The last attempted server was ${host}`;
    return { ...base, text };
  }
  return undefined;
}

export function stageTimeouts(opts: ResolvedOptions): StageTimeoutsMs {
  return {
    connect: opts.smtpConnectTimeout,
    helo: opts.smtpHeloTimeout,
    lhlo: opts.lmtpLhloTimeout,
    starttls: opts.smtpStarttlsTimeout,
    mail: opts.smtpMailTimeout,
    rcpt: opts.smtpRcptTimeout,
    dataInit: opts.smtpDataInitTimeout,
    dataXfer: opts.smtpDataXferTimeout,
    dataDone: opts.smtpDataDoneTimeout,
    rset: opts.smtpRsetTimeout,
    quit: opts.smtpQuitTimeout,
  };
}
