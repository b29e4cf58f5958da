/**
 * The certificate table: {valid, self-signed, expired, wrong name, untrusted CA} × {may, encrypt,
 * verify, secure, fingerprint} against a STARTTLS peer, the client trusting only the test CA and
 * the fingerprint level pinned to the valid certificate. may/encrypt deliver over TLS with every
 * certificate; verify/secure/fingerprint deliver only with `valid`, otherwise 4.7.5 "Server
 * certificate not verified" and no MAIL reaches the peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandshakeParams, StageTimeoutsMs, TlsSettings } from '../../../src/core/ports.ts';
import type { Endpoint, TlsLevel } from '../../../src/core/types.ts';
import { createSmtpConnector } from '../../../src/smtp/connector.ts';
import { makeTestPki, type TestCert } from '../../support/certs.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { uniformTimeouts } from './engine-fixtures.ts';

const MX = 'mx.example.test';
const NEXTHOP = 'example.test';
const CERT_KINDS = ['valid', 'selfSigned', 'expired', 'wrongName', 'untrustedCa'] as const;
const LEVELS: readonly TlsLevel[] = ['may', 'encrypt', 'verify', 'secure', 'fingerprint'];
const T = 5000;
const TIMEOUTS: StageTimeoutsMs = uniformTimeouts(T);

type CertKind = (typeof CERT_KINDS)[number];
type Pki = Awaited<ReturnType<typeof makeTestPki>>;

const block = allocateLoopbackBlock();
let pki: Pki;

beforeAll(async () => {
  pki = await makeTestPki(MX);
});
afterAll(() => block.release());

function tlsFor(level: TlsLevel): TlsSettings {
  const tls: TlsSettings = { level, ca: [pki.caCert], fingerprints: [pki.valid.fingerprintSha256] };
  if (level === 'verify') tls.matchNames = [MX];
  if (level === 'secure') tls.matchNames = [NEXTHOP, `.${NEXTHOP}`];
  return tls;
}

function params(tls: TlsSettings): HandshakeParams {
  return {
    protocol: 'smtp',
    heloName: 'client.example.net',
    myHostname: 'client.example.net',
    loopDetect: false,
    bestMx: true,
    requestNexthop: NEXTHOP,
    tls,
    requireTls: 'disable',
    smtputf8Required: false,
    skip5xxGreeting: true,
    alwaysSendEhlo: true,
    neverSendEhlo: false,
    timeouts: TIMEOUTS,
  };
}

interface Outcome {
  level: TlsLevel;
  delivered: boolean;
  status?: string;
  text?: string;
  tlsActive?: boolean;
  peerVerified?: boolean;
}

async function attempt(peer: SmtpPeer, level: TlsLevel, body: string): Promise<Outcome> {
  const endpoint: Endpoint = {
    kind: 'inet',
    host: MX,
    address: peer.host,
    port: peer.port,
    family: 4,
    preference: 10,
  };
  const conn = await createSmtpConnector().connect({ endpoint, protocol: 'smtp', connectTimeoutMs: T });
  if (!conn.ok) throw new Error(`connect failed: ${conn.failure.text}`);
  const hs = await conn.connection.handshake(params(tlsFor(level)));
  if (!hs.ok) return { level, delivered: false, status: hs.failure.status, text: hs.failure.text };
  const { active, peerVerified } = hs.session.state.tls;
  const r = await hs.session.transaction({
    sender: 'sender@example.net',
    recipients: [{ address: `rcpt-${level}@${NEXTHOP}` }],
    message: Buffer.from(body),
    size: Buffer.byteLength(body),
    timeouts: TIMEOUTS,
  });
  await hs.session.quit(T);
  const delivered = r.recipients.every((x) => x.ok);
  return { level, delivered, tlsActive: active, ...(peerVerified === undefined ? {} : { peerVerified }) };
}

/** Commands per connection, in connection order (attempts run one after another). */
function commandsByConnection(peer: SmtpPeer): Array<Array<{ line: string; tls: boolean }>> {
  const byConn = new Map<number, Array<{ line: string; tls: boolean }>>();
  for (const c of peer.commands) {
    const list = byConn.get(c.conn) ?? [];
    list.push({ line: c.line, tls: c.tls });
    byConn.set(c.conn, list);
  }
  return [...byConn.entries()].sort((a, b) => a[0] - b[0]).map(([, list]) => list);
}

async function settle(peer: SmtpPeer, connections: number): Promise<void> {
  // QUIT may still be on its way when the client returns; wait (bounded) for every connection's commands.
  for (let i = 0; i < 100 && commandsByConnection(peer).length < connections; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

const expectDelivered = (kind: CertKind, level: TlsLevel): boolean =>
  level === 'may' || level === 'encrypt' || kind === 'valid';

describe('TLS certificate table (STARTTLS peer, client trusts only the test CA)', () => {
  for (const kind of CERT_KINDS) {
    it(`certificate ${kind}`, async () => {
      const cert: TestCert = pki[kind];
      const peer = await startSmtpPeer({ host: block.addr(1), tls: { key: cert.key, cert: cert.cert } });
      try {
        const outcomes: Outcome[] = [];
        for (const level of LEVELS)
          outcomes.push(await attempt(peer, level, `Subject: ${kind} ${level}\r\n\r\nhi\r\n`));
        await settle(peer, LEVELS.length);

        const conns = commandsByConnection(peer);
        expect(conns).toHaveLength(LEVELS.length);
        for (const [i, o] of outcomes.entries()) {
          const level = LEVELS[i] ?? 'none';
          const lines = conns[i] ?? [];
          const mailish = lines.filter((c) => /^(MAIL|RCPT|DATA|AUTH|BDAT)\b/i.test(c.line));
          // Everyone does STARTTLS first, in plaintext.
          expect(lines.find((c) => /^STARTTLS$/i.test(c.line))?.tls, `${kind}/${level} STARTTLS`).toBe(false);
          expect(lines.filter((c) => !c.tls).every((c) => /^(EHLO|STARTTLS)\b/i.test(c.line))).toBe(true);
          if (expectDelivered(kind, level)) {
            expect(o, `${kind}/${level}`).toMatchObject({ delivered: true, tlsActive: true });
            expect(mailish.length).toBeGreaterThanOrEqual(3);
            expect(mailish.every((c) => c.tls)).toBe(true);
            if (level !== 'may' && level !== 'encrypt') expect(o.peerVerified).toBe(true);
          } else {
            expect(o, `${kind}/${level}`).toMatchObject({ delivered: false, status: '4.7.5' });
            expect(o.text).toContain('Server certificate not verified');
            expect(mailish, `${kind}/${level}: nothing after a failed verification`).toEqual([]);
          }
        }
        const delivered = LEVELS.filter((l) => expectDelivered(kind, l));
        expect(peer.messages.map((m) => m.to[0])).toEqual(delivered.map((l) => `rcpt-${l}@${NEXTHOP}`));
        expect(peer.messages.every((m) => m.tls && m.from === 'sender@example.net')).toBe(true);
        for (const [i, m] of peer.messages.entries()) {
          expect(m.body.toString()).toMatch(new RegExp(`^Subject: ${kind} ${delivered[i]}\r\n\r\nhi\r\n`));
        }
      } finally {
        await peer.stop();
      }
    });
  }
});
