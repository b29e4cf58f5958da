/**
 * Self detection for loop prevention (Postfix smtp_find_self / smtp_truncate_self).
 *
 * Decides: which resolved address is "me" (inetInterfaces ∪ proxyInterfaces), and where the list is cut.
 * Never: looks up interfaces or names; decides DSNs (resolve.ts does).
 */
import { canonicalIp } from './ip-address.ts';
import type { Endpoint } from './types.ts';

/** This host's addresses for loop detection: inetInterfaces ∪ proxyInterfaces (non-addresses ignored). */
export function ownAddresses(
  inetInterfaces: readonly string[],
  proxyInterfaces: readonly string[],
): Set<string> {
  const own = new Set<string>();
  for (const entry of [...inetInterfaces, ...proxyInterfaces]) {
    const c = canonicalIp(entry.trim().replace(/^\[(.*)\]$/, '$1'));
    if (c !== undefined) own.add(c);
  }
  return own;
}

/** Index of the first endpoint whose address is one of `own`, or -1. */
export function findSelf(list: readonly Endpoint[], own: ReadonlySet<string>): number {
  return list.findIndex((ep) => {
    const c = canonicalIp(ep.address);
    return c !== undefined && own.has(c);
  });
}

/** Cut the (preference-sorted) list at the first entry with preference `pref` (Postfix smtp_truncate_self). */
export function truncateAtPreference(list: readonly Endpoint[], pref: number): Endpoint[] {
  const cut = list.findIndex((ep) => ep.preference === pref);
  return cut < 0 ? [...list] : list.slice(0, cut);
}
