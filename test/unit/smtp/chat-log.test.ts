import { describe, expect, it } from 'vitest';
import type { DeliveryFailure, SmtpReply } from '../../../src/core/types.ts';
import { createChatLog, protocolErrorCode } from '../../../src/smtp/chat-log.ts';

const reply = (code: number): SmtpReply => ({
  code,
  status: '5.5.0',
  enhanced: false,
  lines: [`${code} x`],
  text: `${code} x`,
});
const failure = (code: number): DeliveryFailure => ({
  handler: 'rcpt',
  status: '5.0.0',
  text: 't',
  throttle: false,
  reply: reply(code),
});

describe('chat log (smtp_chat history)', () => {
  it('records Out:/In: lines and returns nothing while no class was raised', () => {
    const log = createChatLog();
    log.record('S', '220 mx ESMTP');
    log.record('C', 'EHLO me');
    expect(log.take()).toBeUndefined();
  });

  it('returns the history with its classes, then starts over', () => {
    const log = createChatLog();
    log.record('S', '220 mx ESMTP');
    log.record('C', 'MAIL FROM:<a@b>');
    log.record('S', '250 ok');
    log.mark('protocol');
    expect(log.take()).toEqual({
      classes: ['protocol'],
      lines: ['In:  220 mx ESMTP', 'Out: MAIL FROM:<a@b>', 'In:  250 ok'],
      omitted: 0,
    });
    log.record('C', 'QUIT');
    expect(log.take()).toBeUndefined();
  });

  it('masks AUTH arguments and every client line answering a 334 challenge', () => {
    const log = createChatLog();
    log.record('C', 'AUTH PLAIN AGpvZQBzZWNyZXQ=');
    log.record('S', '535 5.7.8 no');
    log.record('C', 'AUTH LOGIN');
    log.record('S', '334 VXNlcm5hbWU6');
    log.record('C', 'am9l');
    log.record('S', '334 UGFzc3dvcmQ6');
    log.record('C', 'c2VjcmV0');
    log.record('S', '235 2.7.0 ok');
    log.record('C', 'MAIL FROM:<a@b>');
    log.mark('protocol');
    const lines = log.take()?.lines ?? [];
    expect(lines).toEqual([
      'Out: AUTH PLAIN *****',
      'In:  535 5.7.8 no',
      'Out: AUTH LOGIN',
      'In:  334 VXNlcm5hbWU6',
      'Out: *****',
      'In:  334 UGFzc3dvcmQ6',
      'Out: *****',
      'In:  235 2.7.0 ok',
      'Out: MAIL FROM:<a@b>',
    ]);
    expect(lines.join('\n')).not.toContain('c2VjcmV0');
  });

  it('keeps only the last lines within its line and byte bounds', () => {
    const log = createChatLog({ maxLines: 3, maxBytes: 1000 });
    for (let i = 0; i < 10; i++) log.record('C', `NOOP ${i}`);
    log.mark('protocol');
    expect(log.take()).toEqual({
      classes: ['protocol'],
      lines: ['Out: NOOP 7', 'Out: NOOP 8', 'Out: NOOP 9'],
      omitted: 7,
    });
    const small = createChatLog({ maxLines: 100, maxBytes: 40 });
    for (let i = 0; i < 5; i++) small.record('S', `250 ${'x'.repeat(10)} ${i}`);
    small.mark('protocol');
    const h = small.take();
    expect(h?.lines.join('\n').length ?? 0).toBeLessThanOrEqual(40);
    expect(h?.lines.at(-1)).toBe('In:  250 xxxxxxxxxx 4');
    expect((h?.omitted ?? 0) + (h?.lines.length ?? 0)).toBe(5);
  });

  it('raises protocol for the reply codes of Postfix smtp_check_code only', () => {
    for (const c of [0, 250, 354, 500, 502, 509, 555, 600]) expect(protocolErrorCode(c)).toBe(true);
    for (const c of [421, 450, 451, 510, 550, 552, 554, 599]) expect(protocolErrorCode(c)).toBe(false);
    const log = createChatLog();
    log.record('S', '550 no');
    log.markFailure(failure(550));
    expect(log.take()).toBeUndefined();
    log.record('S', '502 huh');
    log.markFailure(failure(502));
    expect(log.take()?.classes).toEqual(['protocol']);
    log.record('C', 'x');
    log.markFailure({ handler: 'stream', status: '4.4.2', text: 'lost', throttle: true });
    expect(log.take()).toBeUndefined();
  });
});
