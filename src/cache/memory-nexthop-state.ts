/**
 * The NexthopStateStore of one process (mxq deliver, or a worker without Redis): bindings, dead
 * and broken-TLS marks and TLS tickets in a Map, each with its expiry time.
 *
 * Decides: expiry at read time against the given clock, and a bound on the entries held
 * (`maxEntries`, default 10,000: expired entries go first, then the oldest).
 * Never: shares anything with another process (the Redis store does), keeps timers.
 */
import type { Clock, NexthopState, NexthopStateQuery, NexthopStateStore } from '../core/ports.ts';

export interface MemoryNexthopState extends NexthopStateStore {
  /** Entries held, expired or not. */
  size(): number;
  close(): Promise<void>;
}

interface Entry {
  value: string | Buffer;
  expiresAt: number;
}

export function createMemoryNexthopState(opts: { clock: Clock; maxEntries?: number }): MemoryNexthopState {
  const entries = new Map<string, Entry>();
  const max = opts.maxEntries ?? 10_000;
  const get = (key: string): Entry | undefined => {
    const e = entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= opts.clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const set = (key: string, value: string | Buffer, ttlMs: number): void => {
    if (ttlMs <= 0) return;
    entries.delete(key);
    if (entries.size >= max) {
      const now = opts.clock.now();
      for (const [k, e] of entries) if (e.expiresAt <= now) entries.delete(k);
      // Map order is insertion order: the first key is the oldest write.
      for (const k of entries.keys()) {
        if (entries.size < max) break;
        entries.delete(k);
      }
    }
    entries.set(key, { value, expiresAt: opts.clock.now() + ttlMs });
  };
  return {
    read(q: NexthopStateQuery): Promise<NexthopState> {
      const bound = get(`b:${q.binding}`)?.value;
      const dead = new Set(q.endpoints.filter((k) => get(`d:${k}`) !== undefined));
      const brokenTls = new Set(q.endpoints.filter((k) => get(`t:${k}`) !== undefined));
      const tickets = new Map<string, Buffer>();
      for (const k of q.tickets) {
        const v = get(`k:${k}`)?.value;
        if (Buffer.isBuffer(v)) tickets.set(k, v);
      }
      return Promise.resolve({ ...(typeof bound === 'string' ? { bound } : {}), dead, brokenTls, tickets });
    },
    bind: (bindingKey, endpointKey, ttlMs) => set(`b:${bindingKey}`, endpointKey, ttlMs),
    markDead: (endpointKey, ttlMs) => set(`d:${endpointKey}`, '1', ttlMs),
    clearDead: (endpointKey) => {
      entries.delete(`d:${endpointKey}`);
    },
    markBrokenTls: (endpointKey, ttlMs) => set(`t:${endpointKey}`, '1', ttlMs),
    putTicket: (ticketKey, ticket, ttlMs) => set(`k:${ticketKey}`, Buffer.from(ticket), ttlMs),
    size: () => entries.size,
    close: () => {
      entries.clear();
      return Promise.resolve();
    },
  };
}
