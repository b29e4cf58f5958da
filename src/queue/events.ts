/**
 * Reading delivery outcomes: the bounded events stream and the per-message journal.
 *
 * Decides: how events() follows the stream (XREAD BLOCK on its own connection, stopped by an
 * AbortSignal), and when a message's outcome is complete (every recipient has a final journal
 * entry) for waitForOutcome().
 * Never: writes to the stream or the journal (workers do); holds a connection after returning.
 */
import type { Redis } from 'ioredis';
import {
  type DeliveryEvent,
  decodeDeliveryEvent,
  type MessageMeta,
  parseJournalEntry,
  type RecipientJournalEntry,
} from './job-schema.ts';
import type { QueueKeys } from './keys.ts';

export interface EventsOptions {
  /** Stream id to read after; default '$' (only new events). '0' replays the retained stream. */
  fromId?: string;
  /** Longest single XREAD BLOCK, ms (default 5000). */
  blockMs?: number;
  signal?: AbortSignal;
}

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

/** One XREAD BLOCK on `conn`; returns [] on timeout. */
async function readOnce(
  conn: Redis,
  key: string,
  afterId: string,
  blockMs: number,
): Promise<Array<[string, string[]]>> {
  const reply = (await conn.xread('COUNT', 100, 'BLOCK', blockMs, 'STREAMS', key, afterId)) as StreamReply;
  return reply?.[0]?.[1] ?? [];
}

/** Follows the events stream until the signal aborts (or the connection closes). */
export async function* followEvents(
  base: Redis,
  keys: QueueKeys,
  opts: EventsOptions = {},
): AsyncGenerator<DeliveryEvent & { id: string }> {
  const conn = base.duplicate();
  conn.on('error', () => {});
  const stop = () => conn.disconnect();
  const aborted = () => opts.signal?.aborted === true;
  opts.signal?.addEventListener('abort', stop, { once: true });
  let lastId = opts.fromId ?? '$';
  try {
    if (lastId === '$') lastId = await lastStreamId(conn, keys.events);
    while (!aborted()) {
      let entries: Array<[string, string[]]>;
      try {
        entries = await readOnce(conn, keys.events, lastId, opts.blockMs ?? 5000);
      } catch (err) {
        if (aborted()) return;
        throw err;
      }
      for (const [id, fields] of entries) {
        lastId = id;
        yield { id, ...decodeDeliveryEvent(fields) };
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    conn.disconnect();
  }
}

/** Id of the newest stream entry, or '0-0' for an empty stream. */
export async function lastStreamId(conn: Redis, key: string): Promise<string> {
  const last = await conn.xrevrange(key, '+', '-', 'COUNT', 1);
  return last[0]?.[0] ?? '0-0';
}

/** Meta (null once the message is gone) and journal entries of one message, read together. */
export async function readOutcome(
  conn: Redis,
  keys: QueueKeys,
  queueId: string,
): Promise<{ meta: MessageMeta | null; journal: RecipientJournalEntry[] }> {
  const res = await conn.multi().hget(keys.message(queueId), 'meta').hgetall(keys.journal(queueId)).exec();
  const [metaRes, journalRes] = res ?? [];
  if (metaRes?.[0]) throw metaRes[0];
  if (journalRes?.[0]) throw journalRes[0];
  const metaJson = metaRes?.[1];
  const meta = typeof metaJson === 'string' ? (JSON.parse(metaJson) as MessageMeta) : null;
  const hash = (journalRes?.[1] ?? {}) as Record<string, string>;
  const ranked = Object.values(hash).map((v) => {
    const raw: unknown = JSON.parse(v);
    const n = (raw as { n?: unknown }).n;
    return { e: parseJournalEntry(raw), n: typeof n === 'number' ? n : Number.POSITIVE_INFINITY };
  });
  // Envelope order (the `n` the worker records), stable for entries written without it.
  ranked.sort((a, b) => (a.n === b.n ? 0 : a.n < b.n ? -1 : 1));
  return { meta, journal: ranked.map((r) => r.e) };
}

/** Final entries in recipient order when every recipient has one; else undefined. */
function completeOutcome(
  meta: MessageMeta | null,
  journal: RecipientJournalEntry[],
): RecipientJournalEntry[] | undefined {
  if (meta === null) return journal.length > 0 ? journal : undefined;
  const byRcpt = new Map(journal.map((e) => [e.recipient, e]));
  const out: RecipientJournalEntry[] = [];
  for (const r of meta.recipients) {
    const e = byRcpt.get(r.address);
    if (e === undefined) return undefined;
    out.push(e);
  }
  return out;
}

/** waitForOutcome() gave up: `pending` recipients had no final outcome after `timeoutMs`. */
export class OutcomeTimeoutError extends Error {
  readonly queueId: string;
  readonly timeoutMs: number;
  readonly pending: string[];
  constructor(queueId: string, timeoutMs: number, pending: string[]) {
    super(
      `${queueId}: timed out after ${timeoutMs} ms waiting for the delivery outcome of ${pending.length} recipient(s)`,
    );
    this.name = 'OutcomeTimeoutError';
    this.queueId = queueId;
    this.timeoutMs = timeoutMs;
    this.pending = pending;
  }
}

/** waitForOutcome() was asked about a queue id with neither a message nor a journal. */
export class NoSuchMessageError extends Error {
  readonly queueId: string;
  constructor(queueId: string) {
    super(`${queueId}: no such message in the queue`);
    this.name = 'NoSuchMessageError';
    this.queueId = queueId;
  }
}

export interface WaitOptions {
  timeoutMs: number;
  /** Called with each event of this message seen while waiting (e.g. deferrals, to report them). */
  onEvent?: (e: DeliveryEvent & { id: string }) => void;
}

/**
 * Resolves with one final journal entry per recipient; rejects with OutcomeTimeoutError after
 * timeoutMs, or at once with NoSuchMessageError for a queue id with neither a message nor a journal.
 */
export async function waitForOutcome(
  base: Redis,
  keys: QueueKeys,
  queueId: string,
  w: WaitOptions,
): Promise<RecipientJournalEntry[]> {
  const { timeoutMs } = w;
  const deadline = Date.now() + timeoutMs;
  const conn = base.duplicate();
  conn.on('error', () => {});
  try {
    let lastId = await lastStreamId(conn, keys.events);
    for (;;) {
      const { meta, journal } = await readOutcome(conn, keys, queueId);
      const done = completeOutcome(meta, journal);
      if (done !== undefined) return done;
      if (meta === null) throw new NoSuchMessageError(queueId);
      const left = deadline - Date.now();
      if (left <= 0) {
        const final = new Set(journal.map((e) => e.recipient));
        const pending = meta.recipients.map((r) => r.address).filter((a) => !final.has(a));
        throw new OutcomeTimeoutError(queueId, timeoutMs, pending);
      }
      const entries = await readOnce(conn, keys.events, lastId, Math.max(1, Math.min(left, 1000)));
      lastId = entries.at(-1)?.[0] ?? lastId;
      if (w.onEvent !== undefined) {
        for (const [id, fields] of entries) {
          const e = decodeDeliveryEvent(fields);
          if (e.queueId === queueId) w.onEvent({ id, ...e });
        }
      }
    }
  } finally {
    conn.disconnect();
  }
}
