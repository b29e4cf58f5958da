/**
 * Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>`, Stripe-style.
 *
 * Headers of every POST: `X-Mxq-Timestamp: <unix seconds>`, `X-Mxq-Signature: v1=<hex>` where
 * hex = HMAC-SHA256(secret, `${timestamp}.${rawBody}`). A receiver recomputes it over the raw body
 * bytes, compares in constant time, and rejects timestamps outside its tolerance (replays).
 * Decides: the scheme and the verification (constant-time, tolerance default 300 s).
 * Never: logs secrets or signatures.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-mxq-signature';
export const TIMESTAMP_HEADER = 'x-mxq-timestamp';
export const EVENT_ID_HEADER = 'x-mxq-event-id';
export const REPLAY_HEADER = 'x-mxq-replay';

export function signWebhook(secret: string, timestampSec: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

/**
 * For receivers written in Node: true when `signature` is v1 HMAC of `timestamp.body` under
 * `secret` and the timestamp is within `toleranceSec` of `nowSec`.
 */
export function verifyWebhookSignature(p: {
  secret: string;
  body: string | Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
  toleranceSec?: number;
  nowSec?: number;
}): boolean {
  if (p.timestamp === undefined || p.signature === undefined || !/^\d{1,12}$/.test(p.timestamp)) return false;
  const ts = Number(p.timestamp);
  const now = p.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (p.toleranceSec ?? 300)) return false;
  const body = typeof p.body === 'string' ? p.body : p.body.toString('utf8');
  const want = Buffer.from(signWebhook(p.secret, ts, body));
  const got = Buffer.from(p.signature);
  return got.length === want.length && timingSafeEqual(got, want);
}
