import { describe, expect, it } from 'vitest';
import type { SrvRecord } from '../../../src/core/ports.ts';
import { orderSrvRecords } from '../../../src/core/srv-order.ts';
import { seededRandom } from '../../support/fakes.ts';

const srv = (target: string, priority: number, weight: number): SrvRecord => ({
  priority,
  weight,
  port: 587,
  target,
});

describe('orderSrvRecords (RFC 2782 as Postfix)', () => {
  it('sorts by priority first', () => {
    for (let seed = 0; seed < 20; seed++) {
      const out = orderSrvRecords([srv('c', 30, 5), srv('a', 10, 0), srv('b', 20, 100)], seededRandom(seed));
      expect(out.map((r) => r.target)).toEqual(['a', 'b', 'c']);
    }
  });

  it('weight 50 beats weight 0 about 99 times in 100 (row 48)', () => {
    const rnd = seededRandom(3);
    let heavyFirst = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const out = orderSrvRecords([srv('s1', 10, 50), srv('s2', 10, 0), srv('s3', 20, 0)], rnd);
      expect(out[2]?.target).toBe('s3');
      if (out[0]?.target === 's1') heavyFirst++;
    }
    // Expected 1 - 1/102 ≈ 0.990; weight 0 is a small weight, not never.
    expect(heavyFirst / n).toBeGreaterThan(0.975);
    expect(heavyFirst).toBeLessThan(n);
  });

  it('splits proportionally to the weights (3:1)', () => {
    const rnd = seededRandom(11);
    let first = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      if (orderSrvRecords([srv('a', 1, 30), srv('b', 1, 10)], rnd)[0]?.target === 'a') first++;
    }
    // Threshold uniform in 0..40: [a,b] → a if ≤ 30 (31/41); [b,a] → a if > 10 (30/41); ≈ 0.744.
    expect(first / n).toBeGreaterThan(0.71);
    expect(first / n).toBeLessThan(0.78);
  });

  it('all-zero weights are shuffled uniformly-ish, every order seen', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 100; seed++) {
      seen.add(
        orderSrvRecords([srv('a', 1, 0), srv('b', 1, 0), srv('c', 1, 0)], seededRandom(seed))
          .map((r) => r.target)
          .join(''),
      );
    }
    expect(seen.size).toBe(6);
  });

  it('keeps every record exactly once', () => {
    const input = Array.from({ length: 12 }, (_, i) => srv(`t${i}`, i % 3, i * 7));
    const out = orderSrvRecords(input, seededRandom(5));
    expect(out.map((r) => r.target).sort()).toEqual(input.map((r) => r.target).sort());
  });
});
