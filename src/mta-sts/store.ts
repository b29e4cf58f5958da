/**
 * Where fetched MTA-STS policies are kept until their max_age runs out (RFC 8461 §5): in Redis,
 * shared by every process of the pool, or in memory for a single process and tests.
 *
 * Decides: the Redis key (`<prefix>:mta-sts:<domain>`, JSON value, PX expiry = the policy's
 * max_age, so Redis drops it when it expires); a value that does not parse is treated as absent.
 * Never: fetches, decides validity, or keeps a policy past its max_age.
 */
import type { Redis } from 'ioredis';
import type { StsPolicy } from '../core/mta-sts.ts';

export interface CachedSts {
  /** The TXT record id the policy was fetched for. */
  id: string;
  policy: StsPolicy;
  /** ms since the epoch. */
  fetchedAt: number;
  expiresAt: number;
}

export interface StsStore {
  get(domain: string): Promise<CachedSts | undefined>;
  put(domain: string, value: CachedSts): Promise<void>;
}

function isCached(x: unknown): x is CachedSts {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as Record<string, unknown>;
  const p = c.policy as Record<string, unknown> | undefined;
  return (
    typeof c.id === 'string' &&
    typeof c.fetchedAt === 'number' &&
    typeof c.expiresAt === 'number' &&
    typeof p === 'object' &&
    p !== null &&
    typeof p.mode === 'string' &&
    Array.isArray(p.mx) &&
    typeof p.maxAge === 'number'
  );
}

/** In-memory store (one process). `now` is the clock. */
export function createMemoryStsStore(now: () => number): StsStore {
  const map = new Map<string, CachedSts>();
  return {
    async get(domain) {
      const v = map.get(domain.toLowerCase());
      if (v !== undefined && v.expiresAt <= now()) map.delete(domain.toLowerCase());
      return v !== undefined && v.expiresAt > now() ? v : undefined;
    },
    async put(domain, value) {
      if (value.expiresAt > now()) map.set(domain.toLowerCase(), value);
    },
  };
}

export const stsKey = (prefix: string, domain: string): string => `${prefix}:mta-sts:${domain.toLowerCase()}`;

/** Redis store shared by the pool. */
export function createRedisStsStore(redis: Redis, prefix: string, now: () => number): StsStore {
  return {
    async get(domain) {
      const raw = await redis.get(stsKey(prefix, domain));
      if (raw === null) return undefined;
      try {
        const v: unknown = JSON.parse(raw);
        return isCached(v) && v.expiresAt > now() ? v : undefined;
      } catch {
        return undefined;
      }
    },
    async put(domain, value) {
      const ttl = Math.floor(value.expiresAt - now());
      if (ttl > 0) await redis.set(stsKey(prefix, domain), JSON.stringify(value), 'PX', ttl);
    },
  };
}
