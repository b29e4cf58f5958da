/**
 * TLSRPT session counts kept until their daily report is sent (RFC 8460 §4): in Redis, shared by
 * every process of the pool, or in memory for one process and tests.
 *
 * Decides: the Redis layout: a set `<prefix>:tlsrpt:pending` of "day|domain" entries, and per
 * entry a hash `<prefix>:tlsrpt:<day>|<domain>` with `p:<pid>` = policy JSON, `s:<pid>` =
 * successful sessions, `f:<pid>:<result>:<mx>:<ip>` = failed sessions (HINCRBY, so concurrent
 * workers add up); `pid` is a short hash of the policy. Unsent counts expire after 8 days.
 * Never: decides what counts, builds or sends reports.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DayCounts, TlsRptOutcome, TlsRptPolicy } from '../core/tlsrpt.ts';

export interface TlsRptStore {
  add(day: string, domain: string, policy: TlsRptPolicy, outcome: TlsRptOutcome): Promise<void>;
  /** Pending (day, domain) entries. */
  pending(): Promise<Array<{ day: string; domain: string }>>;
  read(day: string, domain: string): Promise<DayCounts[]>;
  remove(day: string, domain: string): Promise<void>;
}

export const TLSRPT_RETENTION_SEC = 8 * 86_400;

const pidOf = (policyJson: string): string =>
  createHash('sha256').update(policyJson).digest('hex').slice(0, 12);
const enc = (s: string): string => encodeURIComponent(s);

function fieldsFor(
  policy: TlsRptPolicy,
  outcome: TlsRptOutcome,
): { pid: string; json: string; counter: string } {
  const json = JSON.stringify(policy);
  const pid = pidOf(json);
  const counter = outcome.ok
    ? `s:${pid}`
    : `f:${pid}:${enc(outcome.resultType)}:${enc(outcome.mxHost)}:${enc(outcome.ip)}`;
  return { pid, json, counter };
}

/** Fold a hash (field → value) into per-policy counts. */
export function countsFromHash(h: Record<string, string>): DayCounts[] {
  const out = new Map<string, DayCounts>();
  for (const [k, v] of Object.entries(h)) {
    if (!k.startsWith('p:')) continue;
    try {
      out.set(k.slice(2), { policy: JSON.parse(v) as TlsRptPolicy, success: 0, failures: [] });
    } catch {
      // a damaged policy entry drops its counts
    }
  }
  for (const [k, v] of Object.entries(h)) {
    const [kind, pid, result, mx, ip] = k.split(':');
    const c = pid === undefined ? undefined : out.get(pid);
    if (c === undefined) continue;
    if (kind === 's') c.success += Number(v) || 0;
    if (kind === 'f' && result !== undefined && mx !== undefined && ip !== undefined) {
      c.failures.push({
        resultType: decodeURIComponent(result),
        mxHost: decodeURIComponent(mx),
        ip: decodeURIComponent(ip),
        count: Number(v) || 0,
      });
    }
  }
  return [...out.values()];
}

export function createRedisTlsRptStore(redis: Redis, prefix: string): TlsRptStore {
  const pendingKey = `${prefix}:tlsrpt:pending`;
  const key = (day: string, domain: string): string => `${prefix}:tlsrpt:${day}|${domain}`;
  return {
    async add(day, domain, policy, outcome) {
      const { pid, json, counter } = fieldsFor(policy, outcome);
      const k = key(day, domain);
      await redis
        .multi()
        .hset(k, `p:${pid}`, json)
        .hincrby(k, counter, 1)
        .expire(k, TLSRPT_RETENTION_SEC)
        .sadd(pendingKey, `${day}|${domain}`)
        .exec();
    },
    async pending() {
      return (await redis.smembers(pendingKey)).map((e) => {
        const bar = e.indexOf('|');
        return { day: e.slice(0, bar), domain: e.slice(bar + 1) };
      });
    },
    async read(day, domain) {
      return countsFromHash(await redis.hgetall(key(day, domain)));
    },
    async remove(day, domain) {
      await redis.multi().del(key(day, domain)).srem(pendingKey, `${day}|${domain}`).exec();
    },
  };
}

export function createMemoryTlsRptStore(): TlsRptStore {
  const hashes = new Map<string, Record<string, string>>();
  return {
    async add(day, domain, policy, outcome) {
      const { pid, json, counter } = fieldsFor(policy, outcome);
      const k = `${day}|${domain}`;
      const h = hashes.get(k) ?? {};
      h[`p:${pid}`] = json;
      h[counter] = String((Number(h[counter]) || 0) + 1);
      hashes.set(k, h);
    },
    async pending() {
      return [...hashes.keys()].map((e) => ({ day: e.slice(0, 10), domain: e.slice(11) }));
    },
    async read(day, domain) {
      return countsFromHash(hashes.get(`${day}|${domain}`) ?? {});
    },
    async remove(day, domain) {
      hashes.delete(`${day}|${domain}`);
    },
  };
}
