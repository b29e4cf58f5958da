import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseWebhookConfig } from '../../../src/webhooks/config.ts';
import { backoffMs } from '../../../src/webhooks/post.ts';
import { parseTimeArg } from '../../../src/webhooks/replay.ts';
import { signWebhook, verifyWebhookSignature } from '../../../src/webhooks/signature.ts';

const SECRET = 'secret-0123456789abcdef';

describe('signature scheme', () => {
  it('v1 = HMAC-SHA256(secret, "<timestamp>.<body>") in hex', () => {
    const want = createHmac('sha256', SECRET).update('1700000000.{"a":1}').digest('hex');
    expect(signWebhook(SECRET, 1_700_000_000, '{"a":1}')).toBe(`v1=${want}`);
  });
  it('verifies, and refuses another body, secret, or a timestamp outside the tolerance', () => {
    const sig = signWebhook(SECRET, 1000, 'body');
    const base = { secret: SECRET, body: 'body', timestamp: '1000', signature: sig, nowSec: 1100 };
    expect(verifyWebhookSignature(base)).toBe(true);
    expect(verifyWebhookSignature({ ...base, body: 'body!' })).toBe(false);
    expect(verifyWebhookSignature({ ...base, secret: `${SECRET}x` })).toBe(false);
    expect(verifyWebhookSignature({ ...base, nowSec: 1000 + 301 })).toBe(false);
    expect(verifyWebhookSignature({ ...base, timestamp: '1000.5' })).toBe(false);
    expect(verifyWebhookSignature({ ...base, signature: undefined })).toBe(false);
  });
});

describe('config', () => {
  const ok = { name: 'crm', url: 'http://127.0.0.1:8080/hook', secret: SECRET };
  it('defaults: every event kind, 10 s timeout; secretEnv reads the environment', () => {
    const [e] = parseWebhookConfig(
      { endpoints: [{ ...ok, secret: undefined, secretEnv: 'S' }] },
      { S: SECRET },
    );
    expect(e?.secret).toBe(SECRET);
    expect([...(e?.events ?? [])].sort()).toEqual(['bounced', 'deferred', 'delayed', 'expired', 'sent']);
    expect(e?.timeoutMs).toBe(10_000);
  });
  it.each([
    [{ endpoints: [] }, 'endpoints'],
    [{ endpoints: [{ ...ok, name: 'a b' }] }, 'endpoints[0].name'],
    [{ endpoints: [{ ...ok, url: 'nope' }] }, 'endpoints[0].url'],
    [{ endpoints: [{ ...ok, secret: 'short' }] }, 'endpoints[0].secret'],
    [{ endpoints: [{ ...ok, events: ['sent', 'opened'] }] }, 'endpoints[0].events[1]'],
    [{ endpoints: [ok, ok] }, 'endpoints[1].name'],
    [{ endpoints: [{ ...ok, secret: undefined, secretEnv: 'MISSING' }] }, 'endpoints[0].secretEnv'],
  ])('%j is refused on %s', (config, field) => {
    expect(() => parseWebhookConfig(config, {})).toThrow(expect.objectContaining({ field }));
  });
  it('never puts the secret in an error', () => {
    try {
      parseWebhookConfig({ endpoints: [{ ...ok, url: 'ftp://x/' }] });
    } catch (err) {
      expect(String(err)).not.toContain(SECRET);
    }
  });
});

describe('replay range and backoff', () => {
  it('durations ago, epoch ms, ISO time; bad input names the flag', () => {
    expect(parseTimeArg('15m', '--since', 1_000_000_000)).toBe(1_000_000_000 - 900_000);
    expect(parseTimeArg('1764637200000', '--since')).toBe(1_764_637_200_000);
    expect(parseTimeArg('2026-12-02T00:00:00Z', '--since')).toBe(Date.parse('2026-12-02T00:00:00Z'));
    expect(() => parseTimeArg('yesterday', '--until')).toThrow(/^--until: not a time/);
  });
  it('backoff doubles from 1 s to 5 min, within ±20 %', () => {
    expect([1, 2, 3, 20].map((n) => backoffMs(n, () => 0.5))).toEqual([1000, 2000, 4000, 300_000]);
    expect(backoffMs(1, () => 0)).toBe(800);
    expect(backoffMs(1, () => 1)).toBe(1200);
  });
});
