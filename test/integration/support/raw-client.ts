/**
 * A minimal line-oriented SMTP client for the support self-tests: send raw text, read replies.
 * Decides: a reply is complete at a line whose 4th char is a space. Never: parses semantics.
 */
import { connect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

export interface RawClient {
  socket: Socket | TLSSocket;
  /** Next complete (possibly multi-line) reply; '' when the connection closed first. */
  reply(): Promise<string>;
  send(text: string): void;
  closed: Promise<void>;
  /** Everything received so far that is not yet consumed by reply(). */
  pending(): string;
  startTls(opts: { ca?: string; servername?: string }): Promise<void>;
}

function wire(socket: Socket | TLSSocket, box: { buf: string; waiters: Array<() => void>; ended: boolean }) {
  socket.on('data', (d: Buffer) => {
    box.buf += d.toString('binary');
    for (const w of box.waiters.splice(0)) w();
  });
  socket.on('close', () => {
    box.ended = true;
    for (const w of box.waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
}

export function rawConnect(
  target: { port: number; host?: string } | { path: string },
  tls = false,
): Promise<RawClient> {
  const box = { buf: '', waiters: [] as Array<() => void>, ended: false };
  const opts =
    'path' in target ? { path: target.path } : { port: target.port, host: target.host ?? '127.0.0.1' };
  const socket: Socket | TLSSocket = tls ? tlsConnect({ ...opts, rejectUnauthorized: false }) : connect(opts);
  const client: RawClient = {
    socket,
    closed: new Promise((r) => socket.once('close', () => r())),
    send: (t) => void client.socket.write(t),
    pending: () => box.buf,
    async reply() {
      for (let i = 0; i < 1000; i++) {
        const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(box.buf);
        if (m) {
          box.buf = box.buf.slice(m[0].length);
          return m[0].replace(/\r?\n$/, '');
        }
        if (box.ended) return '';
        await new Promise<void>((r) => box.waiters.push(r));
      }
      throw new Error('reply loop bound');
    },
    async startTls(o) {
      const plain = client.socket as Socket;
      plain.removeAllListeners('data');
      box.buf = ''; // plaintext received after the STARTTLS reply is discarded
      const t = tlsConnect({ socket: plain, rejectUnauthorized: false, ...o });
      await new Promise<void>((resolve, reject) => {
        t.once('secureConnect', () => resolve());
        t.once('error', reject);
      });
      client.socket = t;
      wire(t, box);
    },
  };
  wire(socket, box);
  return new Promise((resolve, reject) => {
    socket.once(tls ? 'secureConnect' : 'connect', () => resolve(client));
    socket.once('error', reject);
  });
}
