import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import {
  backoffDelayMs,
  baseBackoffMs,
  delayWarningDue,
  isExpired,
  willRetryUntil,
} from '../../../src/core/retry-policy.ts';
import { seededRandom } from '../../support/fakes.ts';

const S = 1000;
const opts = resolveOptions({});
const fixed = (v: number) => ({ next: () => v });

describe('backoff', () => {
  it('clamps the age to 300 s .. 4000 s', () => {
    expect(baseBackoffMs(0, opts)).toBe(300 * S);
    expect(baseBackoffMs(1000 * S, opts)).toBe(1000 * S);
    expect(baseBackoffMs(10_000 * S, opts)).toBe(4000 * S);
  });
  it('jitters by ±10% around the clamped age', () => {
    const t0 = 1_000_000;
    expect(backoffDelayMs({ arrivalTime: t0, now: t0 + 1000 * S, opts, random: fixed(0.5) })).toBe(1000 * S);
    expect(backoffDelayMs({ arrivalTime: t0, now: t0 + 1000 * S, opts, random: fixed(0) })).toBe(900 * S);
    expect(
      backoffDelayMs({ arrivalTime: t0, now: t0 + 1000 * S, opts, random: fixed(0.999999) }),
    ).toBeCloseTo(1100 * S, -1);
  });
  it('never goes below the minimum or above the maximum', () => {
    expect(backoffDelayMs({ arrivalTime: 0, now: 0, opts, random: fixed(0) })).toBe(300 * S);
    expect(backoffDelayMs({ arrivalTime: 0, now: 100_000 * S, opts, random: fixed(0.99) })).toBe(4000 * S);
    const random = seededRandom(7);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.integer({ min: -1000, max: 10 ** 10 }),
        (arrival, age) => {
          const d = backoffDelayMs({ arrivalTime: arrival, now: arrival + age, opts, random });
          expect(d).toBeGreaterThanOrEqual(300 * S);
          expect(d).toBeLessThanOrEqual(4000 * S);
        },
      ),
    );
  });
  it('doubles roughly with age (exponential-looking schedule)', () => {
    const small = resolveOptions({ minimalBackoffTime: 1, maximalBackoffTime: 8 });
    const ages = [0, 1, 2, 4, 8, 16].map((a) =>
      backoffDelayMs({ arrivalTime: 0, now: a * S, opts: small, random: fixed(0.5) }),
    );
    expect(ages).toEqual([1, 1, 2, 4, 8, 8].map((x) => x * S));
  });
});

describe('expiry', () => {
  it('expires at arrival + maximalQueueLifetime', () => {
    const life = 5 * 86_400 * S;
    expect(isExpired({ arrivalTime: 0, now: life - 1, nullSender: false, opts })).toBe(false);
    expect(isExpired({ arrivalTime: 0, now: life, nullSender: false, opts })).toBe(true);
    expect(willRetryUntil({ arrivalTime: 10, nullSender: false, opts })).toBe(10 + life);
  });
  it('uses bounceQueueLifetime for null-sender mail', () => {
    const o = resolveOptions({ maximalQueueLifetime: '5d', bounceQueueLifetime: '1h' });
    expect(isExpired({ arrivalTime: 0, now: 3600 * S, nullSender: true, opts: o })).toBe(true);
    expect(isExpired({ arrivalTime: 0, now: 3600 * S, nullSender: false, opts: o })).toBe(false);
  });
  it('a lifetime of 0 means try once', () => {
    const o = resolveOptions({ maximalQueueLifetime: 0 });
    expect(isExpired({ arrivalTime: 5, now: 5, nullSender: false, opts: o })).toBe(true);
  });
});

describe('delay warnings', () => {
  it('off by default', () => {
    expect(delayWarningDue({ arrivalTime: 0, now: 10 ** 12, alreadyWarned: false, opts })).toBe(false);
  });
  it('due once after delayWarningTime, not after expiry', () => {
    const o = resolveOptions({ delayWarningTime: '4h', maximalQueueLifetime: '1d' });
    expect(delayWarningDue({ arrivalTime: 0, now: 4 * 3600 * S - 1, alreadyWarned: false, opts: o })).toBe(
      false,
    );
    expect(delayWarningDue({ arrivalTime: 0, now: 4 * 3600 * S, alreadyWarned: false, opts: o })).toBe(true);
    expect(delayWarningDue({ arrivalTime: 0, now: 4 * 3600 * S, alreadyWarned: true, opts: o })).toBe(false);
    expect(delayWarningDue({ arrivalTime: 0, now: 86_400 * S, alreadyWarned: false, opts: o })).toBe(false);
  });
});
