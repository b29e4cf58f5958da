/**
 * Two small raw TCP peers for the cluster-tier tests, on a given loopback address:
 * - a dead server: accepts and closes at once (the client's handshake fails); counts connections;
 * - a broken-TLS SMTP server: offers STARTTLS, answers 220 and then writes bytes that are not TLS
 *   (the client's TLS handshake fails); in plaintext it accepts any mail. Records every command
 *   with its connection number.
 * Never: listens beyond the address given.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface RawPeer {
  connections: number;
  commands: Array<{ conn: number; line: string }>;
  stop(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

function stopper(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

export async function startDeadPeer(host: string, port: number): Promise<RawPeer> {
  const sockets = new Set<Socket>();
  const peer: RawPeer = { connections: 0, commands: [], stop: async () => undefined };
  const server = createServer((s) => {
    peer.connections++;
    s.on('error', () => undefined);
    s.destroy();
  });
  await listen(server, host, port);
  peer.stop = stopper(server, sockets);
  return peer;
}

export async function startBrokenTlsPeer(host: string, port: number): Promise<RawPeer> {
  const sockets = new Set<Socket>();
  const peer: RawPeer = { connections: 0, commands: [], stop: async () => undefined };
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    const conn = ++peer.connections;
    let buf = '';
    let inData = false;
    s.write('220 broken.test ESMTP\r\n');
    s.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            s.write('250 2.0.0 queued\r\n');
          }
          continue;
        }
        peer.commands.push({ conn, line });
        const verb = line.split(' ')[0]?.toUpperCase() ?? '';
        if (verb === 'EHLO') s.write('250-broken.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n');
        else if (verb === 'STARTTLS') {
          s.write('220 2.0.0 go ahead\r\n');
          // Not a TLS ServerHello: the client's handshake fails.
          s.end('this is not TLS at all\r\n'.repeat(4));
        } else if (verb === 'DATA') {
          inData = true;
          s.write('354 go\r\n');
        } else if (verb === 'QUIT') s.end('221 bye\r\n');
        else s.write('250 2.0.0 ok\r\n');
      }
    });
  });
  await listen(server, host, port);
  peer.stop = stopper(server, sockets);
  return peer;
}
