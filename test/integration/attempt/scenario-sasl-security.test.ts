/**
 * smtpSaslSecurityOptions / smtpSaslTlsSecurityOptions / smtpSaslMechanismFilter through a real
 * delivery agent, real DNS and real SMTP peers: by default the password never goes out without
 * TLS (the issue: AUTH PLAIN in the clear at level `may` when the server offers AUTH but no
 * STARTTLS); inside TLS it does; the filter picks the mechanism.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../support/certs.ts';
import type { Scene } from './harness.ts';
import { rcpt, request, scene } from './harness.ts';

const SECRET = 'pl4in-s3cret';
const zone = (addr: (n: number) => string) => ({
  'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { A: [addr(1)] },
});
const sasl = {
  smtpSaslAuthEnable: true,
  smtpSaslPasswordMaps: { 'example.test': { username: 'alice', password: SECRET } },
};

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const noSecret = (lines: string[]) =>
  lines.every(
    (l) => !l.includes(Buffer.from(`\0alice\0${SECRET}`).toString('base64')) && !l.includes(SECRET),
  );

describe('SASL security options', () => {
  it('default: a server offering AUTH without STARTTLS at level may gets no AUTH; mail defers 4.7.0', async () => {
    s = await scene(zone);
    const peer = await s.peer(1, { auth: { users: { alice: SECRET } } });
    const { agent } = s.agent({ ...sasl, smtpTlsSecurityLevel: 'may' });
    const result = await agent.deliver(request());
    expect(rcpt(result, 0).status).toBe('deferred');
    expect(rcpt(result, 0).dsn).toBe('4.7.0');
    expect(rcpt(result, 0).diagnostic).toBe(
      `SASL authentication failed; cannot authenticate to server mx1.example.test[${s.addr(1)}]: no mechanism available`,
    );
    const lines = peer.commands.map((c) => c.line);
    expect(lines.some((l) => /^AUTH\b/i.test(l))).toBe(false);
    expect(lines.some((l) => /^(MAIL|RCPT|DATA)\b/i.test(l))).toBe(false);
    expect(noSecret(lines)).toBe(true);
    expect(peer.messages).toEqual([]);
  });

  it('inside TLS the default (noanonymous) allows PLAIN, and AUTH goes only over TLS', async () => {
    s = await scene(zone);
    const pki = await makeTestPki('mx1.example.test');
    const peer = await s.peer(1, { tls: pki.valid, auth: { users: { alice: SECRET } } });
    const { agent } = s.agent({ ...sasl, smtpTlsSecurityLevel: 'may' });
    const result = await agent.deliver(request());
    expect(rcpt(result, 0).status).toBe('sent');
    const auth = peer.commands.filter((c) => /^AUTH\b/i.test(c.line));
    expect(auth.length).toBeGreaterThan(0);
    expect(auth.every((c) => c.tls)).toBe(true);
    expect(noSecret(peer.commands.filter((c) => !c.tls).map((c) => c.line))).toBe(true);
  });

  it('smtpSaslTlsSecurityOptions noplaintext refuses PLAIN/LOGIN even inside TLS', async () => {
    s = await scene(zone);
    const pki = await makeTestPki('mx1.example.test');
    const peer = await s.peer(1, { tls: pki.valid, auth: { users: { alice: SECRET } } });
    const { agent } = s.agent({
      ...sasl,
      smtpTlsSecurityLevel: 'may',
      smtpSaslTlsSecurityOptions: ['noplaintext', 'noanonymous'],
    });
    const result = await agent.deliver(request());
    expect(rcpt(result, 0).status).toBe('deferred');
    expect(rcpt(result, 0).diagnostic).toContain('no mechanism available');
    expect(peer.commands.some((c) => /^AUTH\b/i.test(c.line))).toBe(false);
  });

  it('plaintext AUTH only when the operator says so (smtpSaslSecurityOptions: [noanonymous]); the filter picks LOGIN', async () => {
    s = await scene(zone);
    const peer = await s.peer(1, { auth: { users: { alice: SECRET }, methods: ['PLAIN', 'LOGIN'] } });
    const { agent } = s.agent({
      ...sasl,
      smtpSaslSecurityOptions: ['noanonymous'],
      smtpSaslMechanismFilter: ['login'],
    });
    const result = await agent.deliver(request());
    expect(rcpt(result, 0).status).toBe('sent');
    const auth = peer.commands.filter((c) => /^AUTH\b/i.test(c.line)).map((c) => c.line);
    expect(auth).toEqual(['AUTH LOGIN']);
  });

  it('a filter that leaves nothing offered: no AUTH, a warning, delivery goes on', async () => {
    s = await scene(zone);
    const peer = await s.peer(1, { auth: { users: { alice: SECRET }, methods: ['PLAIN'] } });
    const { agent, logs } = s.agent({ ...sasl, smtpSaslMechanismFilter: ['CRAM-MD5'] });
    const result = await agent.deliver(request());
    expect(rcpt(result, 0).status).toBe('sent');
    expect(peer.commands.some((c) => /^AUTH\b/i.test(c.line))).toBe(false);
    expect(logs()).toContainEqual(expect.stringContaining("offered no supported AUTH mechanisms: 'PLAIN'"));
    expect(logs()).toContainEqual(expect.stringContaining(`mx1.example.test[${s.addr(1)}]`));
  });

  it('bad words are refused naming the option', () => {
    return import('../../../src/core/options.ts').then(({ resolveOptions }) => {
      expect(() => resolveOptions({ smtpSaslSecurityOptions: ['noplain'] })).toThrow(
        /smtpSaslSecurityOptions must be a list of noplaintext, .*not "noplain"/,
      );
    });
  });
});
