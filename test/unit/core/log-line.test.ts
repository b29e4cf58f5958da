import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDelaySeconds, formatRecipientLogLine, tlsFeatureStatus } from '../../../src/core/log-line.ts';
import type { RecipientResult } from '../../../src/core/types.ts';

describe('formatDelaySeconds', () => {
  it.each([
    [0, '0'],
    [0.004, '0'],
    [0.0049, '0'],
    [0.005, '0.01'],
    [0.01, '0.01'],
    [0.1, '0.1'],
    [0.22, '0.22'],
    [0.225, '0.23'],
    [0.5, '0.5'],
    [0.994, '0.99'],
    [0.995, '1'],
    [1, '1'],
    [1.3, '1.3'],
    [1.25, '1.3'],
    [1.24, '1.2'],
    [2.0, '2'],
    [9.94, '9.9'],
    [9.95, '10'],
    [10, '10'],
    [12, '12'],
    [12.4, '12'],
    [12.5, '13'],
    [3600.2, '3600'],
    [-1, '0'],
  ])('%d → %s', (v, s) => {
    expect(formatDelaySeconds(v)).toBe(s);
  });
  it('has at most two decimals, no trailing zeros, and is close to the value', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (v) => {
        const s = formatDelaySeconds(v);
        expect(s).toMatch(/^(0|[1-9]\d*)(\.\d?[1-9])?$/);
        const tolerance = v >= 9.95 ? 0.5 : v >= 0.995 ? 0.05 : 0.005;
        expect(Math.abs(Number(s) - v)).toBeLessThanOrEqual(tolerance + 1e-9);
      }),
    );
  });
});

const sent: RecipientResult = {
  recipient: { address: 'a@example.test' },
  status: 'sent',
  dsn: '2.0.0',
  relay: 'mx1.example.test[127.0.2.1]:25',
  diagnostic: '250 2.0.0 Ok: queued as 4Xyz',
};

describe('formatRecipientLogLine', () => {
  it('sent', () => {
    expect(
      formatRecipientLogLine({
        queueId: 'ABC123',
        result: sent,
        delaySeconds: 1.26,
        delays: [0.1, 0, 1.1, 0.06],
      }),
    ).toBe(
      'ABC123: to=<a@example.test>, relay=mx1.example.test[127.0.2.1]:25, delay=1.3, delays=0.1/0/1.1/0.06, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Xyz)',
    );
  });
  it('orig_to only when it differs case-insensitively; conn_use only when reused; tls when given', () => {
    const same = { ...sent, recipient: { address: 'a@example.test', orcpt: 'A@Example.TEST' } };
    expect(
      formatRecipientLogLine({ queueId: 'Q', result: same, delaySeconds: 0, delays: [0, 0, 0, 0] }),
    ).not.toContain('orig_to');
    const differ = {
      ...sent,
      recipient: { address: 'a@example.test', orcpt: 'alias@example.test' },
      connUse: 2,
    };
    expect(
      formatRecipientLogLine({
        queueId: 'Q',
        result: differ,
        delaySeconds: 12,
        delays: [0, 0, 0, 0],
        tls: 'may',
      }),
    ).toBe(
      'Q: to=<a@example.test>, orig_to=<alias@example.test>, relay=mx1.example.test[127.0.2.1]:25, conn_use=2, delay=12, delays=0/0/0/0, tls=may, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Xyz)',
    );
  });
  it('deferred, bounced and SOFTBOUNCE', () => {
    const deferred: RecipientResult = {
      recipient: { address: 'b@example.test' },
      status: 'deferred',
      dsn: '4.4.1',
      relay: 'none',
      diagnostic: 'connect to mx2.example.test[127.0.2.2]:25: Connection refused',
    };
    expect(
      formatRecipientLogLine({ queueId: 'Q', result: deferred, delaySeconds: 0.004, delays: [0, 0, 0, 0] }),
    ).toBe(
      'Q: to=<b@example.test>, relay=none, delay=0, delays=0/0/0/0, dsn=4.4.1, status=deferred (connect to mx2.example.test[127.0.2.2]:25: Connection refused)',
    );
    const soft = {
      ...deferred,
      dsn: '4.1.1',
      softBounce: true,
      diagnostic: 'host x said: 550 5.1.1 no (in reply to RCPT TO command)',
    };
    expect(
      formatRecipientLogLine({ queueId: 'Q', result: soft, delaySeconds: 0, delays: [0, 0, 0, 0] }),
    ).toContain('dsn=4.1.1, status=SOFTBOUNCE (host x said');
    const bounced = { ...deferred, status: 'bounced' as const, dsn: '5.1.1' };
    expect(
      formatRecipientLogLine({ queueId: 'Q', result: bounced, delaySeconds: 0, delays: [0, 0, 0, 0] }),
    ).toContain('status=bounced (');
  });
  it('never lets remote text break the line', () => {
    const evil = { ...sent, diagnostic: '250 ok\r\nQ: to=<x>, status=sent' };
    expect(
      formatRecipientLogLine({ queueId: 'Q', result: evil, delaySeconds: 0, delays: [0, 0, 0, 0] }),
    ).not.toMatch(/[\r\n]/);
  });
});

describe('tlsFeatureStatus (§11.1 tls=)', () => {
  it('names the policy level, :none for plaintext, /requiretls only over TLS, nothing at level none', () => {
    expect(tlsFeatureStatus({ policyLevel: 'may', active: true, requireTls: false })).toBe('may');
    expect(tlsFeatureStatus({ policyLevel: 'may', active: false, requireTls: false })).toBe('may:none');
    expect(tlsFeatureStatus({ policyLevel: 'verify', active: true, requireTls: true })).toBe(
      'verify/requiretls',
    );
    expect(tlsFeatureStatus({ policyLevel: 'none', active: false, requireTls: false })).toBeUndefined();
  });
});
