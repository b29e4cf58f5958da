/**
 * The host tier of the session cache (Postfix scache for one host), owned by the `mxq pool`
 * supervisor: idle plaintext sessions handed over by any worker process as socket handles with
 * their serialized state, taken by any worker process by next-hop label or endpoint label.
 *
 * Decides: how long a session stays idle (the ttl its owner gave, i.e.
 * smtpConnectionCacheTimeLimit), that the newest session under a label is handed out first, that
 * a session taken by one label leaves all its labels, that a session which received any byte or
 * EOF while idle here is discarded, and the bound on idle sessions held (oldest closed first).
 * Never: speaks SMTP (no RSET, no QUIT: the taker probes with RSET), decides reuse limits (the
 * worker's core does, from the state's reuse count and age), or keeps the process alive.
 */
import type { Socket } from 'node:net';
import { labelKind } from '../cache/pool-ipc.ts';
import type { SessionState } from '../core/ports.ts';

export interface HostCacheEntry {
  socket: Socket;
  state: SessionState;
  labels: string[];
}

export interface HostCacheCounters {
  stores: number;
  hitsDest: number;
  hitsEndpoint: number;
  misses: number;
  expiries: number;
  discards: number;
  handovers: number;
}

export interface HostSessionCache {
  put(labels: string[], state: SessionState, socket: Socket, ttlMs: number): void;
  take(label: string): HostCacheEntry | undefined;
  size(): number;
  counters(): HostCacheCounters;
  close(): void;
}

interface Held extends HostCacheEntry {
  timer: ReturnType<typeof setTimeout>;
  usable: boolean;
}

export const DEFAULT_HOST_CACHE_MAX_IDLE = 1000;

export function createHostSessionCache(opts: { maxIdle?: number } = {}): HostSessionCache {
  const maxIdle = opts.maxIdle ?? DEFAULT_HOST_CACHE_MAX_IDLE;
  const byLabel = new Map<string, Held[]>();
  const entries = new Set<Held>(); // insertion order: oldest first
  const c: HostCacheCounters = {
    stores: 0,
    hitsDest: 0,
    hitsEndpoint: 0,
    misses: 0,
    expiries: 0,
    discards: 0,
    handovers: 0,
  };
  const state = { closed: false };

  const remove = (e: Held): boolean => {
    if (!entries.delete(e)) return false;
    clearTimeout(e.timer);
    e.socket.removeAllListeners('data');
    for (const label of e.labels) {
      const list = byLabel.get(label);
      if (list === undefined) continue;
      const i = list.indexOf(e);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) byLabel.delete(label);
    }
    return true;
  };
  const drop = (e: Held, why: 'expiries' | 'discards'): void => {
    if (!remove(e)) return;
    c[why]++;
    e.socket.destroy();
  };

  return {
    put(labels, st, socket, ttlMs) {
      const unique = [...new Set(labels)];
      if (state.closed || unique.length === 0 || ttlMs <= 0 || socket.destroyed) {
        socket.destroy();
        return;
      }
      const e: Held = {
        socket,
        state: st,
        labels: unique,
        usable: true,
        timer: setTimeout(() => drop(e, 'expiries'), ttlMs),
      };
      e.timer.unref();
      // Any byte or EOF while idle: the server changed its mind (421, timeout); never hand it out.
      const spoil = (): void => {
        e.usable = false;
        drop(e, 'discards');
      };
      socket.on('data', spoil);
      socket.once('end', spoil);
      socket.once('close', spoil);
      socket.on('error', spoil);
      entries.add(e);
      c.stores++;
      c.handovers++;
      for (const label of unique) {
        const list = byLabel.get(label);
        if (list === undefined) byLabel.set(label, [e]);
        else list.push(e);
      }
      while (entries.size > maxIdle) {
        const oldest = entries.values().next().value;
        if (oldest === undefined) break;
        drop(oldest, 'expiries');
      }
    },
    take(label) {
      const list = byLabel.get(label);
      while (list !== undefined && list.length > 0) {
        const e = list[list.length - 1];
        if (e === undefined) break;
        remove(e);
        if (!e.usable || e.socket.destroyed) {
          c.discards++;
          e.socket.destroy();
          continue;
        }
        e.socket.removeAllListeners('end');
        e.socket.removeAllListeners('close');
        e.socket.removeAllListeners('error');
        e.socket.on('error', () => undefined);
        if (labelKind(label) === 'dest') c.hitsDest++;
        else c.hitsEndpoint++;
        c.handovers++;
        return { socket: e.socket, state: e.state, labels: e.labels };
      }
      c.misses++;
      return undefined;
    },
    size: () => entries.size,
    counters: () => ({ ...c }),
    close() {
      state.closed = true;
      for (const e of [...entries]) {
        remove(e);
        e.socket.destroy();
      }
    },
  };
}
