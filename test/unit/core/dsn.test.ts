import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isHardStatus,
  isSoftStatus,
  isValidStatus,
  sanitizeText,
  softenStatus,
  statusClass,
  xtextDecode,
  xtextEncode,
} from '../../../src/core/dsn.ts';

describe('status helpers', () => {
  it('validates RFC 3463 statuses', () => {
    for (const s of ['2.0.0', '4.4.1', '5.1.1', '5.7.10', '4.123.456'])
      expect(isValidStatus(s), s).toBe(true);
    for (const s of ['3.0.0', '5.1', '5.1.1.1', 'x.0.0', '5.1234.1', '', ' 5.1.1'])
      expect(isValidStatus(s), s).toBe(false);
  });
  it('soft, hard and class', () => {
    expect(isSoftStatus('4.7.1')).toBe(true);
    expect(isSoftStatus('5.7.1')).toBe(false);
    expect(isHardStatus('5.7.1')).toBe(true);
    expect(statusClass('5.1.1')).toBe('5');
    expect(statusClass('2.0.0')).toBe('2');
    expect(statusClass('nonsense')).toBeUndefined();
  });
  it('softenStatus turns only 5.x.y into 4.x.y', () => {
    expect(softenStatus('5.1.1')).toBe('4.1.1');
    expect(softenStatus('4.4.2')).toBe('4.4.2');
    expect(softenStatus('2.0.0')).toBe('2.0.0');
  });
});

describe('xtext', () => {
  it('encodes +, =, controls, space and non-ASCII', () => {
    expect(xtextEncode('user+tag@example.test')).toBe('user+2Btag@example.test');
    expect(xtextEncode('a=b c')).toBe('a+3Db+20c');
    expect(xtextEncode('é')).toBe('+C3+A9');
    expect(xtextEncode('plain')).toBe('plain');
  });
  it('round-trips well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        const enc = xtextEncode(s);
        expect(enc).toMatch(/^[!-~]*$/);
        expect(enc).not.toMatch(/=/);
        expect(xtextDecode(enc)).toBe(s);
      }),
    );
  });
});

describe('sanitizeText', () => {
  it('replaces newlines with spaces and controls with ?', () => {
    expect(sanitizeText('a\r\nb\nc\td')).toBe('a b c d');
    expect(sanitizeText('x\u0000y\u007fz\u0085')).toBe('x?y?z?');
    expect(sanitizeText('héllo ✓')).toBe('héllo ✓');
  });
  it('bounds the length', () => {
    expect(sanitizeText('a'.repeat(5000))).toHaveLength(2048);
    expect(sanitizeText('abcdef', 3)).toBe('abc');
  });
  it('never leaves control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for them
        expect(sanitizeText(s)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      }),
    );
  });
});
