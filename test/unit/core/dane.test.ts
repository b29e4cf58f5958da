import { describe, expect, it } from 'vitest';
import { decideDane, isUsableTlsa, type TlsaLookup } from '../../../src/core/dane.ts';

const h32 = 'ab'.repeat(32);
const base = { host: 'mx.example.com', port: 25, domain: 'example.com' };

describe('isUsableTlsa (RFC 7672 §3.1.3)', () => {
  it('DANE-TA/EE, selector 0/1, matching 0/1/2 with the right length', () => {
    expect(isUsableTlsa({ usage: 3, selector: 1, matchingType: 1, data: h32 })).toBe(true);
    expect(isUsableTlsa({ usage: 2, selector: 0, matchingType: 2, data: 'cd'.repeat(64) })).toBe(true);
    expect(isUsableTlsa({ usage: 3, selector: 0, matchingType: 0, data: '3082' })).toBe(true);
    expect(isUsableTlsa({ usage: 1, selector: 1, matchingType: 1, data: h32 })).toBe(false);
    expect(isUsableTlsa({ usage: 0, selector: 1, matchingType: 1, data: h32 })).toBe(false);
    expect(isUsableTlsa({ usage: 3, selector: 2, matchingType: 1, data: h32 })).toBe(false);
    expect(isUsableTlsa({ usage: 3, selector: 1, matchingType: 3, data: h32 })).toBe(false);
    expect(isUsableTlsa({ usage: 3, selector: 1, matchingType: 1, data: 'abcd' })).toBe(false);
  });
});

describe('decideDane', () => {
  const rec = { usage: 3, selector: 1, matchingType: 1, data: h32 };
  it('secure usable records keep the level with the records and names', () => {
    const v = decideDane({
      ...base,
      settings: { level: 'dane' },
      mxSecure: true,
      lookup: { kind: 'records', secure: true, records: [rec] },
    });
    expect(v).toEqual({
      ok: true,
      settings: { level: 'dane', tlsa: [rec], matchNames: ['mx.example.com', 'example.com'] },
    });
  });
  it('no records or an insecure answer: dane → may; dane-only → 4.7.5', () => {
    const lookups: TlsaLookup[] = [
      { kind: 'none', secure: true },
      { kind: 'records', secure: false, records: [rec] },
    ];
    for (const lookup of lookups) {
      expect(decideDane({ ...base, settings: { level: 'dane' }, mxSecure: true, lookup })).toEqual({
        ok: true,
        settings: { level: 'may' },
      });
      expect(decideDane({ ...base, settings: { level: 'dane-only' }, mxSecure: true, lookup })).toMatchObject(
        {
          ok: false,
          failure: {
            status: '4.7.5',
            text: 'TLS is required, but no TLSA records found for mx.example.com:25',
          },
        },
      );
    }
  });
  it('unusable records: dane → encrypt; lookup error → 4.7.5 at both levels; insecure MX fails dane-only', () => {
    const bad: TlsaLookup = { kind: 'records', secure: true, records: [{ ...rec, usage: 1 }] };
    expect(decideDane({ ...base, settings: { level: 'dane' }, mxSecure: true, lookup: bad })).toMatchObject({
      ok: true,
      settings: { level: 'encrypt' },
    });
    for (const level of ['dane', 'dane-only'] as const)
      expect(
        decideDane({
          ...base,
          settings: { level },
          mxSecure: true,
          lookup: { kind: 'error', reason: 'SERVFAIL' },
        }),
      ).toMatchObject({
        ok: false,
        failure: { text: 'TLSA lookup error for mx.example.com:25' },
      });
    expect(
      decideDane({
        ...base,
        settings: { level: 'dane-only' },
        mxSecure: false,
        lookup: { kind: 'records', secure: true, records: [rec] },
      }),
    ).toMatchObject({
      ok: false,
      failure: { text: 'TLS is required, but non DNSSEC destination mx.example.com:25' },
    });
  });
});
