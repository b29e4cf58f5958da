import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplyParser, replyStatus } from '../../../src/smtp/reply-parser.ts';

const parseAll = (chunks: Uint8Array[]) => {
  const p = createReplyParser();
  const out = chunks.flatMap((c) => p.push(c));
  return { out, overflow: p.overflow };
};
const b = (s: string) => Buffer.from(s, 'latin1');

describe('reply parser', () => {
  it('joins multi-line replies and takes the enhanced status when it matches the code', () => {
    const { out } = parseAll([
      b('250-mx.example.test hi\r\n250-PIPELINING\r\n250 SIZE 1000\r\n550 5.1.1 no\r\n'),
    ]);
    expect(out).toHaveLength(2);
    expect(out[0]?.code).toBe(250);
    expect(out[0]?.lines).toEqual(['250-mx.example.test hi', '250-PIPELINING', '250 SIZE 1000']);
    expect(out[0]?.text).toBe('250-mx.example.test hi 250-PIPELINING 250 SIZE 1000');
    expect(out[0]?.status).toBe('2.0.0');
    expect(out[1]).toMatchObject({ code: 550, status: '5.1.1', enhanced: true, text: '550 5.1.1 no' });
  });

  it('applies the status rules of §5.2', () => {
    expect(replyStatus(550, '550 No such user').status).toBe('5.0.0');
    expect(replyStatus(451, '451 try later').status).toBe('4.0.0');
    expect(replyStatus(451, '451 5.1.1 mismatch').status).toBe('4.0.0');
    expect(replyStatus(354, '354 go ahead').status).toBe('5.5.0');
    expect(replyStatus(250, '250   2.1.5 ok')).toEqual({ status: '2.1.5', enhanced: true });
    expect(replyStatus(550, '550 5.1.1234 bad').status).toBe('5.0.0');
  });

  it('accepts bare LF, sanitizes non-printables, and keeps malformed lines until a final line', () => {
    const { out } = parseAll([b('garbage\x01\n220 ok\tthere\n')]);
    expect(out).toHaveLength(1);
    expect(out[0]?.malformed).toBe(true);
    expect(out[0]?.lines).toEqual(['garbage?', '220 ok?there']);
    expect(out[0]?.code).toBe(220);
  });

  it('truncates long lines at 2048 and bounds kept text', () => {
    const long = `250 ${'x'.repeat(5000)}\r\n`;
    const { out } = parseAll([b(long)]);
    expect(out[0]?.lines[0]?.length).toBe(2048);
    const many = `${'250-abcdefghij\r\n'.repeat(1000)}250 end\r\n`;
    const r = parseAll([b(many)]).out[0];
    expect(r?.code).toBe(250);
    expect(r?.text.length).toBeLessThanOrEqual(2048 + 20);
  });

  it('reads an over-long multi-line reply to its end, keeping 2048 bytes, like Postfix', () => {
    const warnings: string[] = [];
    const p = createReplyParser({ warn: (w) => warnings.push(w) });
    const line = b(`250-${'k'.repeat(60)}\r\n`);
    let replies = 0;
    for (let i = 0; i < 20_000; i++) replies += p.push(line).length; // ~1.3 MB
    expect(replies).toBe(0);
    const [r] = p.push(b('250 SIZE 1000\r\n'));
    expect(p.overflow).toBe(false);
    expect(r?.code).toBe(250);
    expect(r?.text.length).toBeLessThanOrEqual(2048 + 70);
    expect(warnings.filter((w) => w.startsWith('multi-line response longer than 2048'))).toHaveLength(1);
    const long = createReplyParser({ warn: (w) => warnings.push(w) });
    const out = long.push(b(`250 ${'y'.repeat(1_000_000)}\r\n`));
    expect(out[0]?.lines[0]?.length).toBe(2048);
    expect(warnings.some((w) => w.startsWith('response longer than 2048'))).toBe(true);
  });

  it('stops on a reply bomb without keeping it when maxReplyBytes is set', () => {
    const p = createReplyParser({ maxReplyBytes: 65536 });
    const line = b('250-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n');
    let replies = 0;
    for (let i = 0; i < 5000 && !p.overflow; i++) replies += p.push(line).length;
    expect(p.overflow).toBe(true);
    expect(replies).toBe(0);
    const endless = createReplyParser({ maxReplyBytes: 65536 });
    for (let i = 0; i < 100 && !endless.overflow; i++) endless.push(Buffer.alloc(4096, 0x41));
    expect(endless.overflow).toBe(true);
  });

  it('gives the same replies however the bytes are split (property, 10k cases)', () => {
    const lineArb = fc.oneof(
      fc
        .tuple(
          fc.constantFrom('220', '250', '354', '421', '450', '550', '999'),
          fc.constantFrom(' ', '-', ''),
          fc.string({ maxLength: 40 }),
        )
        .map(([c, s, t]) => c + s + t),
      fc.string({ maxLength: 30 }),
      fc.uint8Array({ maxLength: 30 }).map((u) => Buffer.from(u).toString('latin1')),
    );
    const input = fc
      .array(fc.tuple(lineArb, fc.constantFrom('\r\n', '\n')), { maxLength: 12 })
      .map((ls) => b(ls.map(([l, e]) => l + e).join('')));
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort(
          (x, y) => x - y,
        );
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        chunks.push(bytes.subarray(prev));
        const whole = parseAll([bytes]);
        const split = parseAll(chunks);
        expect(split).toEqual(whole);
        const bytewise = parseAll([...bytes].map((x) => Uint8Array.of(x)));
        expect(bytewise).toEqual(whole);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('reply parser: Postfix smtp_chat_resp details', () => {
  it('takes the enhanced status from the final line of a multi-line reply', () => {
    const { out } = parseAll([
      b('550-Mailbox unavailable\r\n550-see the policy page\r\n550 5.1.1 user unknown\r\n'),
    ]);
    expect(out[0]).toMatchObject({ code: 550, status: '5.1.1', enhanced: true });
    const mixed = parseAll([b('451-4.7.1 greylisted\r\n451 try later\r\n')]).out[0];
    expect(mixed).toMatchObject({ code: 451, status: '4.0.0', enhanced: false });
  });

  it('warns about a truncated line and about dropped multi-line text, once per reply', () => {
    const warnings: string[] = [];
    const p = createReplyParser({ warn: (m) => warnings.push(m) });
    p.push(b(`250 ${'x'.repeat(3000)}\r\n`));
    expect(warnings).toEqual([`response longer than 2048: 250 ${'x'.repeat(26)}...`]);
    warnings.length = 0;
    const out = p.push(b(`${'250-abcdefghij\r\n'.repeat(300)}250 end\r\n`));
    expect(out).toHaveLength(1);
    expect(warnings).toEqual(['multi-line response longer than 2048 250-abcdefghij 250-abcdefghij ...']);
  });
});
