import { afterEach, describe, expect, it } from 'vitest';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { openSession, txRequest } from './engine-fixtures.ts';

let peer: SmtpPeer | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
});

const rcpts = (...a: string[]) => a.map((address) => ({ address }));

describe('engine transaction', () => {
  it('pipelines MAIL, RCPT and DATA and keeps every recipient reply', async () => {
    peer = await startSmtpPeer({
      script: { rcpt: (a) => (a.startsWith('bad') ? '550 5.1.1 no such user' : undefined) },
    });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    expect(o.session.state.capabilities.PIPELINING).toBeDefined();
    const res = await o.session.transaction(
      txRequest({ recipients: rcpts('a@x.test', 'bad@x.test', 'c@x.test') }),
    );
    expect(res.completeSession).toBe(true);
    expect(res.reusable).toBe(true);
    const [a, b, c] = res.recipients;
    expect(a?.ok).toBe(true);
    expect(c?.ok).toBe(true);
    expect(b?.ok).toBe(false);
    if (b && !b.ok) {
      expect(b.failure.handler).toBe('rcpt');
      expect(b.failure.status).toBe('5.1.1');
      expect(b.failure.text).toBe(
        `host mx.example.test[${peer.host}] said: 550 5.1.1 no such user (in reply to RCPT TO command)`,
      );
    }
    expect(peer.messages).toHaveLength(1);
    expect(peer.messages[0]?.to).toEqual(['a@x.test', 'c@x.test']);
    // Pipelined: MAIL, RCPT×3, DATA were written before the first reply was read.
    const cIdx = o.lines.findIndex((l) => l.startsWith('C: MAIL'));
    expect(o.lines.slice(cIdx, cIdx + 5).every((l) => l.startsWith('C: '))).toBe(true);
    expect(o.session.isUsable()).toBe(true);
    expect(await o.session.reset(1000)).toBe(true);
    const again = await o.session.transaction(txRequest());
    expect(again.recipients[0]?.ok).toBe(true);
    expect(o.session.state.reuseCount).toBe(2);
    await o.session.quit(1000);
  });

  it('runs lock-step without PIPELINING and skips DATA when no recipient is accepted', async () => {
    peer = await startSmtpPeer({ hidePipelining: true, script: { rcpt: '550 5.1.1 nobody' } });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest({ recipients: rcpts('a@x.test', 'b@x.test') }));
    expect(res.recipients.map((r) => r.ok)).toEqual([false, false]);
    expect(peer.commands.some((c) => c.line.startsWith('DATA'))).toBe(false);
    expect(peer.commands.some((c) => c.line.startsWith('RSET'))).toBe(true);
    expect(res.reusable).toBe(true);
    o.session.close();
  });

  it('fails every recipient with the MAIL FROM reply', async () => {
    peer = await startSmtpPeer({ script: { mail: '452 4.3.1 insufficient storage' } });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest({ recipients: rcpts('a@x.test', 'b@x.test') }));
    for (const r of res.recipients) {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.failure.handler).toBe('mesg');
        expect(r.failure.status).toBe('4.3.1');
        expect(r.failure.text).toContain('(in reply to MAIL FROM command)');
        expect(r.failure.throttle).toBe(false);
      }
    }
    o.session.close();
  });

  it('reports a disconnect after the final dot as "may be sent more than once"', async () => {
    peer = await startSmtpPeer({ script: { disconnectAt: 'dot' } });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest());
    const r = res.recipients[0];
    expect(r?.ok).toBe(false);
    if (r && !r.ok) {
      expect(r.failure.status).toBe('4.4.2');
      expect(r.failure.handler).toBe('stream');
      expect(r.failure.throttle).toBe(true);
      expect(r.failure.text).toBe(
        `lost connection with mx.example.test[${peer.host}] while sending end of data -- message may be sent more than once`,
      );
    }
    expect(res.completeSession).toBe(false);
    expect(o.session.isUsable()).toBe(false);
  });

  it('checks SIZE before MAIL (5.3.4) and sends nothing', async () => {
    peer = await startSmtpPeer({ size: 10 });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(txRequest({ size: 100 }));
    const r = res.recipients[0];
    expect(r && !r.ok && r.failure.status).toBe('5.3.4');
    if (r && !r.ok)
      expect(r.failure.text).toBe(
        `message size 100 exceeds size limit 10 of server mx.example.test[${peer.host}]`,
      );
    expect(res.completeSession).toBe(true);
    expect(peer.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
    o.session.close();
  });

  it('sends SIZE, BODY, ENVID, RET, NOTIFY and ORCPT when offered', async () => {
    peer = await startSmtpPeer({ size: 100000 });
    const o = await openSession(peer);
    if (!o.ok) throw new Error(o.failure.text);
    const res = await o.session.transaction(
      txRequest({
        eightBit: true,
        dsn: { ret: 'HDRS', envid: 'id+1 x' },
        recipients: [{ address: 'a@x.test', notify: ['FAILURE', 'DELAY'], orcpt: 'orig=a@x.test' }],
      }),
    );
    expect(res.recipients[0]?.ok).toBe(true);
    const mail = peer.commands.find((c) => c.line.startsWith('MAIL'))?.line ?? '';
    expect(mail).toMatch(
      /^MAIL FROM:<sender@example.org> SIZE=\d+ BODY=8BITMIME RET=HDRS ENVID=id\+2B1\+20x$/,
    );
    const rcpt = peer.commands.find((c) => c.line.startsWith('RCPT'))?.line ?? '';
    expect(rcpt).toBe('RCPT TO:<a@x.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;orig+3Da@x.test');
    o.session.close();
  });
});
