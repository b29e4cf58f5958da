/**
 * The NexthopStateStore in Redis (the cluster tier: many processes and hosts, one Redis). Keys
 * live under the queue's prefix, so with the default hash tag `{mxq}` they share its Cluster slot:
 *   <prefix>:nh:bind:<binding>   endpoint key, PX = smtpNexthopBindingTime
 *   <prefix>:nh:dead:<endpoint>  "1", PX = smtpDeadEndpointTime
 *   <prefix>:nh:tlsbroken:<ep>   "1", PX = smtpTlsBrokenEndpointTime
 *   <prefix>:nh:ticket:<ticket>  TLS session (bytes), PX = smtpTlsSessionCacheTimeout
 *
 * Decides: one MGET per read (every key of a list element in one round trip), a read deadline
 * (`readTimeoutMs`, default 1 s) after which the attempt goes on with an empty state, and
 * fire-and-forget writes whose errors are logged (auto-pipelined by ioredis).
 * Never: blocks or fails a delivery because Redis is slow or down, decides anything.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger, NexthopState, NexthopStateQuery, NexthopStateStore } from '../core/ports.ts';

export interface RedisNexthopState extends NexthopStateStore {
  close(): Promise<void>;
}

export interface RedisNexthopStateOptions {
  redisUrl: string;
  /** Key prefix (the queue's, default "{mxq}"). */
  prefix: string;
  logger: Logger;
  readTimeoutMs?: number;
  /** Opens the connection (wiring.ts passes the queue's, which follows Sentinel and Cluster URLs). */
  connect?: (url: string, options: RedisOptions) => Redis;
}

const EMPTY: NexthopState = { dead: new Set(), brokenTls: new Set(), tickets: new Map() };

export function createRedisNexthopState(opts: RedisNexthopStateOptions): RedisNexthopState {
  const options: RedisOptions = { maxRetriesPerRequest: 1, enableAutoPipelining: true };
  const redis = opts.connect?.(opts.redisUrl, options) ?? new Redis(opts.redisUrl, options);
  const log = opts.logger;
  redis.on('error', (err: Error) =>
    log.warn(
      { event: 'nexthop-state-redis-error', err: err.message },
      'nexthop state: redis connection error',
    ),
  );
  const p = `${opts.prefix}:nh`;
  const readTimeout = opts.readTimeoutMs ?? 1000;
  const failed = (what: string) => (err: unknown) =>
    log.warn({ event: 'nexthop-state-write-failed', what, err: String(err) }, 'nexthop state: write failed');
  const setPx = (key: string, value: string | Buffer, ttlMs: number, what: string): void => {
    if (ttlMs <= 0) return;
    redis.set(key, value, 'PX', Math.max(1, Math.round(ttlMs))).catch(failed(what));
  };

  async function readNow(q: NexthopStateQuery): Promise<NexthopState> {
    const keys = [
      `${p}:bind:${q.binding}`,
      ...q.endpoints.map((k) => `${p}:dead:${k}`),
      ...q.endpoints.map((k) => `${p}:tlsbroken:${k}`),
      ...q.tickets.map((k) => `${p}:ticket:${k}`),
    ];
    const values = await redis.mgetBuffer(...keys);
    const at = (i: number): Buffer | null => values[i] ?? null;
    const n = q.endpoints.length;
    const bound = at(0)?.toString('utf8');
    const dead = new Set(q.endpoints.filter((_, i) => at(1 + i) !== null));
    const brokenTls = new Set(q.endpoints.filter((_, i) => at(1 + n + i) !== null));
    const tickets = new Map<string, Buffer>();
    for (const [i, k] of q.tickets.entries()) {
      const v = at(1 + 2 * n + i);
      if (v !== null && v.length > 0) tickets.set(k, v);
    }
    return { ...(bound !== undefined ? { bound } : {}), dead, brokenTls, tickets };
  }

  return {
    read(q) {
      return new Promise<NexthopState>((resolve) => {
        const timer = setTimeout(() => {
          log.warn({ event: 'nexthop-state-read-timeout', ms: readTimeout }, 'nexthop state: read timed out');
          resolve(EMPTY);
        }, readTimeout);
        readNow(q).then(
          (state) => {
            clearTimeout(timer);
            resolve(state);
          },
          (err: unknown) => {
            clearTimeout(timer);
            log.warn({ event: 'nexthop-state-read-failed', err: String(err) }, 'nexthop state: read failed');
            resolve(EMPTY);
          },
        );
      });
    },
    bind: (bindingKey, endpointKey, ttlMs) => setPx(`${p}:bind:${bindingKey}`, endpointKey, ttlMs, 'bind'),
    markDead: (endpointKey, ttlMs) => setPx(`${p}:dead:${endpointKey}`, '1', ttlMs, 'dead'),
    clearDead: (endpointKey) => {
      redis.del(`${p}:dead:${endpointKey}`).catch(failed('clear-dead'));
    },
    markBrokenTls: (endpointKey, ttlMs) => setPx(`${p}:tlsbroken:${endpointKey}`, '1', ttlMs, 'tls-broken'),
    putTicket: (ticketKey, ticket, ttlMs) => setPx(`${p}:ticket:${ticketKey}`, ticket, ttlMs, 'ticket'),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
