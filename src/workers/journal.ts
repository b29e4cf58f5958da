/**
 * The per-message recipient journal and the events stream, as the worker writes them.
 *
 * Decides: how final outcomes are recorded: a MULTI with an HSETNX per final recipient (the first
 * final outcome wins; a re-run never overwrites it) and an XADD MAXLEN ~ per event (fields:
 * encodeDeliveryEvent from the queue schema); recipients settled during an attempt are written as
 * they settle, those settled together (one synchronous loop) in one MULTI.
 * Never: decides outcomes (outcome-plan.ts), deletes the journal (message-store.ts gives it a TTL).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/ports.ts';
import type { DeliveryEvent } from '../queue/job-schema.ts';
import { encodeDeliveryEvent, parseJournalEntry } from '../queue/job-schema.ts';
import { EVENTS_MAXLEN, type QueueKeys } from '../queue/keys.ts';
import type { WorkerJournalEntry } from './outcome-plan.ts';

/** Every final outcome recorded for a message, by recipient address. Bad entries are skipped. */
export async function readJournal(
  redis: Redis,
  keys: QueueKeys,
  queueId: string,
): Promise<Map<string, WorkerJournalEntry>> {
  return parseJournal(Object.entries(await redis.hgetall(keys.journal(queueId))));
}

/** Journal entries (address, JSON) as read from Redis, by address. Bad entries are kept as final. */
export function parseJournal(raw: Iterable<[string, string]>): Map<string, WorkerJournalEntry> {
  const out = new Map<string, WorkerJournalEntry>();
  for (const [address, json] of raw) {
    try {
      const parsed: unknown = JSON.parse(json);
      const entry: WorkerJournalEntry = parseJournalEntry(parsed);
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        'reply' in parsed &&
        typeof parsed.reply === 'string'
      ) {
        entry.reply = parsed.reply;
      }
      // --- tls (issue 14): the SUCCESS notice a sent recipient owes ---
      const action = (parsed as { successAction?: unknown }).successAction;
      if (action === 'relayed' || action === 'delivered') entry.successAction = action;
      out.set(address, entry);
    } catch {
      // A damaged entry still marks the recipient final: never deliver twice.
      out.set(address, {
        recipient: address,
        status: 'sent',
        dsn: '',
        relay: '',
        diagnostic: 'unreadable journal entry',
        at: 0,
        jobId: '',
      });
    }
  }
  return out;
}

/** Record final outcomes (HSETNX) and append events, atomically. Returns how many entries were new. */
export async function commitOutcome(
  redis: Redis,
  keys: QueueKeys,
  queueId: string,
  journal: WorkerJournalEntry[],
  events: DeliveryEvent[],
  positions?: ReadonlyMap<string, number>,
): Promise<number> {
  if (journal.length === 0 && events.length === 0) return 0;
  const multi = redis.multi();
  for (const e of journal) {
    // `n`: the recipient's place in the envelope, so readers can keep envelope order once the
    // message (and its meta) has left the queue (queue/events.ts readOutcome).
    const n = positions?.get(e.recipient);
    const json = JSON.stringify(n === undefined ? e : { ...e, n });
    multi.hsetnx(keys.journal(queueId), e.recipient, json);
  }
  for (const ev of events)
    multi.xadd(keys.events, 'MAXLEN', '~', EVENTS_MAXLEN, '*', ...encodeDeliveryEvent(ev));
  const replies = (await multi.exec()) ?? [];
  let fresh = 0;
  for (let i = 0; i < journal.length; i++) {
    const [err, value] = replies[i] ?? [null, 0];
    if (err) throw err;
    if (value === 1) fresh++;
  }
  for (const [err] of replies.slice(journal.length)) if (err) throw err;
  return fresh;
}

/** A record of one settled recipient (outcome-plan.ts settledRecord). */
export interface SettledRecord {
  entry: WorkerJournalEntry;
  event: DeliveryEvent;
}

/**
 * Writes settled recipients as they come during an attempt. `record` batches everything settled
 * in one tick into one MULTI; `finish` waits for the writes and returns the recipients recorded
 * (a failed write is only logged: the end-of-attempt commit writes what is missing).
 */
export function createSettleRecorder(p: {
  redis: Redis;
  keys: QueueKeys;
  queueId: string;
  log: Logger;
  positions?: ReadonlyMap<string, number>;
}): {
  record(rec: SettledRecord): void;
  finish(): Promise<ReadonlySet<string>>;
} {
  const writes: Promise<void>[] = [];
  const recorded = new Set<string>();
  let batch: SettledRecord[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    const entries = records.map((r) => r.entry);
    const events = records.map((r) => r.event);
    writes.push(
      commitOutcome(p.redis, p.keys, p.queueId, entries, events, p.positions).then(
        () => {
          for (const e of entries) recorded.add(e.recipient);
        },
        (err: unknown) => {
          p.log.warn(
            { event: 'journal-write-deferred', err: String(err) },
            'journal write retried at the end',
          );
        },
      ),
    );
  };
  return {
    record(rec) {
      batch.push(rec);
      if (batch.length === 1) queueMicrotask(flush);
    },
    async finish() {
      flush();
      await Promise.all(writes);
      return recorded;
    },
  };
}

/** Each recipient's place in the message's envelope (meta order), for commitOutcome's `n`. */
export function envelopePositions(recipients: readonly { address: string }[]): Map<string, number> {
  return new Map(recipients.map((r, i) => [r.address, i]));
}
