import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, parseDurationMs, resolveOptions } from '../../../src/core/options.ts';

describe('parseDurationMs', () => {
  it.each([
    [30, 30_000],
    ['30', 30_000],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['5d', 432_000_000],
    ['1w', 604_800_000],
    ['0h', 0],
    [' 1.5s ', 1500],
  ])('%j → %d ms', (v, ms) => {
    expect(parseDurationMs(v)).toBe(ms);
  });
  it.each(['', 'soon', '5x', '-1s', '1s2'])('%j is refused', (v) => {
    expect(() => parseDurationMs(v, 'opt')).toThrow(/opt/);
  });
  it('refuses negative and non-finite numbers', () => {
    expect(() => parseDurationMs(-1)).toThrow();
    expect(() => parseDurationMs(Number.POSITIVE_INFINITY)).toThrow();
  });
});

describe('resolveOptions', () => {
  it('fills Postfix defaults and converts durations', () => {
    const o = resolveOptions({});
    expect(o.minimalBackoffTime).toBe(300_000);
    expect(o.maximalQueueLifetime).toBe(5 * 86_400_000);
    expect(o.smtpMxAddressLimit).toBe(5);
    expect(o.smtpHeloName).toBe('localhost.localdomain');
    expect(resolveOptions({ myhostname: 'mx.test' }).smtpHeloName).toBe('mx.test');
  });
  it('refuses unknown options', () => {
    expect(() => resolveOptions({ nope: 1 } as never)).toThrow('unknown option "nope"');
  });
});

describe('docs/configuration.md', () => {
  it('documents every option in one table row', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const missing = Object.keys(DEFAULT_OPTIONS).filter((k) => !doc.includes(`| \`${k}\` |`));
    expect(missing).toEqual([]);
  });
});
