/**
 * One message's history as `mxq show` would print it: envelope and meta, recipients with their
 * final outcome (journal), the delivery events from the stream, and the BullMQ jobs' states.
 *
 * Decides: how far back the events stream is searched (the newest EVENT_SCAN entries).
 * Never: writes to Redis.
 */
import type { Redis } from 'ioredis';
import { readOutcome } from '../queue/events.ts';
import { type DeliveryEvent, decodeDeliveryEvent } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';
import { type Cell, esc, type Raw, raw, section, status, table, time } from './html.ts';
import type { PageContext } from './page-types.ts';

const EVENT_SCAN = 10_000;

/** The newest `limit` events (newest first), skipping malformed entries. */
export async function recentEvents(redis: Redis, keys: QueueKeys, limit: number): Promise<DeliveryEvent[]> {
  const entries = await redis.xrevrange(keys.events, '+', '-', 'COUNT', limit);
  const out: DeliveryEvent[] = [];
  for (const [, fields] of entries) {
    try {
      out.push(decodeDeliveryEvent(fields));
    } catch {
      // not an event this version understands
    }
  }
  return out;
}

export async function messageHistory(ctx: PageContext, queueId: string): Promise<Raw> {
  const { redis, keys } = ctx;
  const { meta, journal } = await readOutcome(redis, keys, queueId);
  const events = (await recentEvents(redis, keys, EVENT_SCAN)).filter((e) => e.queueId === queueId).reverse();
  if (meta === null && journal.length === 0 && events.length === 0) {
    return raw(`<p class="empty">${esc(queueId)}: no such message (nor journal, nor events)</p>`);
  }
  const parts: Raw[] = [];
  if (meta !== null) {
    const dsn = meta.dsn === undefined ? '' : `RET=${meta.dsn.ret ?? ''} ENVID=${meta.dsn.envid ?? ''}`;
    parts.push(
      section(
        'Envelope (in the queue)',
        table(
          ['field', 'value'],
          [
            ['sender', meta.sender === '' ? '<> (null sender)' : meta.sender],
            ['arrival', time(meta.arrivalTime)],
            ['size', meta.size],
            [
              'flags',
              [
                meta.eightBit && '8BITMIME',
                meta.smtputf8 && 'SMTPUTF8',
                meta.requireTls && 'REQUIRETLS',
                meta.isBounce && 'bounce',
              ]
                .filter(Boolean)
                .join(' '),
            ],
            ['dsn', dsn],
          ],
        ),
      ),
    );
  } else
    parts.push(raw('<p class="note">The message has left the queue; its journal and events remain.</p>'));
  const byRcpt = new Map(journal.map((e) => [e.recipient, e]));
  const rcpts = meta?.recipients.map((r) => r.address) ?? [...byRcpt.keys()];
  const rows: Cell[][] = rcpts.map((address) => {
    const e = byRcpt.get(address);
    const r = meta?.recipients.find((x) => x.address === address);
    return [
      address,
      e === undefined ? status('queued') : status(e.status),
      e?.dsn,
      e?.relay,
      e?.diagnostic,
      time(e?.at),
      [r?.notify?.join(','), r?.orcpt].filter(Boolean).join(' '),
    ];
  });
  parts.push(
    section(
      'Recipients',
      table(['recipient', 'status', 'dsn', 'relay', 'diagnostic', 'at', 'notify / orcpt'], rows),
    ),
  );
  const jobRows: Cell[][] = [];
  for (const id of meta?.jobIds ?? []) {
    const job = await ctx.queue.getJob(id);
    jobRows.push([
      id,
      job === undefined ? 'gone' : await job.getState(),
      job?.data?.nexthop,
      job?.data?.attempts,
    ]);
  }
  if (meta !== null) parts.push(section('Jobs', table(['job', 'state', 'next-hop', 'attempts'], jobRows)));
  const evRows: Cell[][] = events.map((e) => [
    time(e.at),
    e.recipient,
    status(e.event),
    e.dsn,
    e.relay,
    e.diagnostic,
  ]);
  parts.push(
    section(
      'Events',
      table(['time', 'recipient', 'event', 'dsn', 'relay', 'diagnostic'], evRows, 'no events yet'),
    ),
  );
  return raw(parts.map((p) => p.html).join('\n'));
}
