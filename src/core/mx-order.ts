/**
 * Ordering of server addresses: the Fisher–Yates shuffle and the stable preference sort with
 * the optional address-family tie-break (Postfix dns_rr_shuffle + dns_rr_sort).
 *
 * Decides: the order of equal-preference entries (random when randomizing), family tie-breaks.
 * Never: drops entries (addr-balance.ts and self-detect.ts do), touches Math.random.
 */
import type { Random } from './ports.ts';
import type { Endpoint } from './types.ts';

export type AddressPreference = 'any' | 'ipv4' | 'ipv6';

/** Uniform Fisher–Yates shuffle into a new array, drawing from `random`. */
export function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random.next() * (i + 1)));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

function familyRank(ep: Endpoint, pref: AddressPreference): number {
  if (pref === 'any') return 0;
  const fam = ep.family ?? 4;
  return (pref === 'ipv6') === (fam === 6) ? 0 : 1;
}

/** Stable sort by preference, then by family when `addressPreference` is ipv4/ipv6. */
export function sortByPreference(
  list: readonly Endpoint[],
  addressPreference: AddressPreference,
): Endpoint[] {
  return [...list].sort(
    (a, b) =>
      a.preference - b.preference || familyRank(a, addressPreference) - familyRank(b, addressPreference),
  );
}

/** Shuffle (when `randomize`) and then stably sort: Postfix §3.3 step 5 without balancing. */
export function orderAddresses(
  list: readonly Endpoint[],
  p: { randomize: boolean; addressPreference: AddressPreference; random: Random },
): Endpoint[] {
  const mixed = p.randomize ? shuffle(list, p.random) : [...list];
  return sortByPreference(mixed, p.addressPreference);
}
