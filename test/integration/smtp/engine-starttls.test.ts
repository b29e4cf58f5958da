import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../support/certs.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { openSession, txRequest } from './engine-fixtures.ts';

let pki: TestPki;
let peer: SmtpPeer | undefined;
beforeAll(async () => {
  pki = await makeTestPki('mx.example.test');
});
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
});

describe('engine STARTTLS', () => {
  it('upgrades at may, sends EHLO again and runs the transaction inside TLS', async () => {
    peer = await startSmtpPeer({ tls: pki.valid });
    const tickets: Buffer[] = [];
    const o = await openSession(peer, { tls: { level: 'may', onSessionTicket: (t) => tickets.push(t) } });
    if (!o.ok) throw new Error(o.failure.text);
    expect(o.session.state.tls.active).toBe(true);
    expect(o.session.state.capabilities.STARTTLS).toBeUndefined();
    const res = await o.session.transaction(txRequest());
    expect(res.recipients[0]?.ok).toBe(true);
    expect(peer.commands.map((c) => `${c.tls ? 'T' : 'P'} ${c.line.split(/[ :]/)[0]}`).slice(0, 6)).toEqual([
      'P EHLO',
      'P STARTTLS',
      'T EHLO',
      'T MAIL',
      'T RCPT',
      'T DATA',
    ]);
    expect(tickets.length).toBeGreaterThan(0);
    o.session.close();
    const again = await openSession(peer, {
      tls: { level: 'may', ...(tickets[0] ? { sessionTicket: tickets[0] } : {}) },
    });
    if (!again.ok) throw new Error(again.failure.text);
    expect(again.session.state.tls.resumed).toBe(true);
    again.session.close();
  });

  it('discards bytes injected before the TLS handshake', async () => {
    peer = await startSmtpPeer({ tls: pki.valid, script: { starttlsInjection: '250 injected\r\n' } });
    const o = await openSession(peer, { tls: { level: 'encrypt' } });
    if (o.ok) {
      const res = await o.session.transaction(txRequest());
      expect(res.recipients[0]?.ok).toBe(true);
      o.session.close();
    }
    expect(peer.commands.filter((c) => !c.tls).map((c) => c.line.split(' ')[0])).toEqual([
      'EHLO',
      'STARTTLS',
    ]);
  });

  it('sends REQUIRETLS when the post-TLS EHLO offers it, and refuses enforce without it (5.7.30)', async () => {
    peer = await startSmtpPeer({ tls: pki.valid, requireTls: true });
    const o = await openSession(peer, {
      tls: { level: 'verify', matchNames: ['mx.example.test'], ca: [pki.caCert] },
      requireTls: 'enforce',
    });
    if (!o.ok) throw new Error(o.failure.text);
    expect(o.session.state.tls.peerVerified).toBe(true);
    const res = await o.session.transaction(txRequest({ requireTls: true }));
    expect(res.recipients[0]?.ok).toBe(true);
    expect(peer.commands.find((c) => c.line.startsWith('MAIL'))?.line).toContain(' REQUIRETLS');
    o.session.close();
    await peer.stop();
    peer = await startSmtpPeer({ tls: pki.valid });
    const no = await openSession(peer, {
      tls: { level: 'verify', matchNames: ['mx.example.test'], ca: [pki.caCert] },
      requireTls: 'enforce',
    });
    expect(no.ok).toBe(false);
    if (!no.ok) {
      expect(no.failure).toMatchObject({ status: '5.7.30', softNonFinal: true });
      expect(no.failure.text).toBe(
        `Sender requested REQUIRETLS, but no server was found that supports REQUIRETLS. The last attempted server was mx.example.test[${peer.host}]`,
      );
    }
  });

  it('asks for a plaintext retry when a may-level TLS session dies mid-transaction', async () => {
    peer = await startSmtpPeer({ tls: pki.valid, script: { disconnectAt: 'rcpt' } });
    const o = await openSession(peer, { tls: { level: 'may' } });
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest({ plaintextRetryAllowed: true }));
    const r = res.recipients[0];
    expect(r?.ok).toBe(false);
    if (r && !r.ok) {
      expect(r.failure.retryAsPlaintext).toBe(true);
      expect(r.failure.text).toBe(`lost connection with mx.example.test[${peer.host}] while sending RCPT TO`);
    }
  });

  it('reports a failed handshake at may as 4.7.5 without throttling, with the retry flag when allowed', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer, {
      tls: { level: 'may', wrapperMode: true },
      plaintextRetryAllowed: true,
    });
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.failure).toMatchObject({
        status: '4.7.5',
        text: 'Cannot start TLS: handshake failure',
        throttle: false,
        retryAsPlaintext: true,
      });
    }
    const enc = await openSession(peer, { tls: { level: 'encrypt', wrapperMode: true } });
    expect(!enc.ok && enc.failure).toMatchObject({ status: '4.7.5', throttle: true });
  });
});

describe('engine TLS configuration errors', () => {
  it('returns 4.7.0 for an unusable trust store instead of throwing', async () => {
    peer = await startSmtpPeer({ tls: pki.valid });
    const o = await openSession(peer, {
      tls: { level: 'verify', matchNames: ['mx.example.test'], ca: ['not a pem'] },
    });
    expect(o.ok).toBe(false);
    if (!o.ok) expect(['4.7.0', '4.7.5']).toContain(o.failure.status);
    expect(peer.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
  });
});
