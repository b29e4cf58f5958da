/**
 * RFC 8689 `TLS-Required: no` (spec §7.2 step 2): the header lowers a required TLS level to may
 * and skips smtpTlsPolicyMaps; REQUIRETLS in the envelope wins over it; tlsRequiredEnable=false
 * ignores it. Real DNS, real SMTP peers on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../support/certs.ts';
import type { Scene } from '../attempt/harness.ts';
import { rcpt, request, scene } from '../attempt/harness.ts';

const oneMx = (addr: (n: number) => string) => ({
  'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { A: [addr(1)] },
});

const withHeader = (value: string): Buffer =>
  Buffer.from(
    `From: s@client.test\r\nTo: a@example.test\r\nTLS-Required:${value}\r\nSubject: t\r\n\r\nhello\r\nTLS-Required: no\r\n`,
  );
const req = (msg: Buffer, over = {}) =>
  request({ message: msg, size: msg.length, recipients: [{ address: 'a@example.test' }], ...over });

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('TLS-Required: no', () => {
  it('verify level, untrusted certificate: deferred without the header, sent over TLS with it', async () => {
    const pki = await makeTestPki('mx1.example.test');
    s = await scene(oneMx);
    const peer = await s.peer(1, { tls: pki.selfSigned });
    const { agent } = s.agent({ smtpTlsSecurityLevel: 'verify', smtpTlsCAfile: [pki.caCert] });
    const plain = await agent.deliver(req(withHeader(' yes')));
    expect(rcpt(plain, 0)).toMatchObject({
      status: 'deferred',
      diagnostic: 'Server certificate not verified',
    });
    const lowered = await agent.deliver(req(withHeader(' No')));
    expect(rcpt(lowered, 0)).toMatchObject({ status: 'sent' });
    expect(peer.messages).toHaveLength(1);
    // may still uses STARTTLS when offered.
    expect(peer.commands.filter((c) => c.line.startsWith('MAIL FROM')).map((c) => c.tls)).toContain(true);
  });

  it('a policy-map entry (encrypt) is skipped: a server without STARTTLS gets the mail in plaintext', async () => {
    s = await scene(oneMx);
    const peer = await s.peer(1);
    const { agent } = s.agent({
      smtpTlsSecurityLevel: 'may',
      smtpTlsPolicyMaps: { 'example.test': { level: 'encrypt' } },
    });
    const without = await agent.deliver(req(withHeader(' yes')));
    expect(rcpt(without, 0)).toMatchObject({ status: 'deferred', dsn: '4.7.4' });
    const folded = await agent.deliver(req(withHeader('\r\n no')));
    expect(rcpt(folded, 0)).toMatchObject({ status: 'sent' });
    expect(peer.messages).toHaveLength(1);
  });

  it('a header in the body does not count; global level none stays none', async () => {
    const pki = await makeTestPki('mx1.example.test');
    s = await scene(oneMx);
    const peer = await s.peer(1, { tls: pki.valid });
    const enc = s.agent({ smtpTlsSecurityLevel: 'verify', smtpTlsCAfile: [] }).agent;
    const body = await enc.deliver(req(withHeader(' maybe')));
    expect(rcpt(body, 0)).toMatchObject({ status: 'deferred', dsn: '4.7.5' });
    const none = s.agent({ smtpTlsSecurityLevel: 'none' }).agent;
    const r = await none.deliver(req(withHeader(' no')));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(peer.commands.filter((c) => c.line.startsWith('MAIL FROM')).map((c) => c.tls)).toEqual([false]);
  });

  it('REQUIRETLS in the envelope wins; tlsRequiredEnable=false ignores the header', async () => {
    const pki = await makeTestPki('mx1.example.test');
    s = await scene(oneMx);
    const peer = await s.peer(1, { tls: pki.selfSigned });
    const { agent } = s.agent({ smtpTlsSecurityLevel: 'verify', smtpTlsCAfile: [pki.caCert] });
    const rt = await agent.deliver(req(withHeader(' no'), { requireTls: true }));
    expect(rcpt(rt, 0).status).not.toBe('sent');
    expect(rcpt(rt, 0).dsn).toBe('5.7.10');
    const off = s.agent({
      smtpTlsSecurityLevel: 'verify',
      smtpTlsCAfile: [pki.caCert],
      tlsRequiredEnable: false,
    });
    const r = await off.agent.deliver(req(withHeader(' no')));
    expect(rcpt(r, 0)).toMatchObject({ status: 'deferred', diagnostic: 'Server certificate not verified' });
    expect(peer.messages).toHaveLength(0);
  });
});
