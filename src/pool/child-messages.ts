/**
 * What the supervisor does with each message from a child: held-job bookkeeping, the host
 * session cache (store a handed-over socket, answer a take with the socket or a miss), TLS
 * handshakes for the TLS owner, readiness and status replies.
 *
 * Metrics requests and replies share the channel but are answered by aggregate.ts's own listeners
 * (pool-metrics.ts asks; pool-child.ts answers), so they never reach this router.
 * Decides: that a cache-put without a socket handle is ignored. Never: forks, restarts or recovers jobs (supervisor.ts).
 */
import type { Socket } from 'node:net';
import { isChildMsg, type SupervisorMsg } from '../cache/pool-ipc.ts';
import type { HostSessionCache } from './host-session-cache.ts';
import type { TlsOwner } from './tls-owner.ts';

export interface ChildContext {
  slot: { held: Map<string, string> };
  cache: HostSessionCache;
  /** The TLS owner; undefined when the pool does not share sessions (then tls-start fails). */
  tls: TlsOwner | undefined;
  /** Send to the child; a handle that cannot travel (the child died) is destroyed. */
  send(msg: SupervisorMsg, handle?: Socket): void;
  onReady(): void;
  onStatus(reqId: number, s: { activeJobs: number; cache: Record<string, number> }): void;
}

function isSocket(h: unknown): h is Socket {
  return typeof h === 'object' && h !== null && typeof (h as Partial<Socket>).destroy === 'function';
}

export function routeChildMessage(msg: unknown, handle: unknown, ctx: ChildContext): void {
  if (!isChildMsg(msg)) return;
  switch (msg.t) {
    case 'job-start':
      ctx.slot.held.set(msg.jobId, msg.token);
      return;
    case 'job-end':
      ctx.slot.held.delete(msg.jobId);
      return;
    case 'cache-put':
      if (isSocket(handle)) ctx.cache.put(msg.labels, msg.state, handle, msg.ttlMs);
      return;
    case 'cache-take': {
      const hit = ctx.cache.take(msg.label);
      if (hit === undefined) {
        ctx.send({ t: 'cache-miss', reqId: msg.reqId });
        return;
      }
      ctx.send({ t: 'cache-hit', reqId: msg.reqId, state: hit.state, labels: hit.labels }, hit.socket);
      return;
    }
    case 'tls-start':
      if (!isSocket(handle)) return;
      if (ctx.tls === undefined) {
        handle.destroy();
        ctx.send({ t: 'tls-done', reqId: msg.reqId, ok: false });
        return;
      }
      ctx.tls.handle(msg, handle, (reply, link) => ctx.send(reply, link));
      return;
    case 'ready':
      ctx.onReady();
      return;
    case 'status':
      ctx.onStatus(msg.reqId, { activeJobs: msg.activeJobs, cache: msg.cache });
      return;
  }
}
