/**
 * IPv4/IPv6 balancing within the address limit (Postfix smtp_balance_inet_proto, §3.5).
 *
 * Decides: how many entries of each family survive when the list exceeds the limit and holds
 * both families. Relative order is kept.
 * Never: reorders entries or applies the limit when only one family is present.
 */
import type { Endpoint } from './types.ts';

/** Postfix's internal record-list cap, also the ceiling of the balancing limit. */
export const BALANCE_LIMIT_CAP = 100;

function isV6(ep: Endpoint): boolean {
  return ep.family === 6;
}

/** Keep a balanced subset when both families are present and the list is longer than the limit. */
export function balanceInetProtocols(list: readonly Endpoint[], addressLimit: number): Endpoint[] {
  const limit = Math.min(addressLimit, BALANCE_LIMIT_CAP);
  const v6Count = list.filter(isV6).length;
  const v4Count = list.length - v6Count;
  if (limit <= 0 || v4Count === 0 || v6Count === 0 || list.length <= limit) return [...list];
  let v4Target: number;
  let v6Target: number;
  if (v6Count <= limit / 2) {
    v6Target = v6Count;
    v4Target = limit - v6Target;
  } else if (v4Count <= limit / 2) {
    v4Target = v4Count;
    v6Target = limit - v4Target;
  } else {
    const first = list[0];
    v4Target = Math.floor((limit + (first && !isV6(first) ? 1 : 0)) / 2);
    v6Target = limit - v4Target;
  }
  const out: Endpoint[] = [];
  for (const ep of list) {
    if (isV6(ep) ? v6Target-- > 0 : v4Target-- > 0) out.push(ep);
  }
  return out;
}
