/**
 * SRV record ordering per RFC 2782 as Postfix does it (dns_srv_rr_sort): shuffle, stable sort
 * by priority, then weighted random selection within each priority (weight 0 is just a small
 * weight, no special zero handling).
 *
 * Decides: the order in which SRV targets are tried.
 * Never: resolves targets or touches Math.random.
 */
import { shuffle } from './mx-order.ts';
import type { Random, SrvRecord } from './ports.ts';

/** Weighted selection over one equal-priority run, in place. */
function weightedOrder(run: SrvRecord[], random: Random): void {
  let unordered = run.reduce((sum, r) => sum + r.weight, 0);
  for (let i = 0; i < run.length - 1; i++) {
    const threshold = Math.min(unordered, Math.floor(random.next() * (unordered + 1)));
    let running = 0;
    for (let k = i; k < run.length; k++) {
      const rec = run[k] as SrvRecord;
      running += rec.weight;
      if (running >= threshold) {
        unordered -= rec.weight;
        run[k] = run[i] as SrvRecord;
        run[i] = rec;
        break;
      }
    }
  }
}

/** RFC 2782 order of SRV records (new array). */
export function orderSrvRecords(records: readonly SrvRecord[], random: Random): SrvRecord[] {
  const sorted = shuffle(records, random).sort((a, b) => a.priority - b.priority);
  const out: SrvRecord[] = [];
  for (let start = 0; start < sorted.length; ) {
    const prio = (sorted[start] as SrvRecord).priority;
    let end = start;
    while (end < sorted.length && (sorted[end] as SrvRecord).priority === prio) end++;
    const run = sorted.slice(start, end);
    weightedOrder(run, random);
    out.push(...run);
    start = end;
  }
  return out;
}
