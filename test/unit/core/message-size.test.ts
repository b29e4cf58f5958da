import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizedSize } from '../../../src/core/message-size.ts';
import { encodeBodySync } from '../../../src/smtp/body-writer.ts';

describe('normalizedSize', () => {
  it('counts bare LF and bare CR as CRLF, and CRLF once', () => {
    expect(normalizedSize(Buffer.from('a\nb\r\nc\rd'))).toBe(10);
    expect(normalizedSize(Buffer.from('\r\r\n\n'))).toBe(6);
    expect(normalizedSize(Buffer.from(''))).toBe(0);
  });

  it('is the length of the unstuffed (BDAT) encoding, less a final CRLF it adds', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }).map((a) => a.map((b) => (b === 0 ? 32 : b))),
        (bytes) => {
          const wire = encodeBodySync(bytes, false);
          const size = normalizedSize(bytes);
          const endsWithNewline = size === 0 || bytes.at(-1) === 10 || bytes.at(-1) === 13;
          expect(wire.length).toBe(size + (endsWithNewline ? 0 : 2));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
