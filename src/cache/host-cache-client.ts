/**
 * The worker side of the host session cache: hands idle plaintext sessions to the `mxq pool`
 * supervisor over the IPC channel (socket handle + serialized state) and asks it for one by label.
 *
 * Decides: request ids and the reply timeout (a late or missing reply is a miss: a session that
 * arrives after its request timed out is closed), that only detachable sessions (plaintext, idle)
 * go to the host tier, and that a dead channel only loses idle sessions.
 * Never: decides reuse limits (core does), probes sessions (the taker's RSET does), or reads
 * process globals (the composition root passes the channel in).
 */
import type { Socket } from 'node:net';
import type { SessionState, SmtpSession } from '../core/ports.ts';
import { isDetachable } from '../smtp/session.ts';
import { type CacheHitMsg, type ChildMsg, isSupervisorMsg } from './pool-ipc.ts';

/** The IPC channel as the client needs it (process.send / process.on('message') in a child). */
export interface IpcChannel {
  /** False when the channel is gone (a handle that fails to travel is destroyed by the channel). */
  send(msg: ChildMsg, handle?: Socket): boolean;
}

export interface HostCacheClient {
  /** Hand an idle session over; false when it cannot travel (TLS, busy) or the channel is gone. */
  put(labels: string[], session: SmtpSession, ttlMs: number): boolean;
  take(label: string): Promise<SmtpSession | undefined>;
  /** Feed every message from the supervisor here; true when it was for the cache. */
  onMessage(msg: unknown, handle: unknown): boolean;
  close(): void;
}

export const DEFAULT_HOST_CACHE_REPLY_TIMEOUT_MS = 1000;

function isSocket(h: unknown): h is Socket {
  return typeof h === 'object' && h !== null && typeof (h as Partial<Socket>).write === 'function';
}

export function createHostCacheClient(p: {
  ipc: IpcChannel;
  /** Continue a session on a handed-over socket (smtp/session.ts resumeSession with engine deps). */
  resume: (socket: Socket, state: SessionState) => SmtpSession;
  /** Told of each socket handed to the supervisor (it leaves this process without a close event). */
  handedOver?: (socket: Socket) => void;
  replyTimeoutMs?: number;
}): HostCacheClient {
  const timeoutMs = p.replyTimeoutMs ?? DEFAULT_HOST_CACHE_REPLY_TIMEOUT_MS;
  const pending = new Map<number, (hit: { msg: CacheHitMsg; socket: Socket } | undefined) => void>();
  let nextId = 1;
  let closed = false;

  return {
    put(labels, session, ttlMs) {
      if (closed || !isDetachable(session)) return false;
      const handed = session.detach();
      if (handed === undefined) return false;
      p.handedOver?.(handed.socket);
      // child_process closes our copy of the handle once it is sent.
      if (!p.ipc.send({ t: 'cache-put', labels, state: handed.state, ttlMs }, handed.socket))
        handed.socket.destroy();
      return true;
    },
    take(label) {
      if (closed) return Promise.resolve(undefined);
      const reqId = nextId++;
      return new Promise<SmtpSession | undefined>((done) => {
        const timer = setTimeout(() => {
          pending.delete(reqId);
          done(undefined);
        }, timeoutMs);
        timer.unref();
        pending.set(reqId, (hit) => {
          clearTimeout(timer);
          pending.delete(reqId);
          done(hit === undefined ? undefined : p.resume(hit.socket, hit.msg.state));
        });
        if (!p.ipc.send({ t: 'cache-take', reqId, label })) pending.get(reqId)?.(undefined);
      });
    },
    onMessage(msg, handle) {
      if (!isSupervisorMsg(msg) || (msg.t !== 'cache-hit' && msg.t !== 'cache-miss')) return false;
      const waiter = pending.get(msg.reqId);
      if (msg.t === 'cache-miss') {
        waiter?.(undefined);
        return true;
      }
      if (!isSocket(handle)) {
        waiter?.(undefined);
        return true;
      }
      if (waiter === undefined || closed)
        handle.destroy(); // too late: its request timed out
      else waiter({ msg, socket: handle });
      return true;
    },
    close() {
      closed = true;
      for (const w of [...pending.values()]) w(undefined);
    },
  };
}
