/**
 * The worker side of the TLS owner (Postfix tlsproxy client): a TlsStarter that hands the raw
 * socket to the `mxq pool` supervisor after 220 to STARTTLS (or at connect for SMTPS) and gets
 * back a plaintext local link to the TLS session the owner holds, with the owner's TLS facts;
 * or, when this process is busy with that server (it already holds two TLS sessions of it,
 * tls-placement.ts: the new one would stay in this process anyway), runs the handshake here like
 * a lone worker.
 *
 * Decides: the reply timeout (the handshake timeout plus 2 s: then a timeout, as a local
 * handshake would report), that an abort or a late reply closes the link, that with no channel
 * (supervisor gone) the handshake runs in this process, which sockets are links (`carries`:
 * the ones it received, and the ones `adopt`ed when a TLS session arrives from the host cache;
 * never a session TLS'd here, so the host tier refuses those), and the counters: `proxied`
 * (through the owner), `local` (here, all reasons) and `localBusy` (of local: placed here by
 * tls-placement.ts).
 * Never: checks certificates itself (the owner runs the same tls-upgrade.ts checks) or offers a
 * TLS session to another policy (the worker's cache labels keep them apart).
 */
import type { Socket } from 'node:net';
import type { TlsSettings } from '../core/ports.ts';
import type { TlsStarter } from '../smtp/engine-deps.ts';
import { startTls, type TlsOutcome } from '../smtp/tls-upgrade.ts';
import type { IpcChannel } from './host-cache-client.ts';
import { isSupervisorMsg, type TlsDoneMsg, type WireTlsSettings } from './pool-ipc.ts';
import { createTlsPlacement, type TlsServerKey } from './tls-placement.ts';

export interface TlsProxyClient extends TlsStarter {
  /** Feed every message from the supervisor here; true when it was a TLS reply. */
  onMessage(msg: unknown, handle: unknown): boolean;
  /** Mark a socket handed over from another process as a link (its TLS lives in the owner). */
  adopt(socket: Socket, server: TlsServerKey): void;
  /** A link left this process (handed to the host tier): no longer a session held here. */
  handedOver(socket: Socket): void;
  counters(): { proxied: number; local: number; localBusy: number };
  close(): void;
}

export function wireSettings(s: TlsSettings): WireTlsSettings {
  const { sessionTicket, onSessionTicket: _drop, ...rest } = s;
  return sessionTicket === undefined ? rest : { ...rest, sessionTicket: sessionTicket.toString('base64') };
}

const REPLY_SLACK_MS = 2000;

export function createTlsProxyClient(p: { ipc: IpcChannel }): TlsProxyClient {
  const links = new WeakSet<Socket>();
  const pending = new Map<number, (msg: TlsDoneMsg | undefined, link: Socket | undefined) => void>();
  const c = { proxied: 0, local: 0, localBusy: 0 };
  const placement = createTlsPlacement();
  let nextId = 1;
  let closed = false;

  const local = (
    raw: Socket,
    s: TlsSettings,
    host: string,
    t: number,
    signal?: AbortSignal,
  ): Promise<TlsOutcome> => {
    c.local++;
    return startTls(raw, s, host, t, signal);
  };

  return {
    start(raw, settings, host, timeoutMs, signal) {
      const server: TlsServerKey = { host, port: raw.remotePort ?? 0, level: settings.level };
      const place = closed ? 'here' : placement.place(server, raw);
      const held = (r: TlsOutcome): TlsOutcome => {
        placement.release(raw);
        if (r.ok) placement.hold(server, r.socket);
        return r;
      };
      if (place === 'here') {
        if (!closed) c.localBusy++;
        return local(raw, settings, host, timeoutMs, signal).then(held);
      }
      const reqId = nextId++;
      const msg = { t: 'tls-start' as const, reqId, settings: wireSettings(settings), host, timeoutMs };
      return new Promise<TlsOutcome>((resolve) => {
        const finish = (r: TlsOutcome): void => {
          pending.delete(reqId);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(held(r));
        };
        const onAbort = (): void => finish({ ok: false, timeout: false, aborted: true });
        const timer = setTimeout(() => finish({ ok: false, timeout: true }), timeoutMs + REPLY_SLACK_MS);
        signal?.addEventListener('abort', onAbort, { once: true });
        pending.set(reqId, (done, link) => {
          if (done === undefined || !done.ok || link === undefined || done.facts === undefined) {
            link?.destroy();
            finish({ ok: false, timeout: done?.timeout === true });
            return;
          }
          links.add(link);
          c.proxied++;
          finish({ ok: true, socket: link, facts: done.facts });
        });
        if (!p.ipc.send(msg, raw)) {
          pending.delete(reqId);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(local(raw, settings, host, timeoutMs, signal).then(held));
        }
      });
    },
    carries: (socket) => links.has(socket),
    adopt(socket, server) {
      links.add(socket);
      placement.hold(server, socket);
    },
    handedOver: (socket) => placement.release(socket),
    onMessage(msg, handle) {
      if (!isSupervisorMsg(msg) || msg.t !== 'tls-done') return false;
      const link = typeof handle === 'object' && handle !== null ? (handle as Socket) : undefined;
      const waiter = pending.get(msg.reqId);
      if (waiter === undefined)
        link?.destroy(); // too late: timed out or aborted
      else waiter(msg, link);
      return true;
    },
    counters: () => ({ ...c }),
    close() {
      closed = true;
      for (const w of [...pending.values()]) w(undefined, undefined);
    },
  };
}
