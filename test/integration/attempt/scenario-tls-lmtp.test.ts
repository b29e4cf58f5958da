/** Spec §14 scenarios about TLS, SMTPUTF8, REQUIRETLS and LMTP (37-42, 50). */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../support/certs.ts';
import { startSmtpPeer } from '../../support/smtp-peer.ts';
import type { Scene } from './harness.ts';
import { order, rcpt, request, scene } from './harness.ts';

const oneMx = (addr: (n: number) => string) => ({
  'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { A: [addr(1)] },
  'mx2.example.test': { A: [addr(2)] },
});

let s: Scene | undefined;
let raw: Server | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
  await new Promise<void>((resolve) => (raw ? raw.close(() => resolve()) : resolve()));
  raw = undefined;
});

/** A raw SMTP server that offers STARTTLS and answers the TLS ClientHello with garbage. */
async function brokenTlsServer(host: string): Promise<{ server: Server; messages: number }> {
  const state = { messages: 0 };
  const server = createServer((sock) => {
    let inData = false;
    let tlsPending = false;
    let buf = '';
    sock.write('220 mx1.example.test ESMTP\r\n');
    sock.on('data', (chunk) => {
      if (tlsPending) {
        sock.end('garbage, not TLS\r\n');
        return;
      }
      buf += chunk.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            state.messages++;
            sock.write('250 2.0.0 Ok: queued\r\n');
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') sock.write('250-mx1.example.test\r\n250 STARTTLS\r\n');
        else if (verb === 'STAR') {
          tlsPending = true;
          sock.write('220 2.0.0 go ahead\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          sock.write('354 go\r\n');
        } else if (verb === 'QUIT') sock.end('221 bye\r\n');
        else sock.write('250 2.0.0 ok\r\n');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(25, host, resolve));
  return {
    server,
    get messages() {
      return state.messages;
    },
  };
}

describe('scenarios: TLS', () => {
  it('37: level may, broken TLS handshake → deferred 4.7.5, no throttle; an old message retries in plaintext', async () => {
    s = await scene(oneMx);
    const p = await brokenTlsServer(s.addr(1));
    raw = p.server;
    const { agent, logs } = s.agent({ smtpTlsSecurityLevel: 'may' });
    const fresh = await agent.deliver(request());
    expect(rcpt(fresh, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.5',
      relay: `mx1.example.test[${s.addr(1)}]:25`,
      diagnostic: 'Cannot start TLS: handshake failure',
    });
    expect(fresh.hopStatus).toBeUndefined();
    const old = await agent.deliver(request({ arrivalTime: Date.now() - 400_000 }));
    expect(order(old)).toEqual([`mx1.example.test[${s.addr(1)}]`, `mx1.example.test[${s.addr(1)}]`]);
    expect(rcpt(old, 0)).toMatchObject({ status: 'sent' });
    expect(p.messages).toBe(1);
    // The plaintext retry shows the downgrade in the log line (§11.1 tls=).
    expect(
      logs().filter((l) => l.startsWith('QID1: to=<a@example.test>') && l.includes('status=sent')),
    ).toEqual([expect.stringContaining(', tls=may:none, dsn=2.0.0, status=sent')]);
  });

  it('tls= in the recipient log line: may with STARTTLS, may:none without it, absent at level none or when disabled', async () => {
    const pki = await makeTestPki('mx1.example.test');
    s = await scene(oneMx);
    await s.peer(1, { tls: pki.valid });
    const line = (l: string[], qid: string) =>
      l.find((x) => x.startsWith(`${qid}: to=<a@example.test>`)) ?? '';
    const may = s.agent({ smtpTlsSecurityLevel: 'may' });
    await may.agent.deliver(request({ queueId: 'Q1' }));
    expect(line(may.logs(), 'Q1')).toMatch(/, delays=[\d./]+, tls=may, dsn=2\.0\.0, status=sent \(/);
    const plain = await s.peer(2);
    const noStarttls = s.agent({ smtpTlsSecurityLevel: 'may' });
    await noStarttls.agent.deliver(request({ queueId: 'Q2', nexthop: `[${s.addr(2)}]` }));
    expect(line(noStarttls.logs(), 'Q2')).toContain(', tls=may:none, dsn=2.0.0, status=sent');
    expect(plain.messages).toHaveLength(1);
    const none = s.agent({ smtpTlsSecurityLevel: 'none' });
    await none.agent.deliver(request({ queueId: 'Q3' }));
    expect(line(none.logs(), 'Q3')).not.toContain('tls=');
    const off = s.agent({ smtpTlsSecurityLevel: 'may', smtpLogTlsFeatureStatus: false });
    await off.agent.deliver(request({ queueId: 'Q4' }));
    expect(line(off.logs(), 'Q4')).toMatch(/, delays=[\d./]+, dsn=2\.0\.0, status=sent/);
  });

  it('38: level encrypt, no STARTTLS → deferred 4.7.4, throttle', async () => {
    s = await scene(oneMx);
    await s.peer(1);
    const r = await s.agent({ smtpTlsSecurityLevel: 'encrypt' }).agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.4',
      diagnostic: `TLS is required, but was not offered by host mx1.example.test[${s.addr(1)}]`,
    });
    expect(r.hopStatus?.status).toBe('4.7.4');
  });

  it('39: level verify, certificate name mismatch → deferred 4.7.5 Server certificate not verified', async () => {
    const pki = await makeTestPki('mx1.example.test');
    s = await scene(oneMx);
    await s.peer(1, { tls: pki.wrongName });
    const r = await s
      .agent({ smtpTlsSecurityLevel: 'verify', smtpTlsCAfile: [pki.caCert] })
      .agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.5',
      diagnostic: 'Server certificate not verified',
    });
  });

  it('40: SMTPUTF8 needed; mx1 lacks it, mx2 has it → sent via mx2 with SMTPUTF8; mx1 alone → bounced 5.6.7', async () => {
    s = await scene((addr) => ({
      ...oneMx(addr),
      'example.test': {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
        ],
      },
      'one.test': { MX: [[10, 'mx1.example.test']] },
    }));
    await s.peer(1, { hideSmtputf8: true });
    const p2 = await s.peer(2);
    const { agent } = s.agent();
    const utf8 = { smtputf8: true, recipients: [{ address: 'ü@example.test' }] };
    const r = await agent.deliver(request(utf8));
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`, `mx2.example.test[${s.addr(2)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.example.test[${s.addr(2)}]:25` });
    expect(p2.commands.some((c) => c.line.startsWith('MAIL FROM:') && c.line.includes(' SMTPUTF8'))).toBe(
      true,
    );
    const b = await agent.deliver(request({ ...utf8, nexthop: 'one.test' }));
    expect(rcpt(b, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.6.7',
      diagnostic: `message requires SMTPUTF8, but no server was found that supports SMTPUTF8. The last attempted server was mx1.example.test[${s.addr(1)}]`,
    });
  });

  it('50: REQUIRETLS with level may under the default (enforce) policy → bounced 5.7.10, relay=none', async () => {
    s = await scene(oneMx);
    const p = await s.peer(1);
    const r = await s.agent({ smtpTlsSecurityLevel: 'may' }).agent.deliver(request({ requireTls: true }));
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.7.10',
      relay: 'none',
      diagnostic:
        "Sender requested REQUIRETLS, but my configured TLS security level 'may' disables certificate matching. The last attempted server was mx1.example.test",
    });
    expect(p.connections).toBe(0);
  });
});

describe('scenarios: LMTP', () => {
  it('41: unix:/nonexistent → deferred 4.4.1 No such file or directory, relay=none', async () => {
    s = await scene(() => ({}));
    const r = await s.agent().agent.deliver(request({ protocol: 'lmtp', nexthop: 'unix:/nonexistent/lmtp' }));
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.4.1',
      relay: 'none',
      diagnostic: 'connect to client.test[/nonexistent/lmtp]: No such file or directory',
    });
  });

  it('42: inet:[addr]:24, end-of-data a 250, b 452 → a sent, b deferred 4.2.2', async () => {
    s = await scene(() => ({}));
    const peer = await startSmtpPeer({
      host: s.addr(1),
      port: 24,
      lmtp: true,
      script: {
        dataDone: (rcpts) => rcpts.map((a) => (a.startsWith('b@') ? '452 4.2.2 over quota' : '250 2.0.0 ok')),
      },
    });
    s.peers.push(peer);
    const r = await s.agent().agent.deliver(request({ protocol: 'lmtp', nexthop: `inet:[${s.addr(1)}]:24` }));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `${s.addr(1)}[${s.addr(1)}]:24` });
    expect(rcpt(r, 1)).toMatchObject({
      status: 'deferred',
      dsn: '4.2.2',
      diagnostic: `host ${s.addr(1)}[${s.addr(1)}] said: 452 4.2.2 over quota (in reply to end of DATA command)`,
    });
  });
});
