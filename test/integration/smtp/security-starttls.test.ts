/**
 * What never goes on the wire: at levels that require TLS, a server that hides STARTTLS, fails
 * the handshake or injects bytes before it never sees MAIL/RCPT/AUTH/DATA in plaintext; injected
 * pre-handshake bytes are discarded; AUTH is never sent in plaintext when TLS is required; CR/LF
 * in addresses or the EHLO name is refused before anything is written.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  HandshakeParams,
  SaslCredentials,
  SmtpSession,
  StageTimeoutsMs,
  TlsSettings,
  TransactionResult,
} from '../../../src/core/ports.ts';
import type { Endpoint, TlsLevel } from '../../../src/core/types.ts';
import { createSmtpConnector } from '../../../src/smtp/connector.ts';
import { makeTestPki } from '../../support/certs.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type PeerOptions, type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { uniformTimeouts } from './engine-fixtures.ts';

const MX = 'mx.example.test';
const T = 4000;
const TIMEOUTS: StageTimeoutsMs = uniformTimeouts(T);
const SECRET = 's3cret-Pa55';
const SASL: SaslCredentials = { username: 'alice', password: SECRET };
const TRANSACTION_VERBS = /^(MAIL|RCPT|DATA|BDAT|AUTH)\b/i;

const block = allocateLoopbackBlock();
let pki: Awaited<ReturnType<typeof makeTestPki>>;
const peers: SmtpPeer[] = [];

beforeAll(async () => {
  pki = await makeTestPki(MX);
});
afterAll(async () => {
  for (const p of peers.splice(0)) await p.stop();
  block.release();
});

async function peer(opts: PeerOptions): Promise<SmtpPeer> {
  const p = await startSmtpPeer({ host: block.addr(1), ...opts });
  peers.push(p);
  return p;
}

function endpoint(address: string, port: number): Endpoint {
  return { kind: 'inet', host: MX, address, port, family: 4, preference: 10 };
}

function params(level: TlsLevel, extra: Partial<HandshakeParams> = {}): HandshakeParams {
  const tls: TlsSettings = { level, ca: [pki.caCert], matchNames: [MX] };
  return {
    protocol: 'smtp',
    heloName: 'client.example.net',
    myHostname: 'client.example.net',
    loopDetect: false,
    bestMx: true,
    requestNexthop: 'example.test',
    tls,
    requireTls: 'disable',
    smtputf8Required: false,
    skip5xxGreeting: true,
    alwaysSendEhlo: true,
    neverSendEhlo: false,
    timeouts: TIMEOUTS,
    ...extra,
  };
}

async function handshakeWith(ep: Endpoint, p: HandshakeParams) {
  const conn = await createSmtpConnector().connect({ endpoint: ep, protocol: 'smtp', connectTimeoutMs: T });
  if (!conn.ok) throw new Error(`connect failed: ${conn.failure.text}`);
  return conn.connection.handshake(p);
}

function sendOne(session: SmtpSession, sender: string, rcpt: string): Promise<TransactionResult> {
  const body = 'Subject: t\r\n\r\nhello\r\n';
  return session.transaction({
    sender,
    recipients: [{ address: rcpt }],
    message: Buffer.from(body),
    size: body.length,
    timeouts: TIMEOUTS,
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TLS required but STARTTLS hidden', () => {
  for (const level of ['encrypt', 'verify'] as const) {
    it(`level ${level}: 4.7.4 and no MAIL/RCPT/AUTH/DATA reaches the server`, async () => {
      const p = await peer({
        tls: { key: pki.valid.key, cert: pki.valid.cert },
        hideStartTls: true,
        auth: { users: { alice: SECRET } },
      });
      const hs = await handshakeWith(endpoint(p.host, p.port), params(level, { sasl: SASL }));
      expect(hs.ok).toBe(false);
      if (hs.ok) return;
      expect(hs.failure.status).toBe('4.7.4');
      expect(hs.failure.text).toBe(`TLS is required, but was not offered by host ${MX}[${p.host}]`);
      await pause(100);
      expect(p.commands.length).toBeGreaterThan(0);
      expect(p.commands.filter((c) => TRANSACTION_VERBS.test(c.line))).toEqual([]);
      expect(
        p.commands.some((c) => c.line.includes(Buffer.from(`\0alice\0${SECRET}`).toString('base64'))),
      ).toBe(false);
      expect(p.messages).toEqual([]);
    });
  }
});

describe('bytes injected after "220 ready", before the TLS handshake', () => {
  const injections = [
    '250 injected\r\n',
    '554 5.7.1 fake rejection\r\n',
    '250-PIPELINING\r\n250-AUTH PLAIN\r\n250 OK\r\n',
  ];
  for (const injection of injections) {
    it(`discards ${JSON.stringify(injection)}; the post-TLS EHLO and the transaction succeed`, async () => {
      const p = await peer({
        tls: { key: pki.valid.key, cert: pki.valid.cert },
        script: { starttlsInjection: injection },
      });
      const hs = await handshakeWith(endpoint(p.host, p.port), params('encrypt'));
      expect(hs.ok, hs.ok ? '' : hs.failure.text).toBe(true);
      if (!hs.ok) return;
      expect(hs.session.state.tls.active).toBe(true);
      const r = await sendOne(hs.session, 'a@example.net', 'b@example.test');
      expect(r.recipients.map((x) => x.ok)).toEqual([true]);
      await hs.session.quit(T);
      await pause(100);
      const starttlsAt = p.commands.findIndex((c) => /^STARTTLS$/i.test(c.line));
      expect(starttlsAt).toBeGreaterThan(0);
      const after = p.commands.slice(starttlsAt + 1);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((c) => !c.tls)).toEqual([]);
      expect(after[0]?.line).toMatch(/^EHLO /);
      expect(p.messages).toHaveLength(1);
      expect(p.messages[0]?.tls).toBe(true);
    });
  }
});

/** A raw server: greets, offers STARTTLS, answers "220 ready", then breaks the TLS handshake. */
async function brokenTlsServer(
  mode: 'garbage' | 'close',
): Promise<{ server: Server; port: number; afterReady: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    let ready = false;
    let text = '';
    socket.write('220 broken.example.test ESMTP\r\n');
    socket.on('data', (d: Buffer) => {
      if (ready) {
        chunks.push(d);
        if (mode === 'garbage') socket.write('HTTP/1.0 400 not tls at all\r\n\r\n');
        return;
      }
      text += d.toString('latin1');
      for (let nl = text.indexOf('\r\n'); nl >= 0 && !ready; nl = text.indexOf('\r\n')) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 2);
        if (/^EHLO /i.test(line))
          socket.write('250-broken.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS$/i.test(line)) {
          ready = true;
          socket.write('220 2.0.0 ready\r\n');
          if (mode === 'close') setTimeout(() => socket.end(), 20);
        } else socket.write('502 5.5.2 unexpected\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, block.addr(2), resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return { server, port, afterReady: () => Buffer.concat(chunks) };
}

describe('failed TLS handshake at level encrypt', () => {
  for (const mode of ['garbage', 'close'] as const) {
    it(`(${mode}) defers 4.7.5 and sends nothing in plaintext afterwards`, async () => {
      const raw = await brokenTlsServer(mode);
      try {
        const hs = await handshakeWith(endpoint(block.addr(2), raw.port), params('encrypt', { sasl: SASL }));
        expect(hs.ok).toBe(false);
        if (hs.ok) return;
        expect(hs.failure.status).toBe('4.7.5');
        expect(hs.failure.text).toBe('Cannot start TLS: handshake failure');
        await pause(200);
        const after = raw.afterReady().toString('latin1');
        if (after.length > 0) expect(after.charCodeAt(0)).toBe(0x16); // a TLS record (ClientHello), nothing else
        expect(after).not.toMatch(/MAIL FROM|RCPT TO|DATA\r\n|AUTH |QUIT\r\n|EHLO /);
        expect(after).not.toContain(SECRET);
      } finally {
        await new Promise<void>((r) => raw.server.close(() => r()));
      }
    });
  }
});

describe('AUTH and TLS', () => {
  it('sends AUTH only inside TLS when TLS is offered and required', async () => {
    const p = await peer({
      tls: { key: pki.valid.key, cert: pki.valid.cert },
      auth: { users: { alice: SECRET } },
    });
    const hs = await handshakeWith(endpoint(p.host, p.port), params('encrypt', { sasl: SASL }));
    expect(hs.ok, hs.ok ? '' : hs.failure.text).toBe(true);
    if (!hs.ok) return;
    expect(hs.session.state.authenticated).toBe(true);
    await hs.session.quit(T);
    await pause(100);
    const auth = p.commands.filter((c) => /^AUTH\b/i.test(c.line));
    expect(auth.length).toBeGreaterThan(0);
    expect(auth.every((c) => c.tls)).toBe(true);
    expect(p.commands.filter((c) => !c.tls).map((c) => c.line.split(' ')[0]?.toUpperCase())).toEqual([
      'EHLO',
      'STARTTLS',
    ]);
  });
});

describe('CR/LF injection is refused before anything is written', () => {
  const bad = [
    'evil@example.test\r\nRCPT TO:<victim@example.org>',
    'evil@example.test\nDATA',
    'nul@example\0.test',
  ];
  for (const address of bad) {
    it(`address ${JSON.stringify(address)} as sender and as recipient`, async () => {
      const p = await peer({});
      const hs = await handshakeWith(endpoint(p.host, p.port), params('none'));
      expect(hs.ok).toBe(true);
      if (!hs.ok) return;
      const before = p.commands.length;
      const asSender = await sendOne(hs.session, address, 'ok@example.test');
      const asRcpt = await sendOne(hs.session, 'ok@example.net', address);
      expect(asSender.recipients.map((x) => x.ok)).toEqual([false]);
      expect(asRcpt.recipients.map((x) => x.ok)).toEqual([false]);
      await hs.session.quit(T);
      await pause(100);
      const lines = p.commands.slice(before).map((c) => c.line);
      expect(lines.filter((l) => /^(MAIL|RCPT|DATA)\b/i.test(l))).toEqual([]);
      expect(lines.join('\n')).not.toMatch(/evil|victim|nul@/);
      expect(p.messages).toEqual([]);
    });
  }

  it('a CR/LF in the EHLO name: nothing after the greeting is written', async () => {
    const p = await peer({});
    const hs = await handshakeWith(
      endpoint(p.host, p.port),
      params('none', { heloName: 'client.test\r\nMAIL FROM:<x@y>' }),
    );
    expect(hs.ok).toBe(false);
    await pause(100);
    expect(p.commands.filter((c) => /^(EHLO|HELO|MAIL)\b/i.test(c.line))).toEqual([]);
  });
});
