import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import { MailQueueInputError, type SendInput, validateSendInput } from '../../../src/queue/validate.ts';

const opts = resolveOptions({});
const base: SendInput = {
  from: 'alice@example.test',
  to: ['bob@example.test'],
  message: 'Subject: x\r\n\r\nhi\r\n',
};

function fieldOf(input: Partial<SendInput> & Record<string, unknown>, o = opts): string {
  try {
    validateSendInput({ ...base, ...input } as SendInput, o);
  } catch (err) {
    expect(err).toBeInstanceOf(MailQueueInputError);
    return (err as MailQueueInputError).field;
  }
  throw new Error('accepted');
}

const local64 = 'a'.repeat(64);
const longDomain = `${Array.from({ length: 4 }, () => 'd'.repeat(63)).join('.')}.test`; // 260 octets

describe('validateSendInput: sender', () => {
  it('accepts the null sender', () => {
    expect(validateSendInput({ ...base, from: '' }, opts).sender).toBe('');
  });
  it.each([
    ['CR', 'a\r@example.test'],
    ['LF', 'a@exa\nmple.test'],
    ['NUL', 'a\0@example.test'],
    ['no domain', 'alice'],
    ['empty domain', 'alice@'],
    ['empty local part', '@example.test'],
    ['double dot', 'a..b@example.test'],
    ['leading dot', '.a@example.test'],
    ['space', 'a b@example.test'],
    ['label ends with hyphen', 'a@example-.test'],
    ['empty label', 'a@example..test'],
    ['local part over 64', `${local64}x@example.test`],
    ['domain over 255', `a@${longDomain}`],
    ['UTF-8 without smtputf8', 'jörg@example.test'],
    ['not a string', 42],
  ])('rejects %s', (_name, from) => {
    expect(fieldOf({ from: from as string })).toBe('from');
  });
});

describe('validateSendInput: recipients', () => {
  it.each([
    ['CR', 'b\r@example.test'],
    ['LF', 'b@example.test\n'],
    ['NUL', 'b@example.test\0'],
    ['unterminated quote', '"b@example.test'],
    ['bare quote in quoted string', '"a"b"@example.test'],
    ['bad IPv4 literal', 'b@[300.1.1.1]'],
    ['bad IPv6 literal', 'b@[IPv6:::g]'],
    ['general literal', 'b@[x-tag:abc]'],
    ['unclosed literal', 'b@[127.0.0.1'],
    ['empty string', ''],
    ['path over 256', `${local64}@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.test`],
  ])('rejects %s and names the index', (_name, bad) => {
    expect(fieldOf({ to: ['ok@example.test', bad] })).toBe('to[1]');
  });
  it('requires at least one recipient', () => {
    expect(fieldOf({ to: [] })).toBe('to');
    expect(fieldOf({ to: 'bob@example.test' as unknown as string[] })).toBe('to');
  });
  it('accepts quoted strings, address literals and 64-octet local parts', () => {
    const to = [
      '"john doe"@example.test',
      'x@[127.0.0.1]',
      'y@[IPv6:2001:db8::1]',
      `${local64}@example.test`,
    ];
    expect(validateSendInput({ ...base, to }, opts).recipients.map((r) => r.address)).toEqual(to);
  });
  it('accepts UTF-8 addresses only with smtputf8', () => {
    expect(fieldOf({ to: ['jörg@exämple.test'] })).toBe('to[0]');
    const v = validateSendInput({ ...base, to: ['jörg@exämple.test'], smtputf8: true }, opts);
    expect(v.recipients[0]?.address).toBe('jörg@exämple.test');
    expect(v.smtputf8).toBe(true);
  });
  it('drops duplicates, comparing the domain case-insensitively and the local part exactly', () => {
    const v = validateSendInput(
      { ...base, to: ['b@Example.TEST', 'b@example.test', 'B@example.test'] },
      opts,
    );
    expect(v.recipients.map((r) => r.address)).toEqual(['b@Example.TEST', 'B@example.test']);
  });
});

describe('validateSendInput: message', () => {
  it('measures size after CRLF normalization (bare LF and bare CR each become CRLF)', () => {
    expect(validateSendInput({ ...base, message: 'a\nb\r\nc\rd' }, opts).size).toBe(10);
    expect(validateSendInput({ ...base, message: 'x\n' }, opts).size).toBe(3);
  });
  it('rejects a message over messageSizeLimit (counting added CRs)', () => {
    const small = resolveOptions({ messageSizeLimit: 10 });
    expect(validateSendInput({ ...base, message: 'x'.repeat(10) }, small).size).toBe(10);
    expect(fieldOf({ message: `${'x'.repeat(9)}\n` }, small)).toBe('message');
  });
  it('rejects NUL bytes, empty messages and non-buffers', () => {
    expect(fieldOf({ message: Buffer.from([0x41, 0x00, 0x42]) })).toBe('message');
    expect(fieldOf({ message: '' })).toBe('message');
    expect(fieldOf({ message: 12 as unknown as string })).toBe('message');
  });
  it('flags 8-bit content', () => {
    expect(validateSendInput({ ...base, message: 'Subject: é\r\n\r\n' }, opts).eightBit).toBe(true);
    expect(validateSendInput(base, opts).eightBit).toBe(false);
  });
});

describe('validateSendInput: next-hop and transport', () => {
  it.each([
    ['missing bracket', '[127.0.0.1'],
    ['CR', 'example.test\r'],
    ['LF in list', 'a.test, b.test\n'],
    ['NUL', 'exa\0mple.test'],
    ['empty', ''],
    ['bad port', '[127.0.0.1]:notaport!'],
  ])('rejects %s', (_name, nexthop) => {
    expect(fieldOf({ nexthop })).toBe('nexthop');
  });
  it('accepts a next-hop list', () => {
    expect(validateSendInput({ ...base, nexthop: '[127.0.0.1]:2525, relay.test' }, opts).nexthop).toBe(
      '[127.0.0.1]:2525, relay.test',
    );
  });
  it('requires a next-hop for LMTP and rejects unknown transports', () => {
    expect(fieldOf({ transport: 'lmtp' })).toBe('nexthop');
    expect(
      validateSendInput({ ...base, transport: 'lmtp', nexthop: 'unix:/tmp/lmtp.sock' }, opts).transport,
    ).toBe('lmtp');
    expect(fieldOf({ transport: 'uucp' as 'smtp' })).toBe('transport');
  });
  it('leaves relayhost to the worker (it routes; a bad relayhost is refused when a worker starts)', () => {
    expect(validateSendInput(base, resolveOptions({ relayhost: '[10.0.0.1' })).nexthop).toBeUndefined();
  });
});

describe('validateSendInput: DSN and flags', () => {
  it.each([
    ['dsn.ret', { ret: 'ALL' }],
    ['dsn.envid', { envid: 'a\r\nb' }],
    ['dsn.envid', { envid: 'x'.repeat(101) }],
    ['dsn.envid', { envid: '' }],
    ['dsn.envid', { envid: 'caf\u00e9' }],
    ['dsn.notify', { notify: ['NEVER', 'SUCCESS'] }],
    ['dsn.notify', { notify: [] }],
    ['dsn.notify', { notify: ['SOMETIMES'] }],
    ['dsn.notify', { notify: ['DELAY', 'DELAY'] }],
    ['dsn.orcpt', { orcpt: 'a@b.test\r\n' }],
    ['dsn.orcpt', { orcpt: 'not an address' }],
    ['dsn', 'FULL'],
  ])('rejects %s = %j', (field, dsn) => {
    expect(fieldOf({ dsn: dsn as NonNullable<SendInput['dsn']> })).toBe(field);
  });
  it('requires exactly one recipient for orcpt', () => {
    expect(fieldOf({ to: ['a@x.test', 'b@x.test'], dsn: { orcpt: 'o@x.test' } })).toBe('dsn.orcpt');
  });
  it('carries valid DSN parameters', () => {
    const v = validateSendInput(
      {
        ...base,
        dsn: { ret: 'HDRS', envid: 'id-1+x', notify: ['failure', 'DELAY'] as never, orcpt: 'o@x.test' },
      },
      opts,
    );
    expect(v.dsn).toEqual({ ret: 'HDRS', envid: 'id-1+x' });
    expect(v.recipients[0]).toEqual({
      address: 'bob@example.test',
      notify: ['FAILURE', 'DELAY'],
      orcpt: 'o@x.test',
    });
    const never = validateSendInput({ ...base, dsn: { notify: ['NEVER'] } }, opts);
    expect(never.recipients[0]?.notify).toEqual(['NEVER']);
  });
  it('rejects non-boolean flags', () => {
    expect(fieldOf({ requireTls: 'yes' as unknown as boolean })).toBe('requireTls');
    expect(fieldOf({ smtputf8: 1 as unknown as boolean })).toBe('smtputf8');
  });
  it('escapes control characters in error messages', () => {
    expect(() => validateSendInput({ ...base, to: ['b\r\n@x.test'] }, opts)).toThrow(/b\\r\\n@x\.test/);
  });
});
