/**
 * Connection reuse decisions (Postfix smtp_reuse.c, smtp_session.c): labels, the RSET probe at
 * take time, and whether a session may be stored after its transaction.
 *
 * Decides: the dest label (request next-hop) and endpoint label of a session, keyed on the
 * **effective** TLS level at both store and lookup (spec §12.1 recommendation); that every taken
 * session passes an RSET probe (smtpRsetTimeout) or is silently closed; that a session is stored
 * only after a good transaction, never when it erred, was throttled, is past
 * smtpConnectionReuseTimeLimit (from connect start) or smtpConnectionReuseCountLimit, or is a TLS
 * session while TLS connection reuse is off.
 * Never: sends RSET before storing (the probe at take time does it), counts addresses or sessions.
 */
import { destLabel, endpointLabel, endpointNeedsNexthop, saslIdentityFor } from './cache-key.ts';
import type { ResolvedOptions } from './options.ts';
import type { SaslCredentials, SessionCache, SmtpSession } from './ports.ts';
import type { Endpoint, Protocol, RequireTlsPolicy, TlsLevel } from './types.ts';

export interface LabelContext {
  protocol: Protocol;
  requireTls: RequireTlsPolicy;
  smtputf8Required: boolean;
  opts: ResolvedOptions;
}

export function labelContext(
  run: { req: { protocol: Protocol }; smtputf8Required: boolean; opts: ResolvedOptions },
  requireTls: RequireTlsPolicy,
): LabelContext {
  return { protocol: run.req.protocol, requireTls, smtputf8Required: run.smtputf8Required, opts: run.opts };
}

function saslMapsSet(opts: ResolvedOptions): boolean {
  return opts.smtpSaslAuthEnable && Object.keys(opts.smtpSaslPasswordMaps).length > 0;
}

export function destLabelFor(ctx: LabelContext, requestNexthop: string, tlsLevel: TlsLevel): string {
  return destLabel({
    service: ctx.protocol,
    requestNexthop,
    tlsLevel,
    requireTls: ctx.requireTls,
    smtputf8Required: ctx.smtputf8Required,
  });
}

export function endpointLabelFor(
  ctx: LabelContext,
  p: { endpoint: Endpoint; tlsLevel: TlsLevel; site: string; sasl?: SaslCredentials | undefined },
): string {
  const withSasl = saslMapsSet(ctx.opts);
  return endpointLabel({
    service: ctx.protocol,
    endpoint: p.endpoint,
    tlsLevel: p.tlsLevel,
    requireTls: ctx.requireTls,
    smtputf8Required: ctx.smtputf8Required,
    ...(endpointNeedsNexthop(p.tlsLevel, withSasl) ? { nexthop: p.site } : {}),
    ...(withSasl ? { host: p.endpoint.host } : {}),
    ...(p.sasl !== undefined ? { saslIdentity: saslIdentityFor(p.sasl.username) } : {}),
  });
}

/** Take a cached session and probe it with RSET; a failed probe closes it silently. */
export async function takeProbed(
  cache: SessionCache,
  label: string,
  rsetTimeoutMs: number,
  signal?: AbortSignal,
): Promise<SmtpSession | undefined> {
  const session = await cache.take(label);
  if (session === undefined) return undefined;
  const ok = session.isUsable() && (await session.reset(rsetTimeoutMs, signal).catch(() => false));
  if (ok) return session;
  session.close();
  return undefined;
}

export interface StoreCheck {
  session: SmtpSession;
  /** Caching with store was enabled for this request. */
  storeEnabled: boolean;
  /** A site/session/stream failure happened in this session. */
  throttled: boolean;
  /** The transaction left the connection clean (TransactionResult.reusable), and no failure said DONT_CACHE. */
  clean: boolean;
  /** Per-policy TLS connection reuse (TlsPolicyEntry.connectionReuse), when set. */
  tlsReuse?: boolean;
  now: number;
  opts: ResolvedOptions;
}

/** §6.3: may this session go back to the cache? */
export function mayStore(c: StoreCheck): boolean {
  if (c.throttled || !c.clean || !c.session.isUsable()) return false;
  return storeAllowedFor(c.session.state, c, 0);
}

/**
 * Before a transaction: can its session go back to the cache afterwards if all goes well? When
 * not, and the server pipelines, QUIT may follow the final dot at once (§5.3).
 */
export function mayStoreAfterTransaction(c: Omit<StoreCheck, 'throttled' | 'clean'>): boolean {
  return c.session.isUsable() && storeAllowedFor(c.session.state, c, 1);
}

/** The store rules that depend on the session's age, TLS state and use; `extra` transactions ahead. */
function storeAllowedFor(
  st: SmtpSession['state'],
  c: Pick<StoreCheck, 'storeEnabled' | 'tlsReuse' | 'now' | 'opts'>,
  extra: number,
): boolean {
  if (!c.storeEnabled) return false;
  if (st.tls.active && !(c.tlsReuse ?? c.opts.smtpTlsConnectionReuse)) return false;
  if (c.now - st.createdAt > c.opts.smtpConnectionReuseTimeLimit) return false;
  // reuseCount counts transactions on this connection; Postfix's reuse_count counts cache hits.
  const timesReused = Math.max(0, st.reuseCount + extra - 1);
  const limit = c.opts.smtpConnectionReuseCountLimit;
  return limit <= 0 || timesReused < limit;
}
