/**
 * A worker's SessionCache with two tiers: its own local cache first, then the host tier owned by
 * the `mxq pool` supervisor (when the worker runs under one), with counters.
 *
 * Decides: where an idle session goes (plaintext sessions, which can travel as a socket handle,
 * go to the host tier so that any process on the host can take them; TLS sessions stay local,
 * since TLS state cannot cross a process; a session given back while this process still has
 * other sessions taken by the same label in use (for a session opened here and given back for
 * the first time: by any of its labels) stays local too: the process is busy with that
 * destination and takes it again within a transaction's time, without two handle transfers
 * through the supervisor), the lookup order (local, then host), and what is
 * counted: hits by tier and label kind, misses, stores by tier, local expiries, handovers; and,
 * with a recorder, every lookup by tier and result (a host lookup only after a local miss).
 * Never: probes or limits sessions (core/session-reuse.ts does), or decides labels.
 */
import type { SessionCache, SmtpSession } from '../core/ports.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { HostCacheClient } from './host-cache-client.ts';
import type { LocalSessionCache } from './local-session-cache.ts';
import { labelKind } from './pool-ipc.ts';

export interface SessionCacheCounters {
  [name: string]: number;
  hitsLocalDest: number;
  hitsLocalEndpoint: number;
  hitsHostDest: number;
  hitsHostEndpoint: number;
  misses: number;
  storesLocal: number;
  storesHost: number;
  /**
   * Of storesLocal: sessions given back while their label was busy, not offered to the host tier
   * (a session TLS'd in this process, tls-placement.ts, is counted too: it could not have gone).
   */
  keptBusy: number;
  /** Local-tier sessions not taken within their ttl (the local cache then closes them). */
  expiriesLocal: number;
  handovers: number;
}

export interface TieredSessionCache extends LocalSessionCache {
  counters(): SessionCacheCounters;
}

export function createTieredSessionCache(p: {
  local: LocalSessionCache;
  host?: HostCacheClient;
  /** Lookups by tier: mxq_session_cache_lookups_total{tier="local"|"host",result}. */
  recorder?: MetricsRecorder;
}): TieredSessionCache {
  const c: SessionCacheCounters = {
    hitsLocalDest: 0,
    hitsLocalEndpoint: 0,
    hitsHostDest: 0,
    hitsHostEndpoint: 0,
    misses: 0,
    storesLocal: 0,
    storesHost: 0,
    keptBusy: 0,
    expiriesLocal: 0,
    handovers: 0,
  };
  // Local-tier sessions waiting to be taken, to count the ones that expire instead.
  const waiting = new Map<SmtpSession, ReturnType<typeof setTimeout>>();
  // Sessions taken (from either tier) and not given back yet, by the label they were taken by.
  const inUse = new Map<string, Set<SmtpSession>>();
  const takenBy = new WeakMap<SmtpSession, string>();
  const taken = (label: string, session: SmtpSession): void => {
    const set = inUse.get(label);
    if (set === undefined) inUse.set(label, new Set([session]));
    else set.add(session);
    takenBy.set(session, label);
  };
  /**
   * Other sessions of the session's label still in use here: the label it was taken by, or, for
   * a session given back for the first time (opened by this process, never taken from a tier),
   * any of the labels it is stored under. Closed ones are dropped on the way, of every label: a
   * taken session that is closed instead of given back (failed probe, session limit) would
   * otherwise stay here for good when its label never comes back.
   */
  const givenBack = (session: SmtpSession, labels: string[]): number => {
    const label = takenBy.get(session);
    takenBy.delete(session);
    if (label !== undefined) inUse.get(label)?.delete(session);
    for (const [l, set] of inUse) {
      for (const other of set) if (!other.isUsable()) set.delete(other);
      if (set.size === 0) inUse.delete(l);
    }
    if (label !== undefined) return inUse.get(label)?.size ?? 0;
    let others = 0;
    for (const l of labels) others += inUse.get(l)?.size ?? 0;
    return others;
  };
  const hit = (tier: 'Local' | 'Host', label: string): void => {
    const kind = labelKind(label) === 'dest' ? 'Dest' : 'Endpoint';
    c[`hits${tier}${kind}`] = (c[`hits${tier}${kind}`] ?? 0) + 1;
  };
  const cache: SessionCache = {
    async take(label) {
      const local = await p.local.take(label);
      if (local !== undefined) {
        clearTimeout(waiting.get(local));
        waiting.delete(local);
        hit('Local', label);
        p.recorder?.sessionCacheLookup('local', 'hit');
        taken(label, local);
        return local;
      }
      p.recorder?.sessionCacheLookup('local', 'miss');
      const host = p.host === undefined ? undefined : await p.host.take(label);
      if (p.host !== undefined) p.recorder?.sessionCacheLookup('host', host === undefined ? 'miss' : 'hit');
      if (host !== undefined) {
        hit('Host', label);
        c.handovers++;
        taken(label, host);
        return host;
      }
      c.misses++;
      return undefined;
    },
    async put(labels: string[], session: SmtpSession, ttlMs: number) {
      const busy = givenBack(session, labels) > 0;
      if (p.host !== undefined && ttlMs > 0 && labels.length > 0) {
        if (busy) c.keptBusy++;
        else if (p.host.put(labels, session, ttlMs)) {
          c.storesHost++;
          c.handovers++;
          return;
        }
      }
      c.storesLocal++;
      await p.local.put(labels, session, ttlMs);
      if (ttlMs <= 0 || labels.length === 0 || !session.isUsable()) return;
      const timer = setTimeout(() => {
        if (waiting.delete(session)) c.expiriesLocal++;
      }, ttlMs);
      timer.unref();
      waiting.set(session, timer);
    },
  };
  return {
    ...cache,
    size: () => p.local.size(),
    counters: () => ({ ...c }),
    async close() {
      for (const t of waiting.values()) clearTimeout(t);
      waiting.clear();
      p.host?.close();
      await p.local.close();
    },
  };
}
