/**
 * `mxq show <queue-id>` (Postfix's postcat -q): one message's envelope, headers and the history
 * of each recipient.
 *
 * Decides: what a report holds (for a message that already left the queue: the journal's
 * outcomes and its events only): the envelope (sender, recipients with DSN parameters, arrival,
 * size, flags), the header section as stored (up to the first empty line, at most 64 KiB), each
 * recipient's current state (as mxq queue shows it, held jobs with their reason), final outcome
 * (journal) and every event of the message still in the bounded events stream, in order.
 * Never: prints the body (headers only, like postcat -h), changes anything.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { readOutcome } from './events.ts';
import { readHeld } from './hold.ts';
import {
  type DeliveryEvent,
  type DeliveryJobData,
  decodeDeliveryEvent,
  type MessageMeta,
  type RecipientJournalEntry,
} from './job-schema.ts';
import type { QueueKeys } from './keys.ts';
import { listOne, type QueueEntry } from './operations.ts';

const HEADER_LIMIT = 64 * 1024;
const EVENT_PAGE = 1000;

export interface ShowReport {
  queueId: string;
  /** Absent once the message left the queue (delivered or bounced): then only the journal and events remain. */
  meta?: MessageMeta;
  headers: string;
  state?: QueueEntry;
  held: Array<{ jobId: string; reason: string; heldAt: number; errors?: number }>;
  journal: RecipientJournalEntry[];
  events: Array<DeliveryEvent & { id: string }>;
}

function headerSection(body: Buffer): string {
  const head = body.subarray(0, HEADER_LIMIT).toString('utf8');
  const m = /\r?\n\r?\n/.exec(head);
  return m === null ? head : head.slice(0, m.index);
}

/** The events of one message in the retained stream, oldest first (reads the stream in pages). */
async function eventsOf(redis: Redis, keys: QueueKeys, queueId: string, since: number) {
  const out: Array<DeliveryEvent & { id: string }> = [];
  let start = `${Math.max(0, since - 1000)}-0`;
  for (;;) {
    const page = (await redis.xrange(keys.events, start, '+', 'COUNT', EVENT_PAGE)) as Array<
      [string, string[]]
    >;
    for (const [id, fields] of page) {
      try {
        const e = decodeDeliveryEvent(fields);
        if (e.queueId === queueId) out.push({ id, ...e });
      } catch {
        // a damaged stream entry is skipped
      }
    }
    const last = page.at(-1)?.[0];
    if (page.length < EVENT_PAGE || last === undefined) return out;
    const [ms, seq] = last.split('-');
    start = `${ms}-${Number(seq) + 1}`;
  }
}

/** The report for one message, or undefined when there is no such message. */
export async function showMessage(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  queueId: string,
): Promise<ShowReport | undefined> {
  const { meta, journal } = await readOutcome(redis, keys, queueId);
  if (meta === null) {
    // Gone from the queue: the journal (kept for a while) still tells each recipient's outcome.
    if (journal.length === 0) return undefined;
    const since = Math.min(...journal.map((e) => e.at)) - 86_400_000;
    return { queueId, headers: '', held: [], journal, events: await eventsOf(redis, keys, queueId, since) };
  }
  const body = (await redis.hgetBuffer(keys.message(queueId), 'body')) ?? Buffer.alloc(0);
  const held = await readHeld(redis, keys, meta.jobIds);
  return {
    queueId,
    meta,
    headers: headerSection(body),
    state: await listOne(redis, queue, keys, meta, journal),
    held: [...held].map(([jobId, h]) => ({
      jobId,
      reason: h.reason,
      heldAt: h.heldAt,
      ...(h.errors !== undefined ? { errors: h.errors } : {}),
    })),
    journal,
    events: await eventsOf(redis, keys, queueId, meta.arrivalTime),
  };
}
