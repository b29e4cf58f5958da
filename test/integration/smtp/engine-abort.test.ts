import { afterEach, describe, expect, it } from 'vitest';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { closeRawServers, FAST, openSession, rawServer, txRequest } from './engine-fixtures.ts';

let peer: SmtpPeer | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
  closeRawServers();
});

describe('engine AbortSignal', () => {
  it('writes nothing more (no terminator) once aborted while the body source is pending', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const ac = new AbortController();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const res = await o.session.transaction(
      txRequest({
        signal: ac.signal,
        message: async function* () {
          yield Buffer.from('Subject: x\r\n\r\nfirst part\r\n');
          // The abort happens while the body store is slow; nothing after it may reach the wire.
          ac.abort();
          setTimeout(release, 20);
          await gate;
          yield Buffer.from('second part\r\n');
        },
      }),
    );
    const r = res.recipients[0];
    expect(!r?.ok && r?.failure.text).toBe(
      `conversation with mx.example.test[${peer.host}] interrupted while sending message body`,
    );
    await new Promise((done) => setTimeout(done, 100));
    expect(peer.messages).toHaveLength(0);
    expect(o.lines.some((l) => l === 'C: .')).toBe(false);
  });

  it('stops a TLS handshake that never completes when the signal aborts', async () => {
    // STARTTLS is accepted, then the server stays silent: only the abort can end the wait.
    const srv = await rawServer((line, sock) => {
      if (/^EHLO/i.test(line)) sock.write('250-raw.example.test\r\n250 STARTTLS\r\n');
      else if (/^STARTTLS/i.test(line)) sock.write('220 go ahead\r\n');
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const o = await openSession(srv, {
      tls: { level: 'encrypt' },
      signal: ac.signal,
      timeouts: { ...FAST, starttls: 120_000 },
    });
    expect(o.ok).toBe(false);
    // An abort is no TLS verdict: not 4.7.5, no throttle, no plaintext retry.
    expect(!o.ok && o.failure).toMatchObject({
      status: '4.4.2',
      text: `conversation with mx.example.test[${srv.host}] interrupted while receiving the STARTTLS response`,
      throttle: false,
    });
    expect(!o.ok && o.failure.retryAsPlaintext).toBeFalsy();
  });
});
