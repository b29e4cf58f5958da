import { afterEach, describe, expect, it } from 'vitest';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { closeRawServers, eventually, FAST, openSession, rawServer, txRequest } from './engine-fixtures.ts';

let peer: SmtpPeer | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
  closeRawServers();
});

describe('engine pipelining', () => {
  it('keeps every reply of 300 recipients across several 4096-byte windows', async () => {
    peer = await startSmtpPeer({
      script: { rcpt: (a) => (a.startsWith('r7') ? '451 4.7.1 later' : undefined) },
    });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const recipients = Array.from({ length: 300 }, (_, i) => ({
      address: `r${i}-${'x'.repeat(20)}@example.test`,
    }));
    const res = await o.session.transaction(txRequest({ recipients }));
    res.recipients.forEach((r, i) => {
      expect(r.ok).toBe(!String(i).startsWith('7'));
    });
    expect(peer.messages[0]?.to.length).toBe(300 - 11);
    // The window: no batch of unanswered commands went over 4096 bytes.
    let batch = 0;
    let max = 0;
    for (const l of o.lines) {
      if (l.startsWith('C: ')) batch += l.length - 3 + 2;
      else if (l.startsWith('S: ')) batch = 0;
      max = Math.max(max, batch);
    }
    expect(max).toBeLessThanOrEqual(4096);
    o.session.close();
  });

  it('sends a bare "." when DATA got 354 but every RCPT failed', async () => {
    const got: string[] = [];
    let data = false;
    const srv = await rawServer((line, sock) => {
      got.push(line);
      if (data) {
        if (line === '.') {
          data = false;
          sock.write('554 5.5.1 no valid recipients\r\n');
        }
        return;
      }
      if (line.startsWith('EHLO')) sock.write('250-raw.example.test\r\n250 PIPELINING\r\n');
      else if (line.startsWith('MAIL')) sock.write('250 ok\r\n');
      else if (line.startsWith('RCPT')) sock.write('550 5.1.1 unknown\r\n');
      else if (line === 'DATA') {
        data = true;
        sock.write('354 go\r\n');
      } else if (line === 'RSET') sock.write('250 reset\r\n');
    });
    const o = await openSession(srv);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(
      txRequest({ recipients: [{ address: 'a@x.test' }, { address: 'b@x.test' }] }),
    );
    expect(res.recipients.every((r) => !r.ok && r.failure.handler === 'rcpt')).toBe(true);
    const i = got.indexOf('DATA');
    expect(got.slice(i + 1)).toEqual(['.', 'RSET']);
    expect(res.reusable).toBe(true);
    o.session.close();
  });

  it('reads an early 5xx when the server closes during the body', async () => {
    const srv = await rawServer((line, sock) => {
      if (line.startsWith('EHLO')) sock.write('250-raw.example.test\r\n250 PIPELINING\r\n');
      else if (line.startsWith('MAIL') || line.startsWith('RCPT')) sock.write('250 ok\r\n');
      else if (line === 'DATA') sock.write('354 go\r\n');
      else if (line.startsWith('X')) {
        sock.end('552 5.3.4 message too big for me\r\n');
      }
    });
    const o = await openSession(srv);
    if (!o.ok) throw new Error(o.failure.text);
    const message = Buffer.from(`Subject: big\r\n\r\n${'X'.repeat(80)}\r\n`.repeat(20000));
    const res = await o.session.transaction(txRequest({ message, size: message.length }));
    const r = res.recipients[0];
    expect(r?.ok).toBe(false);
    if (r && !r.ok) {
      expect(['5.3.4', '4.4.2']).toContain(r.failure.status);
      if (r.failure.status === '4.4.2') expect(r.failure.text).toContain('while sending message body');
      else expect(r.failure.handler).toBe('mesg');
    }
    expect(await eventually(() => !o.session.isUsable())).toBe(true);
  });

  it('gives up on an AbortSignal without throwing', async () => {
    peer = await startSmtpPeer({ script: { delayMs: { rcpt: 2000 } } });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const res = await o.session.transaction(txRequest({ signal: ac.signal, timeouts: FAST }));
    const r = res.recipients[0];
    expect(!r?.ok && r?.failure.text).toBe(
      `conversation with mx.example.test[${peer.host}] interrupted while sending RCPT TO`,
    );
    expect(o.session.isUsable()).toBe(false);
  });

  it('refuses a NUL byte before MAIL, and a bad recipient alone', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const nul = await o.session.transaction(txRequest({ message: Buffer.from('a\0b\r\n') }));
    expect(!nul.recipients[0]?.ok && nul.recipients[0]?.failure.status).toBe('5.6.0');
    expect(peer.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
    const mixed = await o.session.transaction(
      txRequest({ recipients: [{ address: 'x\r\nDATA@y' }, { address: 'ok@y.test' }] }),
    );
    expect(!mixed.recipients[0]?.ok && mixed.recipients[0]?.failure.status).toBe('5.1.3');
    expect(mixed.recipients[1]?.ok).toBe(true);
    expect(peer.commands.some((c) => c.line.includes('DATA@y'))).toBe(false);
    o.session.close();
  });
});

describe('engine message source errors', () => {
  it('turns a failing body stream into a 4.3.0 local data error, never a bounce', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(
      txRequest({
        message: async function* () {
          yield Buffer.from('Subject: x\r\n\r\n');
          throw new Error('body store unavailable');
        },
      }),
    );
    const r = res.recipients[0];
    expect(!r?.ok && r?.failure).toMatchObject({
      status: '4.3.0',
      text: `local data error while talking to mx.example.test[${peer.host}]`,
    });
    expect(peer.messages).toHaveLength(0);
    expect(o.session.isUsable()).toBe(false);
  });

  it('aborts without the terminator when a streamed body has a NUL', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(
      txRequest({
        message: async function* () {
          yield Buffer.from('Subject: x\r\n\r\nok\r\n');
          yield Buffer.from('bad\0byte\r\n');
        },
      }),
    );
    const r = res.recipients[0];
    expect(!r?.ok && r?.failure).toMatchObject({ status: '5.6.0', handler: 'mesg' });
    await new Promise((done) => setTimeout(done, 50));
    expect(peer.messages).toHaveLength(0);
  });
});

describe('QUIT behind the final dot (§5.3)', () => {
  it('with PIPELINING and quitAfterData, writes QUIT before reading the end-of-data reply', async () => {
    peer = await startSmtpPeer({});
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest({ quitAfterData: true }));
    expect(res.recipients[0]?.ok).toBe(true);
    expect(res.reusable).toBe(false);
    const quitAt = o.lines.indexOf('C: QUIT');
    const goAt = o.lines.findIndex((l) => l.startsWith('S: 354'));
    const dotReplyAt = o.lines.findIndex((l, i) => i > goAt && l.startsWith('S: 250'));
    expect(goAt).toBeGreaterThan(-1);
    expect(quitAt).toBeGreaterThan(-1);
    expect(quitAt).toBeLessThan(dotReplyAt);
    expect(peer.messages).toHaveLength(1);
    expect(o.session.isUsable()).toBe(false);
    o.session.close();
  });

  it('without PIPELINING the transaction leaves QUIT to the caller', async () => {
    peer = await startSmtpPeer({ hidePipelining: true });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest({ quitAfterData: true }));
    expect(res.recipients[0]?.ok).toBe(true);
    expect(o.lines.includes('C: QUIT')).toBe(false);
    await o.session.quit(1000);
  });
});
