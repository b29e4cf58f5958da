/**
 * Where a pool child (`--sharing shared`) runs a TLS session: in the supervisor's TLS owner
 * (tlsproxy: shareable, but every record crosses the supervisor) or in this process (startTls,
 * as a lone worker: cheaper per record, but the session can never leave this process).
 *
 * Decides: the rule, "a new TLS session runs here when this process already holds
 * HELD_BEFORE_HERE (2) TLS sessions of its server (same host name, port and TLS level:
 * handshaking, in a transaction, or idle in its local tier); else through the owner". Why: a
 * session of a destination this process is busy with (a backlog) would not be handed over anyway
 * (the tiered cache keeps a session given back while its process still uses others of its label,
 * `keptBusy`), so the owner would only add a hop and a copy per record; the first sessions stay
 * shareable, so a destination with a message now and then still rides one TLS session across
 * processes. Why 2 and not 1: two overlapping messages to one server in one process happen by
 * chance with many destinations and many job slots, and a session TLS'd here on such a chance
 * stays stuck in this process (other processes then open their own): with 1, the 100-destination
 * bench (bench/pool-sharing.ts) under load needed more handshakes per message than with 2, which
 * matched the owner-only figures; a backlog holds many sessions per process (10 with 10 job
 * slots), so only 2 of them cross the supervisor.
 * What "holds" means: sockets of TLS sessions started here (through either path) or adopted from
 * the host tier, until they close or are handed to the host tier (`release`: a handed-over socket
 * emits no close in this process).
 * Never: decides labels or what may be reused (the key is only a placement hint: the session's
 * cache labels, TLS level, next-hop and SASL identity included, still keep every session within
 * its policy and credentials, and a session TLS'd here is refused by the host tier because the
 * proxy client does not `carry` it); runs handshakes.
 */
import type { Socket } from 'node:net';
import type { TlsLevel } from '../core/types.ts';

/** What identifies "the same server" for placement: host name, port and TLS level. */
export interface TlsServerKey {
  host: string;
  port: number;
  level: TlsLevel;
}

export interface TlsPlacement {
  /** Register a session about to start TLS with `key`; 'here' when this process holds enough already. */
  place(key: TlsServerKey, socket: Socket): 'owner' | 'here';
  /** A TLS session's socket now in use here (the outcome's socket, or one adopted from the host tier). */
  hold(key: TlsServerKey, socket: Socket): void;
  /** The socket left this process (handed over) or its handshake failed. */
  release(socket: Socket): void;
  /** TLS sessions held by this process, all servers together (for tests). */
  held(): number;
}

const keyOf = (k: TlsServerKey): string => `${k.level}\n${k.host.toLowerCase()}\n${k.port}`;

/** A new session runs here once this process holds this many sessions of its server. */
export const HELD_BEFORE_HERE = 2;

export function createTlsPlacement(p: { heldBeforeHere?: number } = {}): TlsPlacement {
  const heldBeforeHere = p.heldBeforeHere ?? HELD_BEFORE_HERE;
  const byKey = new Map<string, Set<Socket>>();
  const keyBySocket = new WeakMap<Socket, string>();
  const release = (socket: Socket): void => {
    const key = keyBySocket.get(socket);
    if (key === undefined) return;
    keyBySocket.delete(socket);
    const set = byKey.get(key);
    set?.delete(socket);
    if (set?.size === 0) byKey.delete(key);
  };
  const hold = (k: TlsServerKey, socket: Socket): void => {
    if (socket.destroyed) return;
    release(socket);
    const key = keyOf(k);
    const set = byKey.get(key);
    if (set === undefined) byKey.set(key, new Set([socket]));
    else set.add(socket);
    keyBySocket.set(socket, key);
    socket.once('close', () => release(socket));
  };
  return {
    place(k, socket) {
      const busy = (byKey.get(keyOf(k))?.size ?? 0) >= heldBeforeHere;
      hold(k, socket);
      return busy ? 'here' : 'owner';
    },
    hold,
    release,
    held: () => [...byKey.values()].reduce((n, s) => n + s.size, 0),
  };
}
