import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpConnector } from '../../../src/smtp/connector.ts';
import { type SmtpPeer, startSmtpPeer, tempSocketPath } from '../../support/smtp-peer.ts';
import { heloParams, openSession, txRequest } from './engine-fixtures.ts';

let peer: SmtpPeer | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
});

describe('engine handshake', () => {
  it('falls back to HELO when EHLO is refused (not 421)', async () => {
    peer = await startSmtpPeer({ script: { ehlo: '502 5.5.2 no ESMTP here' } });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    expect(o.session.state.esmtp).toBe(false);
    expect(o.session.state.capabilities).toEqual({});
    expect(peer.commands.map((c) => c.line.split(' ')[0])).toEqual(['EHLO', 'HELO']);
    const res = await o.session.transaction(txRequest());
    expect(res.recipients[0]?.ok).toBe(true);
    o.session.close();
  });

  it('treats 421 on EHLO as a site failure without HELO', async () => {
    peer = await startSmtpPeer({ script: { ehlo: '421 4.3.2 shutting down' } });
    const o = await openSession(peer);
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.failure).toMatchObject({ handler: 'site', status: '4.3.2', throttle: true });
      expect(o.failure.text).toBe(
        `host mx.example.test[${peer.host}] refused to talk to me: 421 4.3.2 shutting down`,
      );
    }
    expect(peer.commands.some((c) => c.line.startsWith('HELO'))).toBe(false);
  });

  it('softens a 5xx greeting with skip5xxGreeting and keeps it hard without', async () => {
    peer = await startSmtpPeer({ script: { greeting: '554 5.7.1 go away' } });
    const soft = await openSession(peer);
    expect(!soft.ok && soft.failure.status).toBe('4.7.1');
    const hard = await openSession(peer, { skip5xxGreeting: false });
    expect(!hard.ok && hard.failure.status).toBe('5.7.1');
    if (!hard.ok) expect(hard.failure.text).toContain('refused to talk to me: 554 5.7.1 go away');
  });

  it('detects a mail loop on the EHLO name (4.4.6, 5.4.6 at the best MX)', async () => {
    peer = await startSmtpPeer({ script: { ehloName: 'client.example.test' } });
    const o = await openSession(peer);
    expect(!o.ok && o.failure.status).toBe('4.4.6');
    if (!o.ok) expect(o.failure.text).toBe('mail for example.test loops back to myself');
    const best = await openSession(peer, { bestMx: true });
    expect(!best.ok && best.failure.status).toBe('5.4.6');
    expect(peer.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
  });

  it('requires SMTPUTF8 when the message needs it (5.6.7, soft at non-final)', async () => {
    peer = await startSmtpPeer({ hideSmtputf8: true });
    const o = await openSession(peer, { smtputf8Required: true });
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.failure).toMatchObject({
        handler: 'misc',
        status: '5.6.7',
        softNonFinal: true,
        dontCache: true,
        throttle: false,
      });
      expect(o.failure.text).toBe(
        `message requires SMTPUTF8, but no server was found that supports SMTPUTF8. The last attempted server was mx.example.test[${peer.host}]`,
      );
    }
  });

  it('refuses plaintext at level encrypt when STARTTLS is not offered (4.7.4)', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer, { tls: { level: 'encrypt' } });
    expect(!o.ok && o.failure.status).toBe('4.7.4');
    if (!o.ok)
      expect(o.failure.text).toBe(
        `TLS is required, but was not offered by host mx.example.test[${peer.host}]`,
      );
    expect(peer.commands.map((c) => c.line.split(' ')[0]).filter((v) => v !== 'QUIT')).toEqual(['EHLO']);
  });

  it('reports a timeout with the stage text', async () => {
    peer = await startSmtpPeer({ script: { delayMs: { ehlo: 500 } } });
    const o = await openSession(peer, { timeouts: { ...txRequest().timeouts, helo: 100 } });
    expect(!o.ok && o.failure.text).toBe(
      `conversation with mx.example.test[${peer.host}] timed out while performing the EHLO handshake`,
    );
  });

  it('reports a connection refused as 4.4.1', async () => {
    peer = await startSmtpPeer({});
    const port = peer.port;
    await peer.stop();
    peer = undefined;
    const o = await openSession({ host: '127.0.0.1', port });
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.failure).toMatchObject({ handler: 'sess', status: '4.4.1', throttle: true });
      expect(o.failure.text).toBe(`connect to mx.example.test[127.0.0.1]:${port}: Connection refused`);
    }
  });

  it('reports a missing unix socket with its path', async () => {
    const path = await tempSocketPath('none.sock');
    const o = await openSession({ host: '', port: 0, socketPath: path }, {}, 'lmtp');
    expect(!o.ok && o.failure.text).toBe(`connect to mx.example.test[${path}]: No such file or directory`);
  });
});

describe('engine AUTH', () => {
  for (const mech of ['PLAIN', 'LOGIN'] as const) {
    it(`authenticates with ${mech} and keeps the secret out of the transcript`, async () => {
      peer = await startSmtpPeer({ auth: { users: { alice: 's3cret-pw' }, methods: [mech] } });
      const o = await openSession(peer, {
        // Plaintext AUTH allowed explicitly (the default smtpSaslSecurityOptions refuse it).
        sasl: { username: 'alice', password: 's3cret-pw', mechanisms: [mech], securityOptions: [] },
      });
      if (!o.ok) throw new Error(o.failure.text);
      expect(o.session.state.authenticated).toBe(true);
      const joined = o.lines.join('\n');
      expect(joined).toContain('*****');
      expect(joined).not.toContain('s3cret-pw');
      expect(joined).not.toContain(Buffer.from('s3cret-pw').toString('base64'));
      expect(joined).not.toContain(Buffer.from('\0alice\0s3cret-pw').toString('base64'));
      expect(joined).not.toContain(Buffer.from('alice').toString('base64'));
      o.session.close();
    });
  }

  it('reports a rejected password without the secret, softened to 4.x', async () => {
    peer = await startSmtpPeer({ auth: { users: { alice: 'right' } } });
    const o = await openSession(peer, {
      sasl: { username: 'alice', password: 'wrong-pw', securityOptions: [] },
    });
    expect(o.ok).toBe(false);
    if (!o.ok) {
      expect(o.failure.status.startsWith('4.')).toBe(true);
      expect(o.failure.text).toMatch(
        /^SASL authentication failed; server mx\.example\.test\[127\.0\.0\.1\] said: 535/,
      );
      expect(JSON.stringify(o.failure)).not.toContain('wrong-pw');
    }
    expect(o.lines.join('\n')).not.toContain('wrong-pw');
  });
});

describe('engine IPv6', () => {
  it('connects over ::1 and names the address in brackets', async () => {
    peer = await startSmtpPeer({ host: '::1' });
    const lines: string[] = [];
    const c = await createSmtpConnector({ transcript: (d, l) => lines.push(`${d} ${l}`) }).connect({
      endpoint: {
        kind: 'inet',
        host: 'mx6.example.test',
        address: '::1',
        port: peer.port,
        family: 6,
        preference: 0,
      },
      protocol: 'smtp',
      connectTimeoutMs: 2000,
      bindAddress6: '::1',
    });
    if (!c.ok) throw new Error(c.failure.text);
    const h = await c.connection.handshake(heloParams());
    if (!h.ok) throw new Error(h.failure.text);
    const res = await h.session.transaction(txRequest());
    expect(res.recipients[0]?.ok).toBe(true);
    expect(lines[0]).toBe(`I connected to mx6.example.test[::1]:${peer.port}`);
    h.session.close();
  });
});
