import { describe, expect, it } from 'vitest';
import { buildTlsReport, parseTlsRptTxt, policyDescriptor, resultTypeFor } from '../../../src/core/tlsrpt.ts';

describe('parseTlsRptTxt (RFC 8460 §3)', () => {
  it('takes mailto: and https: URIs of the one TLSRPTv1 record', () => {
    expect(parseTlsRptTxt(['v=spf1', 'v=TLSRPTv1; rua=mailto:a@b.test, https://r.test/x'])).toEqual({
      ok: true,
      rua: ['mailto:a@b.test', 'https://r.test/x'],
    });
  });
  it('names the defect', () => {
    expect(parseTlsRptTxt([])).toMatchObject({ ok: false });
    expect(parseTlsRptTxt(['v=TLSRPTv1;'])).toEqual({ ok: false, defect: 'no rua field' });
    expect(parseTlsRptTxt(['v=TLSRPTv1; rua=http://x'])).toEqual({ ok: false, defect: 'no usable rua URI' });
    expect(parseTlsRptTxt(['v=TLSRPTv1; rua=mailto:a@b', 'v=TLSRPTv1; rua=mailto:c@d']).ok).toBe(false);
  });
});

describe('result types and policies', () => {
  const f = (status: string, text: string) => ({ handler: 'site' as const, status, text, throttle: true });
  it('maps TLS failures, ignores others', () => {
    expect(
      resultTypeFor(f('4.7.4', 'TLS is required, but was not offered by host x[1.2.3.4]'), 'encrypt'),
    ).toBe('starttls-not-supported');
    const notVerified = (certificate: 'untrusted' | 'name-mismatch') => ({
      ...f('4.7.5', 'Server certificate not verified'),
      certificate,
    });
    expect(resultTypeFor(notVerified('untrusted'), 'verify')).toBe('certificate-not-trusted');
    expect(resultTypeFor(notVerified('name-mismatch'), 'secure')).toBe('certificate-host-mismatch');
    expect(resultTypeFor(notVerified('name-mismatch'), 'dane')).toBe('tlsa-invalid');
    expect(resultTypeFor(notVerified('untrusted'), 'dane-only')).toBe('tlsa-invalid');
    const requireTls = {
      ...f('5.7.10', 'Sender requested REQUIRETLS, but no matching server certificate was found'),
      certificate: 'name-mismatch' as const,
    };
    expect(resultTypeFor(requireTls, 'verify')).toBe('certificate-host-mismatch');
    expect(resultTypeFor(f('4.7.5', 'Cannot start TLS: handshake failure'), 'may')).toBe(
      'validation-failure',
    );
    expect(resultTypeFor(f('4.4.1', 'connect to x: Connection refused'), 'may')).toBeUndefined();
  });
  it('maps the DANE refusals before connecting (RFC 8460 §4.3.2.1)', () => {
    const dane = (d: 'lookup-error' | 'no-tlsa' | 'unusable-tlsa') => ({ ...f('4.7.5', 'x'), dane: d });
    expect(resultTypeFor(dane('lookup-error'), 'dane')).toBe('dnssec-invalid');
    expect(resultTypeFor(dane('no-tlsa'), 'dane-only')).toBe('dane-required');
    expect(resultTypeFor(dane('unusable-tlsa'), 'dane-only')).toBe('tlsa-invalid');
  });
  it('describes sts, tlsa and no policy', () => {
    expect(policyDescriptor({ mode: 'enforce', mx: ['*.a.test'], maxAge: 60 }, undefined)).toEqual({
      type: 'sts',
      strings: ['version: STSv1', 'mode: enforce', 'mx: *.a.test', 'max_age: 60'],
      mxPatterns: ['*.a.test'],
    });
    expect(
      policyDescriptor(undefined, [{ usage: 3, selector: 1, matchingType: 1, data: 'ab' }]).strings,
    ).toEqual(['3 1 1 ab']);
    expect(policyDescriptor(undefined, undefined).type).toBe('no-policy-found');
  });
  it('builds the report of one day', () => {
    const { reportId, json } = buildTlsReport({
      day: '2026-12-01',
      domain: 'a.test',
      organization: 'O',
      contact: 'c@o',
      submitter: 'mta.o',
      policies: [
        { policy: { type: 'no-policy-found', strings: [], mxPatterns: [] }, success: 2, failures: [] },
      ],
    });
    expect(reportId).toBe('2026-12-01T00:00:00Z_a.test@mta.o');
    expect(JSON.parse(json)).toMatchObject({
      'date-range': { 'start-datetime': '2026-12-01T00:00:00Z', 'end-datetime': '2026-12-01T23:59:59Z' },
      policies: [{ summary: { 'total-successful-session-count': 2, 'total-failure-session-count': 0 } }],
    });
  });
});
