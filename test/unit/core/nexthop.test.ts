import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIpv4Address, isIpv6Address } from '../../../src/core/ip-address.ts';
import {
  isValidHostname,
  type NexthopTarget,
  parseNexthop,
  splitNexthopList,
} from '../../../src/core/nexthop.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../../../src/core/options.ts';
import type { Protocol } from '../../../src/core/types.ts';

function ok(element: string, protocol: Protocol = 'smtp', input: DeliveryOptionsInput = {}): NexthopTarget {
  const r = parseNexthop(element, protocol, resolveOptions(input));
  if (!r.ok) throw new Error(`unexpected error for ${element}: ${r.error}`);
  return r.target;
}
function err(element: string, protocol: Protocol = 'smtp', input: DeliveryOptionsInput = {}): string {
  const r = parseNexthop(element, protocol, resolveOptions(input));
  if (r.ok) throw new Error(`expected an error for ${element}`);
  return r.error;
}

describe('splitNexthopList', () => {
  it('splits on commas and whitespace, dropping empty pieces', () => {
    expect(splitNexthopList('a.test, [b.test]:587 ,,\tc.test\n')).toEqual([
      'a.test',
      '[b.test]:587',
      'c.test',
    ]);
    expect(splitNexthopList(' , ')).toEqual([]);
  });
});

describe('parseNexthop, SMTP', () => {
  it('domain: MX lookup, default port 25, loop detection', () => {
    expect(ok('example.test')).toEqual({
      raw: 'example.test',
      kind: 'inet',
      host: 'example.test',
      bracketed: false,
      service: 'smtp',
      port: 25,
      loopDetect: true,
      lookup: 'mx',
    });
  });
  it('domain:port and domain:service', () => {
    expect(ok('example.test:2525')).toMatchObject({
      host: 'example.test',
      port: 2525,
      loopDetect: false,
      lookup: 'mx',
    });
    expect(ok('example.test:submission')).toMatchObject({ service: 'submission', port: 587 });
    expect(ok('example.test:smtps')).toMatchObject({ port: 465 });
    expect(ok('example.test:submissions')).toMatchObject({ port: 465 });
    expect(ok('example.test:lmtp')).toMatchObject({ port: 24 });
    expect(ok('example.test:25')).toMatchObject({ loopDetect: true });
    expect(ok('example.test:')).toMatchObject({ port: 25, service: 'smtp' });
  });
  it('[host] and [host]:port use the host path', () => {
    expect(ok('[mx.example.test]')).toMatchObject({
      host: 'mx.example.test',
      bracketed: true,
      lookup: 'host',
      port: 25,
    });
    expect(ok('[mx.example.test]:587')).toMatchObject({
      bracketed: true,
      lookup: 'host',
      port: 587,
      loopDetect: false,
    });
  });
  it('IP literals', () => {
    expect(ok('[127.0.2.1]')).toMatchObject({
      host: '127.0.2.1',
      literal: 4,
      lookup: 'literal',
      bracketed: true,
    });
    expect(ok('[ipv6:2001:DB8::1]:2525')).toMatchObject({
      host: '2001:db8::1',
      literal: 6,
      lookup: 'literal',
      port: 2525,
    });
    expect(ok('[IPv6:::1]')).toMatchObject({ host: '::1', literal: 6 });
    expect(ok('[::ffff:127.0.0.1]')).toMatchObject({ literal: 6 });
    expect(ok('127.0.2.1')).toMatchObject({ literal: 4, lookup: 'literal', bracketed: false });
  });
  it('never recognises inet:/unix: prefixes', () => {
    expect(ok('inet:25')).toMatchObject({ host: 'inet', port: 25, lookup: 'mx' });
    expect(err('unix:/tmp/x')).toBe('unknown service: /tmp/x/tcp');
  });
  it('smtpTcpPort and knownTcpPorts', () => {
    expect(ok('example.test', 'smtp', { smtpTcpPort: '2525' })).toMatchObject({
      service: '2525',
      port: 2525,
      loopDetect: false,
    });
    expect(ok('x.test:foo', 'smtp', { knownTcpPorts: { foo: 1025 } })).toMatchObject({ port: 1025 });
  });
  it('dns disabled → host path', () => {
    expect(ok('example.test', 'smtp', { smtpDnsSupportLevel: 'disabled' })).toMatchObject({ lookup: 'host' });
  });
  it('SRV only for listed services and not bracketed or literal', () => {
    const o = { useSrvLookup: ['submission'] };
    expect(ok('example.test:submission', 'smtp', o)).toMatchObject({
      srvService: 'submission',
      lookup: 'mx',
    });
    expect(ok('example.test', 'smtp', o).srvService).toBeUndefined();
    expect(ok('[example.test]:submission', 'smtp', o).srvService).toBeUndefined();
    expect(ok('[127.0.0.1]:submission', 'smtp', o).srvService).toBeUndefined();
    expect(
      ok('example.test:submission', 'smtp', { ...o, smtpDnsSupportLevel: 'disabled' }).srvService,
    ).toBeUndefined();
    expect(ok('example.test:submission', 'lmtp', o)).toMatchObject({
      srvService: 'submission',
      lookup: 'host',
    });
  });
  it('U-labels are accepted', () => {
    expect(ok('bücher.example')).toMatchObject({ host: 'bücher.example', lookup: 'mx' });
  });
});

describe('parseNexthop, LMTP', () => {
  it('unix:/path', () => {
    expect(ok('unix:/var/run/lmtp', 'lmtp')).toEqual({
      raw: 'unix:/var/run/lmtp',
      kind: 'unix',
      host: '/var/run/lmtp',
      bracketed: false,
      service: '',
      port: 0,
      loopDetect: false,
      lookup: 'unix',
    });
  });
  it('inet: forms and bare host, default port 24, no MX, no loop detection', () => {
    expect(ok('inet:mail.test', 'lmtp')).toMatchObject({
      host: 'mail.test',
      port: 24,
      lookup: 'host',
      loopDetect: false,
    });
    expect(ok('inet:mail.test:2003', 'lmtp')).toMatchObject({ port: 2003 });
    expect(ok('inet:[127.0.0.1]:24', 'lmtp')).toMatchObject({
      host: '127.0.0.1',
      literal: 4,
      lookup: 'literal',
    });
    expect(ok('mail.test:25', 'lmtp')).toMatchObject({ lookup: 'host', loopDetect: false, port: 25 });
    expect(ok('mail.test', 'lmtp', { lmtpTcpPort: 'lmtp' })).toMatchObject({ port: 24, service: 'lmtp' });
  });
  it('every list element may carry inet:/unix: (spec §12.2 fixed)', () => {
    const list = splitNexthopList('inet:a.test:2003, inet:[127.0.0.2]:24 unix:/tmp/s');
    const targets = list.map((e) => ok(e, 'lmtp'));
    expect(targets.map((t) => [t.kind, t.host, t.port])).toEqual([
      ['inet', 'a.test', 2003],
      ['inet', '127.0.0.2', 24],
      ['unix', '/tmp/s', 0],
    ]);
  });
});

describe('parseNexthop errors (Postfix wording)', () => {
  it.each([
    ['[mx.test', 'missing "]" in server description: [mx.test'],
    ['[mx.test]x', 'garbage after "]" in server description: [mx.test]x'],
    ['[mx.test]:', undefined],
    ['[ipv6:zz::1]', 'malformed IPv6 address in server description: [ipv6:zz::1]'],
    ['[ipv6:1.2.3.4]', 'malformed IPv6 address in server description: [ipv6:1.2.3.4]'],
    ['[]', 'missing host information in server description: []'],
    [':25', 'missing host information in server description: :25'],
    ['[]:25', 'missing host information in server description: []:25'],
    ['bad_host-.test', 'valid hostname or network address required in server description: bad_host-.test'],
    ['a..b', 'valid hostname or network address required in server description: a..b'],
    ['example.test.', 'valid hostname or network address required in server description: example.test.'],
    ['1.2.3', 'valid hostname or network address required in server description: 1.2.3'],
    ['[300.1.1.1]', 'valid hostname or network address required in server description: [300.1.1.1]'],
    ['2001:db8::1', 'valid hostname or network address required in server description: 2001:db8::1'],
    ['example.test:0', 'bad network port: 0 for destination: example.test:0'],
    ['example.test:65536', 'bad network port: 65536 for destination: example.test:65536'],
    ['example.test:nosuch', 'unknown service: nosuch/tcp'],
    ['example.test:25x', 'unknown service: 25x/tcp'],
    ['a\r\nb', 'valid hostname or network address required in server description: a??b'],
    ['a\u0000b', 'valid hostname or network address required in server description: a?b'],
  ])('%j', (element, message) => {
    if (message === undefined) expect(ok(element).port).toBe(25);
    else expect(err(element)).toBe(message);
  });
  it('LMTP errors', () => {
    expect(err('unix:', 'lmtp')).toBe('missing host information in server description: unix:');
    expect(err('inet:', 'lmtp')).toBe('missing host information in server description: inet:');
    expect(err('inet:[x', 'lmtp')).toBe('missing "]" in server description: inet:[x');
  });
  it('long names and labels', () => {
    expect(isValidHostname(`${'a'.repeat(63)}.test`)).toBe(true);
    expect(isValidHostname(`${'a'.repeat(64)}.test`)).toBe(false);
    const long = Array.from({ length: 64 }, () => 'abc').join('.');
    expect(long.length).toBe(255);
    expect(isValidHostname(long)).toBe(false);
  });
});

describe('address syntax', () => {
  it('IPv4', () => {
    expect(isIpv4Address('0.0.0.0')).toBe(true);
    expect(isIpv4Address('255.255.255.255')).toBe(true);
    expect(isIpv4Address('01.2.3.4')).toBe(false);
    expect(isIpv4Address('1.2.3.256')).toBe(false);
    expect(isIpv4Address('1.2.3')).toBe(false);
  });
  it('IPv6', () => {
    for (const good of [
      '::',
      '::1',
      '2001:db8::',
      'fe80::1:2:3:4',
      '1:2:3:4:5:6:7:8',
      '::ffff:1.2.3.4',
      '1:2:3:4:5:6:1.2.3.4',
    ]) {
      expect(isIpv6Address(good), good).toBe(true);
    }
    for (const bad of [
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '12345::',
      ':1',
      '1:2:3:4:5:6:7',
      'g::1',
      '1:2:3:4:5:6:7:1.2.3.4',
      'fe80::1%eth0',
    ]) {
      expect(isIpv6Address(bad), bad).toBe(false);
    }
  });
});

describe('properties', () => {
  const opts = resolveOptions({});
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => [...ls, 'test'].join('.'));
  it('host:port round-trips for valid names and ports', () => {
    fc.assert(
      fc.property(domain, fc.integer({ min: 1, max: 65535 }), fc.boolean(), (d, port, bracket) => {
        const element = `${bracket ? `[${d}]` : d}:${port}`;
        const r = parseNexthop(element, 'smtp', opts);
        expect(r.ok).toBe(true);
        if (r.ok) {
          expect(r.target.host).toBe(d);
          expect(r.target.port).toBe(port);
          expect(r.target.bracketed).toBe(bracket);
          expect(r.target.lookup).toBe(bracket ? 'host' : 'mx');
          expect(r.target.loopDetect).toBe(port === 25);
        }
      }),
    );
  });
  it('garbage never throws; errors name the server description or port', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.constantFrom<Protocol>('smtp', 'lmtp'), (s, protocol) => {
        const r = parseNexthop(s, protocol, opts);
        if (!r.ok) {
          expect(r.error).toMatch(/in server description: |^bad network port: |^unknown service: /);
          expect(r.error).not.toMatch(/[\r\n\0]/);
        } else {
          expect(r.target.port >= 0 && r.target.port <= 65535).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
