import { describe, expect, it } from 'vitest';
import { makeTestPki } from '../../support/certs.ts';
import { startSmtpPeer } from '../../support/smtp-peer.ts';
import { rawConnect } from './raw-client.ts';

const HOST = 'mx.peer-tls.test';

describe('smtp-peer TLS', () => {
  it('offers STARTTLS with the given cert and records commands with their TLS state', async () => {
    const pki = await makeTestPki(HOST);
    const peer = await startSmtpPeer({ tls: pki.valid, requireTls: true, auth: { users: { u: 'p' } } });
    try {
      const c = await rawConnect({ port: peer.port });
      await c.reply();
      c.send('EHLO c.test\r\n');
      const ehlo = await c.reply();
      expect(ehlo).toContain('STARTTLS');
      expect(ehlo).not.toContain('REQUIRETLS');
      c.send('STARTTLS\r\n');
      expect(await c.reply()).toMatch(/^220/);
      await c.startTls({ ca: pki.caCert, servername: HOST });
      const t = c.socket as import('node:tls').TLSSocket;
      expect(t.getPeerX509Certificate()?.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(
        pki.valid.fingerprintSha256,
      );
      c.send('EHLO c.test\r\n');
      const ehlo2 = await c.reply();
      expect(ehlo2).not.toContain('STARTTLS');
      expect(ehlo2).toContain('REQUIRETLS');
      c.send(`AUTH PLAIN ${Buffer.from('\0u\0p').toString('base64')}\r\n`);
      expect(await c.reply()).toMatch(/^235/);
      c.send('MAIL FROM:<a@x.test> REQUIRETLS\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.send('RCPT TO:<b@y.test>\r\nDATA\r\n');
      expect(await c.reply()).toMatch(/^250/);
      expect(await c.reply()).toMatch(/^354/);
      c.send('secret\r\n.\r\n');
      expect(await c.reply()).toMatch(/^250/);
      c.socket.destroy();
      expect(peer.messages[0]?.tls).toBe(true);
      expect(peer.messages[0]?.mailParams).toHaveProperty('REQUIRETLS', '');
      expect(peer.commands.map((x) => [x.line.split(' ')[0], x.tls])).toEqual([
        ['EHLO', false],
        ['STARTTLS', false],
        ['EHLO', true],
        ['AUTH', true],
        ['MAIL', true],
        ['RCPT', true],
        ['DATA', true],
      ]);
    } finally {
      await peer.stop();
    }
  });

  it('injects bytes after the STARTTLS reply and records plaintext pipelined after STARTTLS', async () => {
    const pki = await makeTestPki(HOST);
    const peer = await startSmtpPeer({ tls: pki.valid, script: { starttlsInjection: '250 injected\r\n' } });
    try {
      const c = await rawConnect({ port: peer.port });
      await c.reply();
      c.send('EHLO c.test\r\n');
      await c.reply();
      c.send('STARTTLS\r\nMAIL FROM:<evil@x.test>\r\n');
      expect(await c.reply()).toBe('220 2.0.0 Ready to start TLS');
      for (let i = 0; i < 50 && !c.pending().includes('injected'); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(c.pending()).toBe('250 injected\r\n');
      await c.startTls({ ca: pki.caCert, servername: HOST });
      c.send('EHLO c.test\r\n');
      expect(await c.reply()).toMatch(/^250-/);
      c.socket.destroy();
      expect(peer.commands.map((x) => [x.line, x.tls])).toEqual([
        ['EHLO c.test', false],
        ['STARTTLS', false],
        ['MAIL FROM:<evil@x.test>', false],
        ['EHLO c.test', true],
      ]);
    } finally {
      await peer.stop();
    }
  });

  it('hides STARTTLS on request and serves SMTPS with wrapperTls', async () => {
    const pki = await makeTestPki(HOST);
    const hidden = await startSmtpPeer({ tls: pki.valid, hideStartTls: true });
    const smtps = await startSmtpPeer({ tls: pki.valid, wrapperTls: true });
    try {
      const c = await rawConnect({ port: hidden.port });
      await c.reply();
      c.send('EHLO c.test\r\n');
      expect(await c.reply()).not.toContain('STARTTLS');
      c.send('STARTTLS\r\n');
      expect(await c.reply()).toMatch(/^5/);
      c.socket.destroy();
      const s = await rawConnect({ port: smtps.port }, true);
      expect(await s.reply()).toMatch(/^220 /);
      s.send('EHLO c.test\r\n');
      expect(await s.reply()).not.toContain('STARTTLS');
      s.socket.destroy();
      expect(smtps.commands.map(({ at: _at, ...c }) => c)).toEqual([
        { conn: 1, line: 'EHLO c.test', tls: true },
      ]);
      expect(typeof smtps.commands[0]?.at).toBe('number');
    } finally {
      await hidden.stop();
      await smtps.stop();
    }
  });
});
