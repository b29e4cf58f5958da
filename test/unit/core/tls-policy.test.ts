import { describe, expect, it } from 'vitest';
import { type NexthopTarget, parseNexthop } from '../../../src/core/nexthop.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../../../src/core/options.ts';
import {
  expandMatchNames,
  normalizeFingerprint,
  policyLookupKeys,
  tlsSettingsFor,
  WRAPPERMODE_WARNING,
} from '../../../src/core/tls-policy.ts';
import type { Protocol } from '../../../src/core/types.ts';

const FP = 'ab'.repeat(32);

function target(element: string, protocol: Protocol = 'smtp'): NexthopTarget {
  const r = parseNexthop(element, protocol, resolveOptions({}));
  if (!r.ok) throw new Error(r.error);
  return r.target;
}
function policy(
  element: string,
  input: DeliveryOptionsInput,
  protocol: Protocol = 'smtp',
  mxHost = 'mx1.example.test',
) {
  const t = target(element, protocol);
  return tlsSettingsFor({ element: t, domain: t.host, mxHost, protocol, opts: resolveOptions(input) });
}
function settings(
  element: string,
  input: DeliveryOptionsInput,
  protocol: Protocol = 'smtp',
  mxHost?: string,
) {
  const r = policy(element, input, protocol, mxHost);
  if (!r.ok) throw new Error(r.failure.text);
  return r.settings;
}

describe('tlsSettingsFor: levels', () => {
  it('global SMTP default is may, LMTP none', () => {
    expect(settings('example.test', {})).toEqual({ level: 'may' });
    expect(settings('inet:lmtp.test', {}, 'lmtp')).toEqual({ level: 'none' });
    expect(settings('inet:lmtp.test', { lmtpTlsSecurityLevel: 'encrypt' }, 'lmtp')).toEqual({
      level: 'encrypt',
    });
  });
  it('LMTP over a UNIX socket lowers may to none', () => {
    expect(settings('unix:/run/lmtp', { lmtpTlsSecurityLevel: 'may' }, 'lmtp')).toEqual({ level: 'none' });
  });
  it('policy table: element as written, then .parent keys for plain domains', () => {
    const maps = {
      'example.test': { level: 'encrypt' as const },
      '[mx.example.test]:587': { level: 'none' as const },
      '.parent.test': { level: 'encrypt' as const },
    };
    expect(settings('example.test', { smtpTlsPolicyMaps: maps }).level).toBe('encrypt');
    expect(settings('EXAMPLE.test', { smtpTlsPolicyMaps: maps }).level).toBe('encrypt');
    expect(settings('[mx.example.test]:587', { smtpTlsPolicyMaps: maps }).level).toBe('none');
    expect(settings('[mx.example.test]', { smtpTlsPolicyMaps: maps }).level).toBe('may');
    expect(settings('a.b.parent.test', { smtpTlsPolicyMaps: maps }).level).toBe('encrypt');
    expect(settings('parent.test', { smtpTlsPolicyMaps: maps }).level).toBe('may');
    expect(settings('a.parent.test:2525', { smtpTlsPolicyMaps: maps }).level).toBe('may');
    expect(settings('[a.parent.test]', { smtpTlsPolicyMaps: maps }).level).toBe('may');
  });
  it('lookup keys', () => {
    expect(policyLookupKeys(target('a.b.test'))).toEqual(['a.b.test', '.b.test', '.test']);
    expect(policyLookupKeys(target('[a.b.test]'))).toEqual(['[a.b.test]']);
    expect(policyLookupKeys(target('127.0.0.1'))).toEqual(['127.0.0.1']);
  });
});

describe('tlsSettingsFor: certificate matching', () => {
  it('verify: hostname → the MX host name', () => {
    expect(settings('example.test', { smtpTlsSecurityLevel: 'verify' })).toEqual({
      level: 'verify',
      matchNames: ['mx1.example.test'],
    });
  });
  it('secure: nexthop and dot-nexthop', () => {
    expect(settings('example.test', { smtpTlsSecurityLevel: 'secure' })).toEqual({
      level: 'secure',
      matchNames: ['example.test', '.example.test'],
    });
  });
  it('entry match overrides the global patterns; literal names kept', () => {
    const s = settings('example.test', {
      smtpTlsPolicyMaps: {
        'example.test': { level: 'verify', match: ['hostname', 'Other.Test', 'dot-nexthop'] },
      },
    });
    expect(s.matchNames).toEqual(['mx1.example.test', 'other.test', '.example.test']);
  });
  it('fingerprint digests from the entry or the global list, normalized', () => {
    const colons = FP.match(/../g)?.join(':').toUpperCase() ?? '';
    expect(
      settings('example.test', { smtpTlsSecurityLevel: 'fingerprint', smtpTlsFingerprintCertMatch: [colons] })
        .fingerprints,
    ).toEqual([FP]);
    const other = 'cd'.repeat(32);
    expect(
      settings('example.test', {
        smtpTlsFingerprintCertMatch: [FP],
        smtpTlsPolicyMaps: { 'example.test': { level: 'fingerprint', match: [other] } },
      }).fingerprints,
    ).toEqual([other]);
  });
  it('trust anchors from tafile or smtpTlsCAfile; servername', () => {
    expect(settings('example.test', { smtpTlsCAfile: ['PEM-A'] }).ca).toEqual(['PEM-A']);
    const s = settings('example.test', {
      smtpTlsCAfile: ['PEM-A'],
      smtpTlsPolicyMaps: { 'example.test': { level: 'verify', tafile: ['PEM-B'], servername: 'hostname' } },
    });
    expect(s.ca).toEqual(['PEM-B']);
    expect(s.servername).toBe('mx1.example.test');
    expect(
      settings('example.test', {
        smtpTlsPolicyMaps: { 'example.test': { level: 'may', servername: 'sni.test' } },
      }).servername,
    ).toBe('sni.test');
  });
  it('connectionReuse from the entry or the global option', () => {
    const r = policy('example.test', {
      smtpTlsPolicyMaps: { 'example.test': { level: 'may', connectionReuse: false } },
    });
    expect(r.ok && r.connectionReuse).toBe(false);
    const g = policy('example.test', {});
    expect(g.ok && g.connectionReuse).toBe(true);
  });
});

describe('tlsSettingsFor: failures', () => {
  it('a bad entry → 4.7.5 client TLS configuration problem', () => {
    const bad = [
      { level: 'bogus' },
      { level: 'fingerprint' },
      { level: 'fingerprint', match: ['nothex'] },
      { level: 'verify', match: [] },
      { level: 'verify', match: 'hostname' },
      'may',
    ];
    for (const entry of bad) {
      const r = policy('example.test', { smtpTlsPolicyMaps: { 'example.test': entry as never } });
      expect(r.ok, JSON.stringify(entry)).toBe(false);
      if (!r.ok)
        expect(r.failure).toEqual({
          handler: 'sess',
          status: '4.7.5',
          text: 'client TLS configuration problem',
          throttle: true,
        });
    }
  });
  it('wrapper mode below encrypt skips the address with the Postfix warning', () => {
    const r = policy('[smtps.test]:465', { smtpTlsWrappermode: true });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.warning).toBe(WRAPPERMODE_WARNING);
      expect(r.failure.handler).toBe('sess');
      expect(r.failure.status).toBe('4.3.0');
    }
    expect(
      settings('[smtps.test]:465', { smtpTlsWrappermode: true, smtpTlsSecurityLevel: 'encrypt' }),
    ).toEqual({
      level: 'encrypt',
      wrapperMode: true,
    });
  });
});

describe('helpers', () => {
  it('expandMatchNames dedupes and drops empties', () => {
    expect(expandMatchNames(['hostname', 'HOSTNAME', 'nexthop'], 'd.test', 'MX.d.test')).toEqual([
      'mx.d.test',
      'd.test',
    ]);
  });
  it('normalizeFingerprint', () => {
    expect(normalizeFingerprint(` ${FP.toUpperCase()} `)).toBe(FP);
    expect(normalizeFingerprint('ab:cd')).toBeUndefined();
  });
});
