import { describe, expect, it } from 'vitest';
import { canonicalIp, expandIpv6, ipFamily } from '../../../src/core/ip-address.ts';
import { findSelf, ownAddresses, truncateAtPreference } from '../../../src/core/self-detect.ts';
import type { Endpoint } from '../../../src/core/types.ts';

const ep = (address: string, preference: number): Endpoint => ({
  kind: 'inet',
  host: 'h',
  address,
  port: 25,
  preference,
});

describe('IP helpers', () => {
  it('recognizes families', () => {
    expect(ipFamily('127.0.0.1')).toBe(4);
    expect(ipFamily('::1')).toBe(6);
    expect(ipFamily('2001:db8::1')).toBe(6);
    expect(ipFamily('::ffff:127.0.0.1')).toBe(6);
    expect(ipFamily('256.0.0.1')).toBeUndefined();
    expect(ipFamily('example.test')).toBeUndefined();
    expect(ipFamily('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(ipFamily('1::2::3')).toBeUndefined();
  });

  it('canonicalizes IPv6 spellings', () => {
    expect(expandIpv6('::1')).toBe('0000:0000:0000:0000:0000:0000:0000:0001');
    expect(canonicalIp('2001:DB8:0:0::1')).toBe(canonicalIp('2001:db8::0:1'));
    expect(canonicalIp('::ffff:127.0.0.1')).toBe(canonicalIp('::ffff:7f00:1'));
  });
});

describe('self detection', () => {
  it('own addresses: inet ∪ proxy, non-addresses ignored', () => {
    const own = ownAddresses(['all', '127.0.2.99'], ['[::1]']);
    expect(own.has('127.0.2.99')).toBe(true);
    expect(own.has(canonicalIp('::1') ?? '')).toBe(true);
    expect(own.size).toBe(2);
  });

  it('finds the first self entry and cuts at its preference', () => {
    const l = [ep('127.0.2.1', 10), ep('127.0.2.2', 20), ep('127.0.2.99', 20), ep('127.0.2.3', 30)];
    const own = ownAddresses([], ['127.0.2.99']);
    const i = findSelf(l, own);
    expect(i).toBe(2);
    expect(truncateAtPreference(l, 20).map((e) => e.address)).toEqual(['127.0.2.1']);
    expect(findSelf(l, ownAddresses([], []))).toBe(-1);
  });
});
