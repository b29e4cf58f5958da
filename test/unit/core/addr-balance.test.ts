import { describe, expect, it } from 'vitest';
import { balanceInetProtocols } from '../../../src/core/addr-balance.ts';
import type { Endpoint } from '../../../src/core/types.ts';

/** "4" / "6" pattern → endpoints named by family and position. */
function list(pattern: string): Endpoint[] {
  return [...pattern].map((f, i) => ({
    kind: 'inet',
    host: `h${i}`,
    address: f === '6' ? `2001:db8::${i + 1}` : `127.0.2.${i + 1}`,
    port: 25,
    family: f === '6' ? 6 : 4,
    preference: 10,
  }));
}
const fams = (l: Endpoint[]) => l.map((e) => e.family).join('');
const hosts = (l: Endpoint[]) => l.map((e) => e.host).join(',');

describe('balanceInetProtocols (§3.5)', () => {
  it('leaves lists within the limit or of one family alone', () => {
    expect(fams(balanceInetProtocols(list('64646'), 5))).toBe('64646');
    expect(fams(balanceInetProtocols(list('6666666'), 5))).toBe('6666666');
  });

  it('few v6: keeps every v6 and fills with v4 (R1)', () => {
    expect(hosts(balanceInetProtocols(list('4444446'), 5))).toBe('h0,h1,h2,h3,h6');
  });

  it('few v4: keeps every v4 and fills with v6 (R3)', () => {
    expect(hosts(balanceInetProtocols(list('6666664'), 5))).toBe('h0,h1,h2,h3,h6');
  });

  it('both many: v4 gets (L + first-is-v4) / 2 (R2)', () => {
    expect(fams(balanceInetProtocols(list('444666'), 5))).toBe('44466');
    expect(hosts(balanceInetProtocols(list('4444666'), 5))).toBe('h0,h1,h2,h4,h5');
    expect(hosts(balanceInetProtocols(list('6664444'), 5))).toBe('h0,h1,h2,h3,h4');
    expect(fams(balanceInetProtocols(list('6466464'), 5))).toBe('64664');
    expect(fams(balanceInetProtocols(list('666444'), 4))).toBe('6644');
  });

  it('caps the limit at 100', () => {
    const big = list(`${'4'.repeat(150)}${'6'.repeat(10)}`);
    expect(balanceInetProtocols(big, 500)).toHaveLength(100);
  });
});
