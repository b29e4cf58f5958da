import { describe, expect, it } from 'vitest';
import {
  attemptFeedback,
  destinationKey,
  destinationParams,
  mxHostsKey,
  softStatus,
  suspendedText,
} from '../../../src/core/destination.ts';
import { resolveOptions } from '../../../src/core/options.ts';

describe('destination decisions', () => {
  it('keys a destination by transport and next-hop, lower-case', () => {
    expect(destinationKey({ protocol: 'smtp', nexthop: 'Example.TEST' })).toBe('smtp:example.test');
    expect(destinationKey({ protocol: 'lmtp', nexthop: 'unix:/run/lmtp' })).toBe('lmtp:unix:/run/lmtp');
  });
  it("uses Postfix's defaults and per-destination overrides", () => {
    const d = destinationParams('smtp:a.test', resolveOptions({}));
    expect(d).toMatchObject({
      concurrencyLimit: 20,
      initialConcurrency: 5,
      failedCohortLimit: 1,
      rateDelayMs: 0,
      suspendMs: 300_000,
    });
    const o = resolveOptions({
      destinationOverrides: { 'smtp:a.test': { concurrencyLimit: 2 }, '[relay.test]': { rateDelay: '1s' } },
    });
    expect(destinationParams('smtp:a.test', o)).toMatchObject({ concurrencyLimit: 2, initialConcurrency: 2 });
    expect(destinationParams('smtp:[relay.test]', o)).toMatchObject({
      concurrencyLimit: 20,
      rateDelayMs: 1000,
    });
  });
  it('only a hop status is a failure (4xx replies to MAIL/RCPT/DATA are not)', () => {
    expect(attemptFeedback({})).toEqual({ kind: 'ok' });
    expect(
      attemptFeedback({
        hopStatus: { handler: 'sess', status: '4.4.1', text: 'connect refused', throttle: true },
      }),
    ).toEqual({ kind: 'fail', status: '4.4.1', reason: 'connect refused' });
  });
  it("words a suspended destination's deferral like Postfix, always soft", () => {
    expect(suspendedText('connect to x: timed out')).toBe(
      'delivery temporarily suspended: connect to x: timed out',
    );
    expect(softStatus('5.4.4')).toBe('4.4.4');
    expect(softStatus('junk')).toBe('4.3.0');
  });
});

describe('mxHostsKey', () => {
  it('keys a destination by its sorted, de-duplicated MX host names', () => {
    expect(mxHostsKey('smtp', ['MX2.p.example.', 'mx1.p.example', 'mx2.p.example'])).toBe(
      'smtp:mx=mx1.p.example,mx2.p.example',
    );
    expect(mxHostsKey('smtp', ['', '.'])).toBeUndefined();
  });
});
