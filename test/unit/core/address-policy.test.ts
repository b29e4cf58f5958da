/** core/address-policy.ts: special ranges, allowlist parsing, which next-hops the policy covers. */
import { describe, expect, it } from 'vitest';
import {
  badAllowlistEntries,
  isRecipientDestination,
  onAllowlist,
  parseCidr,
  refusedAddress,
  specialAddressClass,
} from '../../../src/core/address-policy.ts';
import { parseNexthop } from '../../../src/core/nexthop.ts';
import { resolveOptions } from '../../../src/core/options.ts';

const SPECIAL: Array<[string, string]> = [
  ['127.0.0.1', 'loopback'],
  ['127.0.4.25', 'loopback'],
  ['0.0.0.0', '"this network"'],
  ['10.0.0.1', 'private'],
  ['172.16.5.4', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'shared (CGNAT)'],
  ['100.127.255.254', 'shared (CGNAT)'],
  ['169.254.169.254', 'link-local'],
  ['192.0.0.8', 'IETF protocol assignment'],
  ['192.0.2.1', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['::ffff:127.0.4.25', 'IPv4-mapped'],
  ['::ffff:8.8.8.8', 'IPv4-mapped'],
  ['::127.0.0.1', 'IPv4-compatible'],
  ['64:ff9b::7f00:1', 'NAT64 of loopback'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 of link-local'],
  ['64:ff9b:1::1', 'local-use NAT64'],
  ['2002:7f00:1::1', '6to4 of loopback'],
  ['fd00::1', 'unique-local'],
  ['fc12:3456::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['ff02::1', 'multicast'],
  ['2001:db8::25', 'documentation'],
  ['2001::1', 'IETF protocol assignment'],
  ['100::1', 'discard-only'],
];

describe('special-use addresses', () => {
  it.each(SPECIAL)('%s is %s', (addr, cls) => {
    expect(specialAddressClass(addr)).toBe(cls);
    expect(refusedAddress(addr, [])).toBe(`${cls} address`);
  });

  it.each([
    '8.8.8.8',
    '1.2.3.4',
    '100.63.255.255',
    '100.128.0.1',
    '172.15.0.1',
    '172.32.0.1',
    '2a00:1450:4001::1a',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is an ordinary address', (addr) => {
    expect(specialAddressClass(addr)).toBeUndefined();
    expect(refusedAddress(addr, [])).toBeUndefined();
  });

  it('a non-address is refused', () => {
    expect(refusedAddress('mx.example.com', ['0.0.0.0/0'])).toBe('non-IP address');
  });
});

describe('allowlist', () => {
  it('matches CIDR ranges and single addresses of the same family', () => {
    expect(onAllowlist('127.0.0.17', ['127.0.0.16/28'])).toBe(true);
    expect(onAllowlist('127.0.0.32', ['127.0.0.16/28'])).toBe(false);
    expect(onAllowlist('10.1.2.3', ['10.1.2.3'])).toBe(true);
    expect(onAllowlist('10.1.2.4', ['10.1.2.3'])).toBe(false);
    expect(onAllowlist('fd00::25', ['fd00::/64'])).toBe(true);
    expect(onAllowlist('::ffff:127.0.0.1', ['127.0.0.0/8'])).toBe(false);
    expect(refusedAddress('127.0.0.17', ['127.0.0.16/28'])).toBeUndefined();
    expect(refusedAddress('127.0.0.1', ['127.0.0.16/28'])).toBe('loopback address');
  });

  it('rejects malformed entries, naming them', () => {
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0/')).toBeUndefined();
    expect(parseCidr('mx.example.com')).toBeUndefined();
    expect(badAllowlistEntries(['127.0.0.0/8', 'localhost', '::1/129'])).toEqual(['localhost', '::1/129']);
    expect(() => resolveOptions({ smtpAddressAllowlist: ['127.0.0.0/8', 'localhost'] })).toThrow(
      /smtpAddressAllowlist.*"localhost"/,
    );
  });
});

describe('which next-hops the policy covers', () => {
  const opts = resolveOptions();
  const target = (hop: string) => {
    const p = parseNexthop(hop, 'smtp', opts);
    if (!p.ok) throw new Error(p.error);
    return p.target;
  };
  const rcpts = [{ address: 'a@Example.COM' }, { address: 'b@[10.0.0.1]' }, { address: 'c@[IPv6:fd00::1]' }];

  it('the recipient domain and domain literals are covered', () => {
    expect(isRecipientDestination(target('example.com'), rcpts, 'smtp')).toBe(true);
    expect(isRecipientDestination(target('[10.0.0.1]'), rcpts, 'smtp')).toBe(true);
    expect(isRecipientDestination(target('[fd00::1]'), rcpts, 'smtp')).toBe(true);
  });

  it('operator next-hops (relayhost, other hosts) and LMTP are not', () => {
    expect(isRecipientDestination(target('[relay.internal]:587'), rcpts, 'smtp')).toBe(false);
    expect(isRecipientDestination(target('relay.internal'), rcpts, 'smtp')).toBe(false);
    expect(isRecipientDestination(target('[10.0.0.2]'), rcpts, 'smtp')).toBe(false);
    expect(isRecipientDestination(target('example.com'), rcpts, 'lmtp')).toBe(false);
  });
});
