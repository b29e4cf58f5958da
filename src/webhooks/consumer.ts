/**
 * The webhook loop of one endpoint: follows the events stream through a Redis consumer group
 * (`webhooks:<endpoint>`), POSTs each event (signed), and XACKs it only after a 2xx: at-least-once.
 *
 * Decides: the order (this consumer's pending entries first, entries other consumers left idle for
 * claimIdleMs are claimed (XAUTOCLAIM), then new ones), that a failing endpoint is retried with
 * backoff forever without skipping (its events wait, in order; other endpoints and mail delivery
 * are untouched: this runs in its own process, `mxq webhooks`), that events of kinds the endpoint
 * did not ask for are acknowledged without a POST, and that entries trimmed from the stream before
 * they were sent are acknowledged and logged as lost (the stream keeps ~100 000 events).
 * Never: writes the stream (workers do), blocks anything but itself; stops mid-retry only on abort
 * (the entry stays pending and is sent after a restart).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/ports.ts';
import { decodeDeliveryEvent } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';
import type { WebhookEndpoint } from './config.ts';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffMs, postEvent } from './post.ts';

export interface ConsumerOptions {
  /** A connection of its own (blocking reads); disconnected when the loop ends. */
  redis: Redis;
  keys: QueueKeys;
  endpoint: WebhookEndpoint;
  /** The consumer name: stable across restarts (default: the host name), so pending entries resume. */
  consumer: string;
  signal: AbortSignal;
  logger: Logger;
  /** Where a new group starts: '$' (events from now on, default) or '0' (the retained stream). */
  startFrom?: '$' | '0';
  blockMs?: number;
  claimIdleMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
}

type Entry = [string, string[] | null];

export const groupName = (endpoint: string) => `webhooks:${endpoint}`;

/** Creates the endpoint's consumer group if it does not exist (its cursor starts at `startFrom`). */
export async function ensureWebhookGroup(
  redis: Redis,
  keys: QueueKeys,
  endpoint: string,
  startFrom: '$' | '0' = '$',
): Promise<void> {
  try {
    await redis.xgroup('CREATE', keys.events, groupName(endpoint), startFrom, 'MKSTREAM');
  } catch (err) {
    if (!String(err).includes('BUSYGROUP')) throw err;
  }
}

function backoff(o: ConsumerOptions, failures: number): number {
  return backoffMs(
    failures,
    o.random ?? Math.random,
    o.backoffBaseMs ?? BACKOFF_BASE_MS,
    o.backoffMaxMs ?? BACKOFF_MAX_MS,
  );
}

/** POSTs one entry until a 2xx (true) or the loop is stopped (false: the entry stays pending). */
async function sendUntilAccepted(o: ConsumerOptions, id: string, fields: string[]): Promise<boolean> {
  let event: ReturnType<typeof decodeDeliveryEvent>;
  try {
    event = decodeDeliveryEvent(fields);
  } catch (err) {
    o.logger.warn(
      { event: 'webhook-skip-malformed', id, err: String(err) },
      'malformed stream entry skipped',
    );
    return true;
  }
  if (!o.endpoint.events.has(event.event)) return true;
  for (let failures = 1; !o.signal.aborted; failures++) {
    const r = await postEvent(o.endpoint, id, event);
    if (r.ok) return true;
    const delay = backoff(o, failures);
    o.logger.warn(
      { event: 'webhook-retry', endpoint: o.endpoint.name, id, failures, error: r.error, retryInMs: delay },
      `webhook ${o.endpoint.name}: ${r.error}; retrying`,
    );
    try {
      await sleep(delay, undefined, { signal: o.signal });
    } catch {
      return false;
    }
  }
  return false;
}

async function handle(o: ConsumerOptions, group: string, entries: Entry[]): Promise<boolean> {
  for (const [id, fields] of entries) {
    if (fields === null) {
      o.logger.error(
        { event: 'webhook-lost', endpoint: o.endpoint.name, id },
        'event trimmed from the stream before it was sent',
      );
      await o.redis.xack(o.keys.events, group, id);
      continue;
    }
    if (!(await sendUntilAccepted(o, id, fields))) return false;
    await o.redis.xack(o.keys.events, group, id);
  }
  return true;
}

type ReadReply = Array<[string, Entry[]]> | null;

/** Runs until the signal aborts. */
export async function runWebhookConsumer(o: ConsumerOptions): Promise<void> {
  const group = groupName(o.endpoint.name);
  const stop = () => o.redis.disconnect();
  o.signal.addEventListener('abort', stop, { once: true });
  try {
    await ensureWebhookGroup(o.redis, o.keys, o.endpoint.name, o.startFrom);
    while (!o.signal.aborted) {
      const claimed = (await o.redis.xautoclaim(
        o.keys.events,
        group,
        o.consumer,
        o.claimIdleMs ?? 60_000,
        '0-0',
        'COUNT',
        100,
      )) as [string, Entry[], string[]?];
      for (const id of claimed[2] ?? []) {
        o.logger.error(
          { event: 'webhook-lost', endpoint: o.endpoint.name, id },
          'event trimmed from the stream before it was sent',
        );
        await o.redis.xack(o.keys.events, group, id);
      }
      const pending = (await o.redis.xreadgroup(
        'GROUP',
        group,
        o.consumer,
        'COUNT',
        100,
        'STREAMS',
        o.keys.events,
        '0',
      )) as ReadReply;
      const mine = pending?.[0]?.[1] ?? [];
      if (mine.length > 0) {
        if (!(await handle(o, group, mine))) return;
        continue;
      }
      const fresh = (await o.redis.xreadgroup(
        'GROUP',
        group,
        o.consumer,
        'COUNT',
        100,
        'BLOCK',
        o.blockMs ?? 5000,
        'STREAMS',
        o.keys.events,
        '>',
      )) as ReadReply;
      if (!(await handle(o, group, fresh?.[0]?.[1] ?? []))) return;
    }
  } catch (err) {
    if (!o.signal.aborted) throw err;
  } finally {
    o.signal.removeEventListener('abort', stop);
    o.redis.disconnect();
  }
}
