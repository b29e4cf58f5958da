/**
 * Worker RSS over a drain, for bench/postfix-compare's --rss-samples.
 *
 * Decides: the summary of per-second samples (seconds since release, deliveries counted by the
 * sink so far, largest worker VmRSS in MiB): first, peak and last RSS, and the least-squares slope
 * of RSS against deliveries in MiB per 10,000 messages, over all samples and over those after the
 * first 10% of deliveries (start-up and JIT warm-up left out); the CSV of the samples.
 * Never: reads processes or files (the caller samples and writes).
 */

export interface RssSample {
  seconds: number;
  delivered: number;
  rssMiB: number;
}

/** MiB per 10,000 deliveries; undefined with fewer than two distinct delivery counts. */
export function slopePer10k(samples: readonly RssSample[]): number | undefined {
  const n = samples.length;
  if (n < 2) return undefined;
  const mx = samples.reduce((a, s) => a + s.delivered, 0) / n;
  const my = samples.reduce((a, s) => a + s.rssMiB, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of samples) {
    sxy += (s.delivered - mx) * (s.rssMiB - my);
    sxx += (s.delivered - mx) ** 2;
  }
  return sxx === 0 ? undefined : (sxy / sxx) * 10_000;
}

export function summarizeRss(samples: readonly RssSample[], total: number): string {
  if (samples.length === 0) return 'no RSS samples';
  const first = samples[0] as RssSample;
  const last = samples[samples.length - 1] as RssSample;
  const peak = samples.reduce((a, s) => (s.rssMiB > a.rssMiB ? s : a), first);
  const f = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1));
  const warm = samples.filter((s) => s.delivered >= total / 10);
  return (
    `worker RSS over ${samples.length} samples: first ${f(first.rssMiB)} MiB (${first.delivered} delivered), ` +
    `peak ${f(peak.rssMiB)} MiB (${peak.delivered} delivered), last ${f(last.rssMiB)} MiB (${last.delivered} delivered); ` +
    `slope ${f(slopePer10k(samples))} MiB per 10,000 messages (all), ${f(slopePer10k(warm))} after the first 10%`
  );
}

export function rssCsv(samples: readonly RssSample[]): string {
  return `seconds,delivered,rss_mib\n${samples.map((s) => `${s.seconds.toFixed(1)},${s.delivered},${s.rssMiB.toFixed(1)}`).join('\n')}\n`;
}
