import { describe, expect, it } from 'vitest';
import { orderAddresses, shuffle, sortByPreference } from '../../../src/core/mx-order.ts';
import type { Endpoint } from '../../../src/core/types.ts';
import { seededRandom } from '../../support/fakes.ts';

const ep = (address: string, preference: number, family: 4 | 6 = 4): Endpoint => ({
  kind: 'inet',
  host: address,
  address,
  port: 25,
  family,
  preference,
});

describe('shuffle', () => {
  it('is a permutation and reaches every order of three', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 100; seed++) {
      const out = shuffle(['a', 'b', 'c'], seededRandom(seed));
      expect([...out].sort()).toEqual(['a', 'b', 'c']);
      seen.add(out.join(''));
    }
    expect(seen.size).toBe(6);
  });

  it('is roughly uniform on the first slot', () => {
    const counts = new Map<string, number>();
    const rnd = seededRandom(7);
    for (let i = 0; i < 3000; i++) {
      const first = shuffle(['a', 'b', 'c'], rnd)[0] ?? '';
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    for (const n of counts.values()) expect(n).toBeGreaterThan(850);
  });
});

describe('sortByPreference', () => {
  it('is stable for equal preferences', () => {
    const l = [ep('c', 10), ep('a', 5), ep('b', 10), ep('d', 10)];
    expect(sortByPreference(l, 'any').map((e) => e.address)).toEqual(['a', 'c', 'b', 'd']);
  });

  it('breaks ties by family only within one preference', () => {
    const l = [ep('v4a', 10), ep('v6a', 10, 6), ep('v4b', 5), ep('v6b', 20, 6)];
    expect(sortByPreference(l, 'ipv6').map((e) => e.address)).toEqual(['v4b', 'v6a', 'v4a', 'v6b']);
    expect(sortByPreference(l, 'ipv4').map((e) => e.address)).toEqual(['v4b', 'v4a', 'v6a', 'v6b']);
  });
});

describe('orderAddresses', () => {
  it('without randomizing equals the stable sort', () => {
    const l = [ep('b', 10), ep('a', 10), ep('z', 1)];
    const out = orderAddresses(l, { randomize: false, addressPreference: 'any', random: seededRandom(1) });
    expect(out.map((e) => e.address)).toEqual(['z', 'b', 'a']);
  });

  it('with randomizing shows both orders of a tie across seeds', () => {
    const l = [ep('b', 10), ep('a', 10), ep('z', 1)];
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const out = orderAddresses(l, {
        randomize: true,
        addressPreference: 'any',
        random: seededRandom(seed),
      });
      expect(out[0]?.address).toBe('z');
      seen.add(out.map((e) => e.address).join(''));
    }
    expect(seen).toEqual(new Set(['zba', 'zab']));
  });
});
