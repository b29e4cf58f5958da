/**
 * bench/postfix-compare/rss-trace.ts: the summary of a drain's worker RSS samples (pure arithmetic).
 * Never: starts processes or reads /proc.
 */
import { describe, expect, it } from 'vitest';
import { rssCsv, slopePer10k, summarizeRss } from '../../../bench/postfix-compare/rss-trace.ts';

describe('rss-trace', () => {
  it('fits RSS against deliveries: MiB per 10,000 messages', () => {
    const samples = [0, 5_000, 10_000, 20_000].map((d, i) => ({
      seconds: i,
      delivered: d,
      rssMiB: 100 + d / 1000,
    }));
    expect(slopePer10k(samples)).toBeCloseTo(10, 9);
  });

  it('has no slope with fewer than two distinct delivery counts', () => {
    expect(slopePer10k([])).toBeUndefined();
    expect(slopePer10k([{ seconds: 1, delivered: 5, rssMiB: 1 }])).toBeUndefined();
    expect(
      slopePer10k([
        { seconds: 1, delivered: 5, rssMiB: 1 },
        { seconds: 2, delivered: 5, rssMiB: 2 },
      ]),
    ).toBeUndefined();
  });

  it('reports first, peak and last, and leaves the first 10% out of the warm slope', () => {
    const samples = [
      { seconds: 1, delivered: 0, rssMiB: 100 },
      { seconds: 2, delivered: 500, rssMiB: 300 },
      { seconds: 3, delivered: 5_000, rssMiB: 320 },
      { seconds: 4, delivered: 10_000, rssMiB: 320 },
    ];
    const s = summarizeRss(samples, 10_000);
    expect(s).toContain('first 100.0 MiB (0 delivered)');
    expect(s).toContain('peak 320.0 MiB (5000 delivered)');
    expect(s).toContain('last 320.0 MiB (10000 delivered)');
    expect(s).toContain('0.0 after the first 10%');
    expect(rssCsv(samples).split('\n')[0]).toBe('seconds,delivered,rss_mib');
  });
});
