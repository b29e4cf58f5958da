/**
 * `mxq webhooks replay`: POST the retained events of a time range again (signed, with
 * `X-Mxq-Replay: 1`), without touching the consumer groups.
 *
 * Decides: the range syntax (`--since`/`--until`: ISO 8601 time, epoch ms, or a duration back
 * from now: 90s, 15m, 2h, 7d), that each event is tried up to `attempts` times with backoff, and
 * the report (sent, failed, skipped by the endpoint's event filter).
 * Never: acknowledges anything or changes what `mxq webhooks` will send.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { decodeDeliveryEvent } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';
import type { WebhookEndpoint } from './config.ts';
import { backoffMs, postEvent } from './post.ts';

/** "2026-12-02T01:00:00Z", "1764637200000", "15m" (ago) → epoch ms; throws naming the flag. */
export function parseTimeArg(value: string, flag: string, now = Date.now()): number {
  const d = /^(\d+)(s|m|h|d)$/.exec(value);
  if (d !== null)
    return (
      now - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[d[2] as 's' | 'm' | 'h' | 'd']
    );
  if (/^\d{10,}$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new RangeError(`${flag}: not a time (ISO 8601, epoch ms, or 90s/15m/2h/7d ago): ${value}`);
  return t;
}

export interface ReplayReport {
  sent: number;
  failed: number;
  skipped: number;
}

export async function replayEvents(p: {
  redis: Redis;
  keys: QueueKeys;
  endpoints: WebhookEndpoint[];
  sinceMs: number;
  untilMs?: number;
  attempts?: number;
  backoffBaseMs?: number;
  onFailure?: (endpoint: string, id: string, error: string) => void;
}): Promise<ReplayReport> {
  const report: ReplayReport = { sent: 0, failed: 0, skipped: 0 };
  let start = `${Math.max(0, Math.floor(p.sinceMs))}-0`;
  const end = p.untilMs === undefined ? '+' : `${Math.floor(p.untilMs)}-99999999`;
  for (let page = 0; page < 10_000; page++) {
    const entries = await p.redis.xrange(p.keys.events, start, end, 'COUNT', 500);
    if (entries.length === 0) break;
    for (const [id, fields] of entries) {
      const event = decodeDeliveryEvent(fields);
      for (const ep of p.endpoints) {
        if (!ep.events.has(event.event)) {
          report.skipped++;
          continue;
        }
        let last = '';
        let ok = false;
        for (let i = 1; i <= (p.attempts ?? 3) && !ok; i++) {
          const r = await postEvent(ep, id, event, { replay: true });
          ok = r.ok;
          if (!r.ok) {
            last = r.error;
            if (i < (p.attempts ?? 3)) await sleep(backoffMs(i, Math.random, p.backoffBaseMs));
          }
        }
        if (ok) report.sent++;
        else {
          report.failed++;
          p.onFailure?.(ep.name, id, last);
        }
      }
    }
    const lastId = entries.at(-1)?.[0] ?? '';
    start = `(${lastId}`;
    if (entries.length < 500) break;
  }
  return report;
}
