/**
 * 8BITMIME downgrade against real SMTP peers (spec §5.4): an 8-bit message to a server without
 * 8BITMIME arrives as 7-bit MIME (never raw), with BODY=8BITMIME only where offered; what cannot
 * be converted is soft at a non-final MX and bounces at the last; disableMimeOutputConversion
 * sends it raw (Postfix's switch).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Scene } from '../attempt/harness.ts';
import { rcpt, request, scene } from '../attempt/harness.ts';

const twoMx = (addr: (n: number) => string) => ({
  'example.test': {
    MX: [
      [10, 'mx1.example.test'],
      [20, 'mx2.example.test'],
    ] as Array<[number, string]>,
  },
  'one.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { A: [addr(1)] },
  'mx2.example.test': { A: [addr(2)] },
});

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const eight = (headers = 'Subject: t') => {
  const m = Buffer.from(`From: s@client.test\r\n${headers}\r\n\r\ncaf\xe9 cr\xe8me\r\n`, 'latin1');
  return { message: m, size: m.length, eightBit: true, recipients: [{ address: 'a@example.test' }] };
};

describe('8BITMIME downgrade', () => {
  it('to a server without 8BITMIME: quoted-printable, no BODY=, no 8-bit byte on the wire', async () => {
    s = await scene(twoMx);
    const p1 = await s.peer(1, { hide8BitMime: true, hideSmtputf8: true });
    const r = await s.agent().agent.deliver(request({ ...eight(), nexthop: 'one.test' }));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    const body = p1.messages[0]?.body ?? expect.fail('no message');
    const text = Buffer.from(body).toString('latin1');
    expect(/[\x80-\xff]/.test(text)).toBe(false);
    expect(text).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(text).toContain('caf=E9 cr=E8me');
    expect(p1.commands.find((c) => c.line.startsWith('MAIL FROM'))?.line).not.toContain('BODY=');
  });

  it('to a server with 8BITMIME: raw with BODY=8BITMIME', async () => {
    s = await scene(twoMx);
    const p1 = await s.peer(1);
    const r = await s.agent().agent.deliver(request({ ...eight(), nexthop: 'one.test' }));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(Buffer.from(p1.messages[0]?.body ?? '').toString('latin1')).toContain('caf\xe9');
    expect(p1.commands.find((c) => c.line.startsWith('MAIL FROM'))?.line).toContain(' BODY=8BITMIME');
  });

  it('8-bit headers cannot be converted: mx1 (no 8BITMIME) is skipped softly, mx2 takes it; alone it bounces 5.6.3', async () => {
    s = await scene(twoMx);
    const p1 = await s.peer(1, { hide8BitMime: true, hideSmtputf8: true });
    const p2 = await s.peer(2);
    const { agent } = s.agent();
    const r = await agent.deliver(request(eight('Subject: caf\xe9')));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx2.example.test[${s.addr(2)}]:25` });
    expect(p1.messages).toHaveLength(0);
    expect(p2.messages).toHaveLength(1);
    const b = await agent.deliver(request({ ...eight('Subject: caf\xe9'), nexthop: 'one.test' }));
    expect(rcpt(b, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.6.3',
      diagnostic: `message has 8-bit header data that cannot be converted to 7 bits, but host mx1.example.test[${s.addr(1)}] does not support 8BITMIME`,
    });
    expect(p1.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
  });

  it('disableMimeOutputConversion sends the 8-bit body as it is (Postfix behaviour)', async () => {
    s = await scene(twoMx);
    const p1 = await s.peer(1, { hide8BitMime: true, hideSmtputf8: true });
    const r = await s
      .agent({ disableMimeOutputConversion: true })
      .agent.deliver(request({ ...eight(), nexthop: 'one.test' }));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(Buffer.from(p1.messages[0]?.body ?? '').toString('latin1')).toContain('caf\xe9');
  });
});
