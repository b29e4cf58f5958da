import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BodyNulError,
  createBodyEncoder,
  encodeBody,
  encodeBodySync,
} from '../../../src/smtp/body-writer.ts';

const s = (x: string) => Buffer.from(x, 'latin1');
/** Reference normalization: every CRLF, bare CR, bare LF → CRLF; a final CRLF when missing. */
function normalize(input: Buffer): string {
  let t = input.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  if (t.length > 0 && !t.endsWith('\r\n')) t += '\r\n';
  return t;
}
function unstuff(wire: string): string {
  expect(wire.endsWith('.\r\n')).toBe(true);
  const body = wire.slice(0, -3);
  return body
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? l.slice(1) : l))
    .join('\r\n');
}

describe('body writer', () => {
  it('normalizes line ends, stuffs dots and terminates once', () => {
    expect(encodeBodySync(s('a\nb\rc\r\n.d\n..e'), true).toString('latin1')).toBe(
      'a\r\nb\r\nc\r\n..d\r\n...e\r\n.\r\n',
    );
    expect(encodeBodySync(s(''), true).toString('latin1')).toBe('.\r\n');
    expect(encodeBodySync(s('x\r\n'), true).toString('latin1')).toBe('x\r\n.\r\n');
    expect(encodeBodySync(s('x\r'), true).toString('latin1')).toBe('x\r\n.\r\n');
    expect(encodeBodySync(s('.'), false).toString('latin1')).toBe('.\r\n');
  });

  it('passes CRLF chunks without a leading dot through without a copy; others are rewritten', () => {
    const enc = createBodyEncoder(true);
    const clean = s('Subject: x\r\n\r\nline one\r\nline two\r\n');
    const out = enc.push(clean);
    expect(out.buffer).toBe(clean.buffer);
    expect(out.byteOffset).toBe(clean.byteOffset);
    expect(out.length).toBe(clean.length);
    // The next chunk starts a line with '.', so it must be stuffed (a copy).
    expect(enc.push(s('.dot\r\n')).toString('latin1')).toBe('..dot\r\n');
    expect(enc.push(s('a\r\n.b\r\n')).toString('latin1')).toBe('a\r\n..b\r\n');
    expect(enc.push(s('bare\nlf\r\n')).toString('latin1')).toBe('bare\r\nlf\r\n');
    expect(enc.end().toString('latin1')).toBe('.\r\n');
  });

  it('refuses NUL', () => {
    expect(() => encodeBodySync(s('a\0b'), true)).toThrow(BodyNulError);
  });

  it('streams from an async iterable with CR/LF split across chunks', async () => {
    const parts = [s('a\r'), s('\n.b\r'), s('c.'), s('\n.')];
    const out: Buffer[] = [];
    for await (const c of encodeBody(async function* () {
      yield* parts;
    }, true))
      out.push(c);
    expect(Buffer.concat(out).toString('latin1')).toBe('a\r\n..b\r\nc.\r\n..\r\n.\r\n');
  });

  it('one terminator, no bare CR/LF, un-stuffing gives the normalized input (property, 10k cases)', async () => {
    const bodyArb = fc
      .array(
        fc.oneof(
          fc.constantFrom('\r', '\n', '\r\n', '.', '..', 'a', ' ', 'x.y', '\r.', '\n.'),
          fc.string({ maxLength: 5 }),
        ),
        { maxLength: 30 },
      )
      .map((p) => s(p.join('').replace(/\0/g, '')));
    await fc.assert(
      fc.asyncProperty(
        bodyArb,
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 6 }),
        async (input, sizes) => {
          const chunks: Buffer[] = [];
          let i = 0;
          for (const n of sizes) {
            chunks.push(input.subarray(i, i + n));
            i += n;
          }
          chunks.push(input.subarray(i));
          const out: Buffer[] = [];
          for await (const c of encodeBody(async function* () {
            yield* chunks;
          }, true))
            out.push(c);
          const wire = Buffer.concat(out).toString('latin1');
          expect(wire).toBe(encodeBodySync(input, true).toString('latin1'));
          const full = `\r\n${wire}`; // the DATA command line ends with CRLF
          expect(full.split('\r\n.\r\n').length - 1).toBe(1);
          expect(full.endsWith('\r\n.\r\n')).toBe(true);
          expect(/\r(?!\n)|(?<!\r)\n/.test(wire)).toBe(false);
          expect(unstuff(wire)).toBe(normalize(input));
        },
      ),
      { numRuns: 10_000 },
    );
  });
});
