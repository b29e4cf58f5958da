import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import { requireTlsDomain, requireTlsPolicyFor } from '../../../src/core/requiretls-policy.ts';

describe('requireTlsPolicyFor, default table', () => {
  const opts = resolveOptions({ mydomain: 'mxq.test' });
  it.each([
    ['mxq.test', 'opportunistic'],
    ['MXQ.test', 'opportunistic'],
    ['sub.mxq.test', 'opportunistic'],
    ['localhost', 'opportunistic'],
    ['[127.0.0.1]', 'opportunistic'],
    ['[ipv6:::1]:25', 'opportunistic'],
    ['10.1.2.3', 'opportunistic'],
    ['example.test', 'enforce'],
    ['notmxq.test', 'enforce'],
    ['[relay.example.test]:587', 'enforce'],
  ])('%s → %s', (domain, policy) => {
    expect(requireTlsPolicyFor(domain, opts)).toBe(policy);
  });
});

describe('requireTlsPolicyFor, configured table', () => {
  const opts = resolveOptions({
    mydomain: 'mxq.test',
    smtpRequiretlsPolicy: {
      'example.test': 'opportunistic+starttls',
      '.corp.test': 'disable',
      '*': 'opportunistic',
    },
  });
  it('domain, then .parent, then *, then the default', () => {
    expect(requireTlsPolicyFor('example.test', opts)).toBe('opportunistic+starttls');
    expect(requireTlsPolicyFor('a.b.corp.test', opts)).toBe('disable');
    expect(requireTlsPolicyFor('corp.test', opts)).toBe('opportunistic');
    expect(requireTlsPolicyFor('other.test', opts)).toBe('opportunistic');
    const noStar = resolveOptions({ smtpRequiretlsPolicy: { 'example.test': 'disable' } });
    expect(requireTlsPolicyFor('other.test', noStar)).toBe('enforce');
    expect(requireTlsPolicyFor('Example.TEST', noStar)).toBe('disable');
  });
});

describe('requireTlsDomain', () => {
  it('strips brackets, ipv6:, port and trailing dot', () => {
    expect(requireTlsDomain('[ipv6:2001:db8::1]:25')).toBe('2001:db8::1');
    expect(requireTlsDomain('example.test:587')).toBe('example.test');
    expect(requireTlsDomain('example.test.')).toBe('example.test');
    expect(requireTlsDomain('2001:db8::1')).toBe('2001:db8::1');
  });
});
