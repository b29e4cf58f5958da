import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpConnector } from '../../../src/smtp/connector.ts';
import { isDetachable, resumeSession } from '../../../src/smtp/session.ts';
import { type SmtpPeer, startSmtpPeer, tempSocketPath } from '../../support/smtp-peer.ts';
import {
  closeRawServers,
  endpointOf,
  eventually,
  heloParams,
  openSession,
  rawServer,
  txRequest,
} from './engine-fixtures.ts';

let peer: SmtpPeer | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
  closeRawServers();
});

const rcpts = (...a: string[]) => a.map((address) => ({ address }));

describe('engine LMTP', () => {
  it('speaks LHLO over a unix socket and keeps one end-of-data reply per recipient', async () => {
    const socketPath = await tempSocketPath('lmtp.sock');
    peer = await startSmtpPeer({
      socketPath,
      lmtp: true,
      script: {
        rcpt: (a) => (a.startsWith('gone') ? '550 5.1.1 gone' : undefined),
        dataDone: (list) =>
          list.map((r) => (r.startsWith('full') ? '452 4.2.2 mailbox full' : '250 2.0.0 stored')),
      },
    });
    const o = await openSession(peer, { loopDetect: false }, 'lmtp');
    if (!o.ok) throw new Error(o.failure.text);
    expect(peer.commands[0]?.line.startsWith('LHLO')).toBe(true);
    const res = await o.session.transaction(
      txRequest({ recipients: rcpts('a@x.test', 'gone@x.test', 'full@x.test', 'b@x.test') }),
    );
    const [a, gone, full, b] = res.recipients;
    expect(a?.ok && a.reply.text).toBe('250 2.0.0 stored');
    expect(b?.ok).toBe(true);
    expect(!gone?.ok && gone?.failure.text).toBe(
      `host mx.example.test[${socketPath}] said: 550 5.1.1 gone (in reply to RCPT TO command)`,
    );
    if (full && !full.ok) {
      expect(full.failure).toMatchObject({ handler: 'rcpt', status: '4.2.2', command: 'end of DATA' });
      expect(full.failure.text).toContain('(in reply to end of DATA command)');
    } else throw new Error('full@ should fail');
    expect(res.completeSession).toBe(true);
    o.session.close();
  });
});

describe('engine session handover', () => {
  it('continues on the same socket with resumeSession, without a new greeting or EHLO', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const first = await o.session.transaction(txRequest());
    expect(first.recipients[0]?.ok).toBe(true);
    if (!isDetachable(o.session)) throw new Error('not detachable');
    const handed = o.session.detach();
    if (!handed) throw new Error('detach failed');
    expect(o.session.isUsable()).toBe(false);
    const wire = JSON.parse(JSON.stringify(handed.state));
    const resumed = resumeSession(handed.socket, wire);
    expect(resumed.state.reuseCount).toBe(1);
    const second = await resumed.transaction(txRequest({ recipients: rcpts('z@x.test') }));
    expect(second.recipients[0]?.ok).toBe(true);
    expect(resumed.state.reuseCount).toBe(2);
    expect(peer.connections).toBe(1);
    expect(peer.commands.filter((c) => c.line.startsWith('EHLO'))).toHaveLength(1);
    expect(peer.messages).toHaveLength(2);
    await resumed.quit(500);
  });

  it('is not usable after a stray byte while idle', async () => {
    const srv = await rawServer((line, sock) => {
      if (line.startsWith('EHLO')) {
        sock.write('250-raw.example.test\r\n250 PIPELINING\r\n');
        setTimeout(() => sock.write('250 unexpected\r\n'), 300);
      }
    });
    const o = await openSession(srv);
    if (!o.ok) throw new Error(o.failure.text);
    expect(o.session.isUsable()).toBe(true);
    expect(await eventually(() => !o.session.isUsable())).toBe(true);
    o.session.close();
  });
});

describe('engine BDAT and reply bombs', () => {
  it('sends BDAT chunks with LAST when CHUNKING is offered', async () => {
    const srv = await rawServer((line, sock) => {
      if (line.startsWith('EHLO')) sock.write('250-raw.example.test\r\n250-CHUNKING\r\n250 PIPELINING\r\n');
      else if (line.startsWith('MAIL') || line.startsWith('RCPT')) sock.write('250 ok\r\n');
      else if (line.startsWith('BDAT')) sock.write('250 2.0.0 queued as BD1\r\n');
    });
    const o = await openSession(srv);
    if (!o.ok) throw new Error(o.failure.text);
    const body = Buffer.from('Subject: x\n\n.dot line\nend');
    const res = await o.session.transaction(txRequest({ message: body, size: 40 }));
    expect(res.recipients[0]?.ok && res.recipients[0].reply.text).toBe('250 2.0.0 queued as BD1');
    const wire = Buffer.concat(srv.raw).toString('latin1');
    const expected = 'Subject: x\r\n\r\n.dot line\r\nend\r\n';
    expect(wire).toContain(`BDAT ${expected.length} LAST\r\n${expected}`);
    expect(wire).not.toContain('DATA\r\n');
    o.session.close();
  });

  it('reads a reply bomb with bounded memory (as Postfix) until the stage deadline ends it with 4.4.2', async () => {
    const srv = await rawServer((line, sock) => {
      if (line.startsWith('EHLO')) sock.write('250-raw.example.test\r\n250 PIPELINING\r\n');
      else if (line.startsWith('MAIL')) {
        const chunk = '250-bomb bomb bomb bomb bomb bomb bomb bomb bomb bomb bomb bomb\r\n'.repeat(200);
        let n = 0;
        const pump = (): void => {
          if (sock.destroyed || n++ > 200) return;
          sock.write(chunk, () => setImmediate(pump));
        };
        pump();
      }
    });
    const o = await openSession(srv);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest());
    const r = res.recipients[0];
    expect(r?.ok).toBe(false);
    if (r && !r.ok) {
      expect(r.failure.status).toBe('4.4.2');
      expect(r.failure.text).toContain('timed out while sending MAIL FROM');
    }
    expect(res.reusable).toBe(false);
  });
});

describe('engine connect', () => {
  it('refuses a non-local enforced bind address with 4.4.0', async () => {
    const c = createSmtpConnector();
    const r = await c.connect({
      endpoint: endpointOf({ host: '127.0.0.1', port: 9 }),
      protocol: 'smtp',
      connectTimeoutMs: 1000,
      bindAddress: '192.0.2.77',
      bindAddressEnforce: true,
    });
    expect(!r.ok && r.failure).toMatchObject({ status: '4.4.0', text: 'server configuration error' });
  });

  it('refuses CR/LF in the EHLO name before writing it', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer, heloParams({ heloName: 'x\r\nMAIL FROM:<evil>' }));
    expect(o.ok).toBe(false);
    expect(peer.commands).toHaveLength(0);
  });
});
