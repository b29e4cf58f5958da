/**
 * One signed POST of one delivery event to one endpoint, and the retry backoff.
 *
 * Decides: the JSON body ({ id, type: "delivery.<event>", queueId, jobId, recipient, event, dsn,
 * relay, diagnostic, at }), the headers (signature, timestamp, event id, replay flag), that only a
 * 2xx answer counts as delivered, and the backoff: 1 s doubling to 5 min, with ±20 % jitter.
 * Never: retries by itself (the caller loops), follows redirects, logs the secret.
 */
import type { DeliveryEvent } from '../queue/job-schema.ts';
import type { WebhookEndpoint } from './config.ts';
import {
  EVENT_ID_HEADER,
  REPLAY_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
} from './signature.ts';

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_MAX_MS = 300_000;

export function webhookBody(id: string, e: DeliveryEvent): string {
  return JSON.stringify({ id, type: `delivery.${e.event}`, ...e });
}

export type PostResult = { ok: true; status: number } | { ok: false; status?: number; error: string };

export async function postEvent(
  ep: WebhookEndpoint,
  id: string,
  e: DeliveryEvent,
  opts: { replay?: boolean; nowSec?: number } = {},
): Promise<PostResult> {
  const body = webhookBody(id, e);
  const ts = opts.nowSec ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'mxq-webhooks',
    [EVENT_ID_HEADER]: id,
    [TIMESTAMP_HEADER]: String(ts),
    [SIGNATURE_HEADER]: signWebhook(ep.secret, ts, body),
  };
  if (opts.replay === true) headers[REPLAY_HEADER] = '1';
  try {
    const res = await fetch(ep.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(ep.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { ok: false, error: `${err instanceof Error ? err.message : String(err)}${cause}` };
  }
}

/** Delay before retry number `failures` (1, 2, ...): 1 s, 2 s, 4 s ... 5 min (by default), ±20 %. */
export function backoffMs(
  failures: number,
  random: () => number = Math.random,
  baseMs = BACKOFF_BASE_MS,
  maxMs = BACKOFF_MAX_MS,
): number {
  const base = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
