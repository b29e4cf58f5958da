import { describe, expect, it } from 'vitest';
import { xtextEncode as xtext } from '../../../src/core/dsn.ts';
import { authMechanisms, parseEhloReply } from '../../../src/smtp/capabilities.ts';
import {
  heloCommand,
  mailCommand,
  quotePath,
  rcptCommand,
  SmtpInputError,
} from '../../../src/smtp/commands.ts';
import { createReplyParser } from '../../../src/smtp/reply-parser.ts';

const reply = (text: string) => {
  const r = createReplyParser().push(Buffer.from(text))[0];
  if (!r) throw new Error('no reply');
  return r;
};

describe('commands', () => {
  it('formats MAIL and RCPT with parameters', () => {
    expect(mailCommand({ sender: '' })).toBe('MAIL FROM:<>');
    expect(
      mailCommand({
        sender: 'a@b',
        size: 12,
        body: '8BITMIME',
        smtputf8: true,
        requireTls: true,
        ret: 'FULL',
        envid: 'e=1',
      }),
    ).toBe('MAIL FROM:<a@b> SIZE=12 BODY=8BITMIME SMTPUTF8 REQUIRETLS RET=FULL ENVID=e+3D1');
    expect(rcptCommand({ address: 'x@y', notify: ['NEVER'], orcpt: 'x+y@z' })).toBe(
      'RCPT TO:<x@y> NOTIFY=NEVER ORCPT=rfc822;x+2By@z',
    );
  });

  it('quotes local parts that need it', () => {
    expect(quotePath('john doe@x')).toBe('"john doe"@x');
    expect(quotePath('a.b@x')).toBe('a.b@x');
    expect(quotePath('a..b@x')).toBe('"a..b"@x');
  });

  it('refuses CR, LF, NUL and over-long values before anything is written', () => {
    for (const bad of ['a\r@b', 'a\n@b', 'a\0@b']) {
      expect(() => mailCommand({ sender: bad })).toThrow(SmtpInputError);
      expect(() => rcptCommand({ address: bad })).toThrow(SmtpInputError);
    }
    expect(() => rcptCommand({ address: `${'a'.repeat(300)}@b` })).toThrow(/longer than/);
    expect(() => mailCommand({ sender: 'a@b', envid: 'x\ny' })).toThrow(SmtpInputError);
    expect(() => rcptCommand({ address: 'a@b', orcpt: 'x\r' })).toThrow(SmtpInputError);
    expect(() => heloCommand('EHLO', 'host\r\nMAIL FROM:<x>')).toThrow(SmtpInputError);
    expect(() => heloCommand('EHLO', '')).toThrow(SmtpInputError);
  });

  it('xtext-encodes', () => {
    expect(xtext('a+b=c d\u00e9')).toBe('a+2Bb+3Dc+20d+C3+A9');
  });
});

describe('capabilities', () => {
  it('parses keywords, AUTH=, SIZE and discards', () => {
    const caps = parseEhloReply(
      reply(
        '250-mx.example.test Hello\r\n250-pipelining\r\n250-SIZE 5000\r\n250-AUTH PLAIN\r\n250-AUTH=LOGIN\r\n250-SMTPUTF8\r\n250-DSN\r\n250 STARTTLS\r\n',
      ),
      ['dsn'],
    );
    expect(caps.serverName).toBe('mx.example.test');
    expect(caps.map.PIPELINING).toBe('');
    expect(caps.sizeLimit).toBe(5000);
    expect(caps.map['8BITMIME']).toBe('');
    expect(caps.map.DSN).toBeUndefined();
    expect(authMechanisms(caps.map).sort()).toEqual(['LOGIN', 'PLAIN']);
  });

  it('treats a missing, zero or non-numeric SIZE as unknown', () => {
    expect(parseEhloReply(reply('250-x\r\n250 SIZE\r\n')).sizeLimit).toBe(0);
    expect(parseEhloReply(reply('250-x\r\n250 SIZE 0\r\n')).sizeLimit).toBe(0);
    const odd = parseEhloReply(reply('250-x\r\n250 SIZE lots\r\n'));
    expect(odd.sizeLimit).toBe(0);
    expect(odd.warnings).toHaveLength(1);
  });
});
