/**
 * Shared helpers for the engine integration tests: short timeouts, handshake parameters, an
 * endpoint for a peer, and connect+handshake in one call with a transcript.
 * Never: mocks sockets; talks beyond loopback.
 */
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
