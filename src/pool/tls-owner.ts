/**
 * The TLS owner (Postfix tlsproxy), run by the `mxq pool` supervisor: a worker process that got
 * 220 to STARTTLS (or connected to an SMTPS port) passes its raw TCP socket here with the TLS
 * settings; the owner runs the TLS handshake and the certificate checks (src/smtp/tls-upgrade.ts,
 * the same code a lone worker runs) and gives the worker a plaintext local link (a unix socket
 * pair made through a listener in a private 0700 directory) that it pipes to and from the TLS
 * connection. That link is what the worker uses as its session socket, caches, and hands to
 * other processes: TLS sessions are shared like plaintext ones.
 *
 * Decides: the link (one short-lived listener per link, removed once accepted), that either side
 * closing closes the other, and the counters (handshakes, failures, links open).
 * Never: speaks SMTP, decides what a failed check means (the worker's handshake does, from the
 * facts), or keeps sessions across a policy: the worker's labels carry TLS level and identity.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsDoneMsg, TlsStartMsg } from '../cache/pool-ipc.ts';
import type { TlsSettings } from '../core/ports.ts';
import { startTls } from '../smtp/tls-upgrade.ts';

export interface TlsOwnerCounters {
  handshakes: number;
  failures: number;
  linksOpen: number;
}

export interface TlsOwner {
  handle(msg: TlsStartMsg, raw: Socket, reply: (msg: TlsDoneMsg, link?: Socket) => void): void;
  counters(): TlsOwnerCounters;
  close(): void;
}

function settingsFrom(msg: TlsStartMsg): TlsSettings {
  const { sessionTicket, ...rest } = msg.settings;
  return sessionTicket === undefined
    ? rest
    : { ...rest, sessionTicket: Buffer.from(sessionTicket, 'base64') };
}

export function createTlsOwner(): TlsOwner {
  const dir = mkdtempSync(join(tmpdir(), 'mxq-tls-')); // mode 0700
  const c: TlsOwnerCounters = { handshakes: 0, failures: 0, linksOpen: 0 };
  const open = new Set<Socket>();
  let n = 0;

  /** Both ends of a fresh unix socket link: [ours, theirs]. */
  const makeLink = async (): Promise<[Socket, Socket]> => {
    const path = join(dir, `l${n++}.sock`);
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      const theirs = connect(path);
      await new Promise<void>((resolve, reject) => {
        theirs.once('connect', () => resolve());
        theirs.once('error', reject);
      });
      return [await accepted, theirs];
    } finally {
      server.close();
      rmSync(path, { force: true });
    }
  };

  const splice = (tlsSocket: Socket, ours: Socket): void => {
    c.linksOpen++;
    open.add(ours);
    const close = (): void => {
      if (!open.delete(ours)) return;
      c.linksOpen--;
      tlsSocket.destroy();
      ours.destroy();
    };
    ours.on('error', close);
    tlsSocket.on('error', close);
    ours.once('close', close);
    tlsSocket.once('close', close);
    ours.pipe(tlsSocket);
    tlsSocket.pipe(ours);
  };

  return {
    handle(msg, raw, reply) {
      raw.on('error', () => undefined);
      void (async () => {
        const out = await startTls(raw, settingsFrom(msg), msg.host, msg.timeoutMs);
        if (!out.ok) {
          c.failures++;
          reply({ t: 'tls-done', reqId: msg.reqId, ok: false, timeout: out.timeout });
          return;
        }
        c.handshakes++;
        let link: [Socket, Socket];
        try {
          link = await makeLink();
        } catch {
          out.socket.destroy();
          reply({ t: 'tls-done', reqId: msg.reqId, ok: false });
          return;
        }
        const [ours, theirs] = link;
        splice(out.socket, ours);
        reply({ t: 'tls-done', reqId: msg.reqId, ok: true, facts: out.facts }, theirs);
      })();
    },
    counters: () => ({ ...c }),
    close() {
      for (const s of [...open]) s.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
