/**
 * Shared helpers for the engine integration tests: short timeouts, handshake parameters, an
 * endpoint for a peer, and connect+handshake in one call with a transcript.
 * Never: mocks sockets; talks beyond loopback.
 */
import net from 'node:net';
import type {
  HandshakeParams,
  SmtpSession,
  StageTimeoutsMs,
  TransactionRequest,
} from '../../../src/core/ports.ts';
import type { DeliveryFailure, Endpoint, Protocol } from '../../../src/core/types.ts';
import { createSmtpConnector } from '../../../src/smtp/connector.ts';

export const FAST: StageTimeoutsMs = {
  connect: 3000,
  helo: 3000,
  lhlo: 3000,
  starttls: 3000,
  mail: 3000,
  rcpt: 3000,
  dataInit: 3000,
  dataXfer: 3000,
  dataDone: 3000,
  rset: 3000,
  quit: 1000,
};

/** Every stage timeout set to the same value (tests that only need "short but generous"). */
export function uniformTimeouts(ms: number): StageTimeoutsMs {
  return {
    connect: ms,
    helo: ms,
    lhlo: ms,
    starttls: ms,
    mail: ms,
    rcpt: ms,
    dataInit: ms,
    dataXfer: ms,
    dataDone: ms,
    rset: ms,
    quit: ms,
  };
}

export function endpointOf(
  peer: { host: string; port: number; socketPath?: string },
  host = 'mx.example.test',
): Endpoint {
  if (peer.socketPath) return { kind: 'unix', host, address: peer.socketPath, port: 0, preference: 0 };
  return { kind: 'inet', host, address: peer.host, port: peer.port, family: 4, preference: 10 };
}

export function heloParams(over: Partial<HandshakeParams> = {}): HandshakeParams {
  return {
    protocol: 'smtp',
    heloName: 'client.example.test',
    myHostname: 'client.example.test',
    loopDetect: true,
    bestMx: false,
    requestNexthop: 'example.test',
    tls: { level: 'none' },
    requireTls: 'disable',
    smtputf8Required: false,
    skip5xxGreeting: true,
    alwaysSendEhlo: true,
    neverSendEhlo: false,
    timeouts: FAST,
    ...over,
  };
}

export function txRequest(over: Partial<TransactionRequest> = {}): TransactionRequest {
  const message = Buffer.from('Subject: t\r\n\r\nhello\r\n');
  return {
    sender: 'sender@example.org',
    recipients: [{ address: 'a@example.test' }],
    message,
    size: message.length,
    timeouts: FAST,
    ...over,
  };
}

export type Opened =
  | { ok: true; session: SmtpSession; lines: string[] }
  | { ok: false; failure: DeliveryFailure; lines: string[] };

export async function openSession(
  peer: { host: string; port: number; socketPath?: string },
  over: Partial<HandshakeParams> = {},
  protocol: Protocol = 'smtp',
): Promise<Opened> {
  const lines: string[] = [];
  const connector = createSmtpConnector({ transcript: (d, l) => lines.push(`${d}: ${l}`) });
  const c = await connector.connect({ endpoint: endpointOf(peer), protocol, connectTimeoutMs: 3000 });
  if (!c.ok) return { ok: false, failure: c.failure, lines };
  const h = await c.connection.handshake(heloParams({ protocol, ...over }));
  return h.ok ? { ok: true, session: h.session, lines } : { ok: false, failure: h.failure, lines };
}

const servers: net.Server[] = [];
export function closeRawServers(): void {
  for (const s of servers.splice(0)) s.close();
}

/** A minimal raw server: `onLine` answers each received line (for behaviour smtp-server lacks). */
export async function rawServer(
  onLine: (line: string, sock: net.Socket, raw: Buffer[]) => void,
): Promise<{ host: string; port: number; raw: Buffer[] }> {
  const raw: Buffer[] = [];
  const srv = net.createServer((sock) => {
    sock.write('220 raw.example.test ESMTP\r\n');
    let buf = '';
    sock.on('data', (d) => {
      raw.push(d);
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        onLine(line, sock, raw);
      }
    });
    sock.on('error', () => undefined);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address() as net.AddressInfo;
  return { host: '127.0.0.1', port: addr.port, raw };
}

/** Waits (bounded, 2 s) until `cond` holds; returns its last value. */
export async function eventually(cond: () => boolean, maxMs = 2000): Promise<boolean> {
  for (let waited = 0; waited < maxMs && !cond(); waited += 10) await new Promise((r) => setTimeout(r, 10));
  return cond();
}
