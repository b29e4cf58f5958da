/**
 * The per-message recipient journal and the events stream, as the worker writes them.
 *
 * Decides: how final outcomes are recorded: one script with an HSETNX per final recipient (the
 * first final outcome wins; a re-run never overwrites it) and an XADD MAXLEN ~ per event (fields:
 * encodeDeliveryEvent from the queue schema); recipients settled during an attempt are written as
 * they settle, those settled together (one synchronous loop) in one call.
 * Never: decides outcomes (outcome-plan.ts), deletes the journal (message-store.ts gives it a TTL).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/ports.ts';
import type { DeliveryEvent } from '../queue/job-schema.ts';
import { encodeDeliveryEvent, parseJournalEntry } from '../queue/job-schema.ts';
import { EVENTS_MAXLEN, type QueueKeys } from '../queue/keys.ts';
import { luaScript, runScript } from '../queue/lua.ts';
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

// KEYS: journal, events; ARGV: entries, events, maxlen, then (recipient, json) per entry, then per
// event its field count and fields. Returns each entry's HSETNX answer (1: new).
const COMMIT_SCRIPT = luaScript(`
local n = tonumber(ARGV[1])
local out = {}
local i = 4
for k = 1, n do
  out[k] = redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for _ = 1, tonumber(ARGV[2]) do
  local m = tonumber(ARGV[i])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, i + 1, i + m))
  i = i + m + 1
end
return out
`);

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
  // One script (HSETNX per entry, XADD per event) instead of MULTI/EXEC: two commands fewer.
  const args: Array<string | number> = [journal.length, events.length, EVENTS_MAXLEN];
  for (const e of journal) {
    // `n`: the recipient's place in the envelope, so readers can keep envelope order once the
    // message (and its meta) has left the queue (queue/events.ts readOutcome).
    const n = positions?.get(e.recipient);
    args.push(e.recipient, JSON.stringify(n === undefined ? e : { ...e, n }));
  }
  for (const ev of events) {
    const fields = encodeDeliveryEvent(ev);
    args.push(fields.length, ...fields);
  }
  const replies = await runScript(redis, COMMIT_SCRIPT, [keys.journal(queueId), keys.events], args);
  let fresh = 0;
  for (const value of Array.isArray(replies) ? replies : []) if (value === 1) fresh++;
  return fresh;
}

/** A record of one settled recipient (outcome-plan.ts settledRecord). */
export interface SettledRecord {
  entry: WorkerJournalEntry;
  event: DeliveryEvent;
}

/**
 * Writes settled recipients as they come during an attempt. `record` batches everything settled
 * in one tick into one call; `finish` sends what is batched at once, waits for the writes and
 * returns the recipients recorded (a failed write is only logged: the end-of-attempt commit writes
 * what is missing); `given` is every recipient passed to `record` (its write sent or batched).
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
  readonly given: ReadonlySet<string>;
} {
  const writes: Promise<void>[] = [];
  const recorded = new Set<string>();
  const given = new Set<string>();
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
    given,
    record(rec) {
      given.add(rec.entry.recipient);
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
