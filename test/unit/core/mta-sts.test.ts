import { describe, expect, it } from 'vitest';
import {
  applyStsPolicy,
  mxMatchesPattern,
  parseStsPolicy,
  parseStsTxt,
  type StsPolicy,
} from '../../../src/core/mta-sts.ts';

describe('parseStsTxt (RFC 8461 §3.1)', () => {
  it('takes the id of the one STSv1 record, ignoring other TXT records and extension fields', () => {
    expect(parseStsTxt(['v=spf1 -all', 'v=STSv1; id=20160831085700Z; ext=1'])).toEqual({
      ok: true,
      value: '20160831085700Z',
    });
  });
  it('rejects no record, two records, no id, a bad id', () => {
    expect(parseStsTxt([]).ok).toBe(false);
    expect(parseStsTxt(['v=STSv1; id=1', 'v=STSv1; id=2'])).toMatchObject({ ok: false });
    expect(parseStsTxt(['v=STSv1;'])).toEqual({ ok: false, defect: 'no id field' });
    expect(parseStsTxt(['v=STSv1; id=abc-def'])).toMatchObject({ ok: false, defect: 'bad id "abc-def"' });
    expect(parseStsTxt(['v=STSv1; id=123456789012345678901234567890123']).ok).toBe(false);
    expect(parseStsTxt(['v=STSv10; id=1']).ok).toBe(false);
  });
});

describe('parseStsPolicy (§3.2)', () => {
  it('reads CRLF and LF policies, several mx lines, ignores unknown keys', () => {
    const p = parseStsPolicy(
      'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\nmx: *.Example.net.\nfoo: bar\nmax_age: 604800\n',
    );
    expect(p).toEqual({
      ok: true,
      value: { mode: 'enforce', mx: ['mail.example.com', '*.example.net'], maxAge: 604800 },
    });
  });
  it('mode none needs no mx', () => {
    expect(parseStsPolicy('version: STSv1\nmode: none\nmax_age: 1\n').ok).toBe(true);
  });
  it('names the defect', () => {
    expect(parseStsPolicy('mode: enforce\nmx: a.b\nmax_age: 1')).toMatchObject({
      defect: 'version is not STSv1 (missing)',
    });
    expect(parseStsPolicy('version: STSv1\nmode: enforce\nmax_age: 1')).toMatchObject({
      defect: 'no mx pattern in enforce mode',
    });
    expect(parseStsPolicy('version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1')).toMatchObject({
      defect: 'bad max_age "-1"',
    });
    expect(parseStsPolicy('version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1')).toMatchObject({
      defect: 'bad mx pattern "a.*.b"',
    });
    expect(parseStsPolicy('<html>').ok).toBe(false);
  });
});

describe('mxMatchesPattern (§4.1)', () => {
  it('exact names and one-label wildcards', () => {
    expect(mxMatchesPattern('MX1.example.com.', 'mx1.example.com')).toBe(true);
    expect(mxMatchesPattern('mx1.example.com', '*.example.com')).toBe(true);
    expect(mxMatchesPattern('a.mx1.example.com', '*.example.com')).toBe(false);
    expect(mxMatchesPattern('example.com', '*.example.com')).toBe(false);
    expect(mxMatchesPattern('mx1.example.com', 'example.com')).toBe(false);
    expect(mxMatchesPattern('mx1.badexample.com', '*.example.com')).toBe(false);
  });
});

describe('applyStsPolicy: the stricter wins', () => {
  const enforce: StsPolicy = { mode: 'enforce', mx: ['*.example.com'], maxAge: 60 };
  const run = (
    level: 'may' | 'encrypt' | 'none' | 'secure' | 'fingerprint',
    policy = enforce,
    mxHost = 'mx.example.com',
  ) => applyStsPolicy({ policy, domain: 'example.com', mxHost, settings: { level } });
  it('enforce raises none/may/encrypt to verify with the MX name', () => {
    for (const l of ['none', 'may', 'encrypt'] as const)
      expect(run(l)).toEqual({ ok: true, settings: { level: 'verify', matchNames: ['mx.example.com'] } });
  });
  it('enforce keeps stricter levels', () => {
    expect(run('secure')).toEqual({ ok: true, settings: { level: 'secure' } });
    expect(run('fingerprint')).toEqual({ ok: true, settings: { level: 'fingerprint' } });
  });
  it('enforce skips an unlisted MX; testing notes it; none ignores', () => {
    expect(run('may', enforce, 'mx.other.com')).toMatchObject({ ok: false, failure: { status: '4.7.5' } });
    expect(run('may', { ...enforce, mode: 'testing' }, 'mx.other.com')).toEqual({
      ok: true,
      settings: { level: 'may' },
      mismatch: true,
    });
    expect(run('may', { mode: 'none', mx: [], maxAge: 1 }, 'mx.other.com')).toEqual({
      ok: true,
      settings: { level: 'may' },
    });
  });
});
