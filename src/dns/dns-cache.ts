/**
 * The per-process DNS cache: a DnsPort decorator shared by every job of a worker process, with a
 * query counter (what bench/dns-per-message.ts reads).
 *
 * Decides: how long an answer is kept: a positive answer for its TTL (A and AAAA: the lowest
 * record TTL node:dns reports; MX, SRV and TXT, whose TTL node:dns does not report:
 * dnsCacheUnknownTtl), a negative one (no such name, no data, null MX or SRV, malformed data) for
 * dnsCacheNegativeTtl, everything capped at dnsCacheMaxTtl (0 = no cache, every lookup is a
 * query); temporary and non-recoverable failures (RETRY, FAIL, POLICY) are never cached; identical
 * lookups in flight share one query; at most `maxEntries` answers (expired first, then oldest).
 * Never: changes an answer, lets one caller's abort cancel the shared query, keeps timers.
 */
import type { Clock, DnsAnswer, DnsPort, DnsType } from '../core/ports.ts';
import { raceAbort, type TtlAnswer, type TtlDnsPort } from './resolver.ts';

export interface DnsCacheOptions {
  /** Cap on every cached lifetime (ms); 0 turns the cache off. */
  maxTtlMs: number;
  /** Lifetime of negative answers (ms), capped by maxTtlMs. */
  negativeTtlMs: number;
  /** Lifetime of positive answers without a reported TTL (ms), capped by maxTtlMs. */
  unknownTtlMs: number;
  clock: Clock;
  maxEntries?: number;
}

export interface DnsCacheStats {
  /** Lookups sent to the resolver (cache misses, coalesced ones counted once). */
  queries: number;
  /** Lookups answered from the cache. */
  hits: number;
  /** Lookups that joined a query already in flight. */
  coalesced: number;
  /** Answers held. */
  entries: number;
}

export interface CachingDnsPort extends DnsPort {
  stats(): DnsCacheStats;
  clear(): void;
}

const NEGATIVE: ReadonlySet<DnsAnswer['class']> = new Set(['NOTFOUND', 'NULLMX', 'NULLSRV', 'INVAL']);

/** How long (ms) to keep an answer; 0 = do not cache. */
export function cacheLifetimeMs(
  a: TtlAnswer,
  o: Pick<DnsCacheOptions, 'maxTtlMs' | 'negativeTtlMs' | 'unknownTtlMs'>,
): number {
  let ms: number;
  if (a.answer.class === 'OK') ms = a.ttlSec !== undefined ? a.ttlSec * 1000 : o.unknownTtlMs;
  else if (NEGATIVE.has(a.answer.class)) ms = o.negativeTtlMs;
  else ms = 0;
  return Math.max(0, Math.min(ms, o.maxTtlMs));
}

const cacheKey = (name: string, type: DnsType): string =>
  `${type} ${name.trim().toLowerCase().replace(/\.$/, '')}`;

export function createDnsCache(inner: TtlDnsPort, opts: DnsCacheOptions): CachingDnsPort {
  const entries = new Map<string, { answer: DnsAnswer; expiresAt: number }>();
  const inFlight = new Map<string, Promise<DnsAnswer>>();
  const max = opts.maxEntries ?? 10_000;
  const counts = { queries: 0, hits: 0, coalesced: 0 };

  const store = (key: string, answer: DnsAnswer, ms: number): void => {
    if (ms <= 0) return;
    entries.delete(key);
    if (entries.size >= max) {
      const now = opts.clock.now();
      for (const [k, e] of entries) if (e.expiresAt <= now) entries.delete(k);
      for (const k of entries.keys()) {
        if (entries.size < max) break;
        entries.delete(k);
      }
    }
    entries.set(key, { answer, expiresAt: opts.clock.now() + ms });
  };

  const fetch = (key: string, name: string, type: DnsType): Promise<DnsAnswer> => {
    counts.queries++;
    const work = inner.lookupWithTtl(name, type).then((a) => {
      store(key, a.answer, cacheLifetimeMs(a, opts));
      return a.answer;
    });
    const shared = work.finally(() => inFlight.delete(key));
    inFlight.set(key, shared);
    return shared;
  };

  return {
    lookup(name, type, signal) {
      if (opts.maxTtlMs <= 0) {
        counts.queries++;
        return inner.lookup(name, type, signal);
      }
      const key = cacheKey(name, type);
      const hit = entries.get(key);
      if (hit !== undefined && hit.expiresAt > opts.clock.now()) {
        counts.hits++;
        return raceAbort(Promise.resolve(hit.answer), signal);
      }
      if (hit !== undefined) entries.delete(key);
      const pending = inFlight.get(key);
      if (pending !== undefined) counts.coalesced++;
      return raceAbort(pending ?? fetch(key, name, type), signal);
    },
    stats: () => ({ ...counts, entries: entries.size }),
    clear: () => entries.clear(),
  };
}
