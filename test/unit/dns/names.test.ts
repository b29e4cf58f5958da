import { describe, expect, it } from 'vitest';
import { errorAnswer, isValidHostname, toQueryName } from '../../../src/dns/names.ts';
import { addressAnswer, DNS_RR_LIST_LIMIT, mxAnswer, srvAnswer } from '../../../src/dns/records.ts';

const nse = (name: string, type: string, what: string) =>
  `Host or domain name not found. Name service error for name=${name} type=${type}: ${what}`;

describe('query names', () => {
  it('validates host names like Postfix valid_hostname', () => {
    expect(isValidHostname('mx1.example.test')).toBe(true);
    expect(isValidHostname('_submission._tcp.example.test')).toBe(true);
    expect(isValidHostname('-bad.test')).toBe(false);
    expect(isValidHostname('bad-.test')).toBe(false);
    expect(isValidHostname('a..test')).toBe(false);
    expect(isValidHostname('1.2.3')).toBe(false);
    expect(isValidHostname(`${'a'.repeat(64)}.test`)).toBe(false);
    expect(isValidHostname('sp ace.test')).toBe(false);
  });

  it('converts U-labels, strips one trailing dot, refuses numeric and invalid names', () => {
    expect(toQueryName('exämple.test')).toBe('xn--exmple-cua.test');
    expect(toQueryName('Example.TEST.')).toBe('Example.TEST');
    expect(toQueryName('127.0.0.1')).toBeUndefined();
    expect(toQueryName('::1')).toBeUndefined();
    expect(toQueryName('bad name.test')).toBeUndefined();
    expect(toQueryName('a\u0000b.test')).toBeUndefined();
  });
});

describe('error mapping', () => {
  it.each([
    ['ENOTFOUND', 'NOTFOUND', nse('x.test', 'MX', 'Host not found')],
    ['ENODATA', 'NOTFOUND', nse('x.test', 'MX', 'Host found but no data record of requested type')],
    ['ESERVFAIL', 'RETRY', nse('x.test', 'MX', 'Host not found, try again')],
    ['ETIMEOUT', 'RETRY', nse('x.test', 'MX', 'Host not found, try again')],
    ['ECONNREFUSED', 'RETRY', nse('x.test', 'MX', 'Host not found, try again')],
    ['EREFUSED', 'FAIL', nse('x.test', 'MX', 'Non-recoverable error')],
    ['EFORMERR', 'FAIL', nse('x.test', 'MX', 'Non-recoverable error')],
    ['ENOTIMP', 'FAIL', nse('x.test', 'MX', 'Non-recoverable error')],
    [
      'EBADRESP',
      'RETRY',
      'Name service error for name=x.test type=MX: Malformed or unexpected name server reply',
    ],
    ['EBADNAME', 'NOTFOUND', 'Name service error for x.test: invalid host or domain name'],
  ])('%s → %s', (code, cls, text) => {
    expect(errorAnswer(code, 'x.test', 'MX')).toEqual({ class: cls, type: 'MX', text });
  });

  it('unknown errors are RETRY', () => {
    expect(errorAnswer(undefined, 'x.test', 'A').class).toBe('RETRY');
  });
});

describe('record post-processing', () => {
  it('null MX poisons the whole answer', () => {
    const a = mxAnswer(
      [
        { priority: 10, exchange: 'mx1.test' },
        { priority: 0, exchange: '' },
      ],
      'x.test',
    );
    expect(a).toEqual({ class: 'NULLMX', type: 'MX', text: 'Domain x.test does not accept mail (nullMX)' });
  });

  it('an empty answer is NODATA', () => {
    expect(mxAnswer([], 'x.test')).toMatchObject({ class: 'NOTFOUND' });
    expect(srvAnswer([], 'x.test')).toMatchObject({ class: 'NOTFOUND', type: 'SRV' });
  });

  it('SRV target "." is NULLSRV; malformed SRV targets are dropped', () => {
    expect(srvAnswer([{ priority: 0, weight: 0, port: 0, name: '.' }], '_s._tcp.x.test').class).toBe(
      'NULLSRV',
    );
    expect(srvAnswer([{ priority: 0, weight: 0, port: 25, name: 'bad!' }], '_s._tcp.x.test').class).toBe(
      'INVAL',
    );
  });

  it('caps lists at 100 records with a warning', () => {
    const raw = Array.from({ length: 150 }, (_, i) => ({ priority: i, exchange: `mx${i}.test` }));
    const a = mxAnswer(raw, 'x.test');
    expect(a.class === 'OK' && a.type === 'MX' ? a.records.length : 0).toBe(DNS_RR_LIST_LIMIT);
    expect(a.warnings?.[0]).toMatch(/DNS record count limit \(100\) exceeded/);
    const addrs = addressAnswer(
      Array.from({ length: 120 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
      'x.test',
      'A',
    );
    expect(addrs.class === 'OK' && addrs.type === 'A' ? addrs.addresses.length : 0).toBe(100);
  });
});
