/**
 * Operator operations on the queue, after Postfix's mailq, postqueue -f and postsuper -d.
 *
 * Decides: what a queue listing shows per message and recipient (journal outcome, else the job
 * state with the last deferral reason), how flush promotes delayed jobs, and which jobs delete
 * may remove (never an active one: its message stays until the worker finishes it).
 * Never: touches a job a worker holds the lock of; reads bodies.
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { readOutcome } from './events.ts';
import { forgetHeld, readHeld } from './hold.ts';
import type { DeliveryJobData, MessageMeta, RecipientJournalEntry } from './job-schema.ts';
import type { QueueKeys } from './keys.ts';

export type RecipientQueueStatus =
  | 'queued'
  | 'active'
  | 'deferred'
  | 'failed'
  | 'held'
  | 'sent'
  | 'bounced'
  | 'expired';

export interface QueueEntry {
  queueId: string;
  size: number;
  arrivalTime: number;
  sender: string;
  /** Some job of this message is being delivered now (mailq's "*"). */
  active: boolean;
  /** Some job of this message is on hold (mailq's "!"); `mxq release` puts it back. */
  held?: boolean;
  recipients: Array<{ address: string; status: RecipientQueueStatus; jobId?: string; reason?: string }>;
}

/** Index entries list() reads per page (there is no overall cap, as in mailq). */
export const LIST_PAGE = 1000;
const FLUSH_PAGE = 1000;

type AnyJob = Job<DeliveryJobData>;

function jobStatus(state: string): RecipientQueueStatus {
  if (state === 'active') return 'active';
  if (state === 'delayed') return 'deferred';
  if (state === 'failed') return 'failed';
  return 'queued';
}

async function entryFor(
  redis: Redis,
  keys: QueueKeys,
  queue: Queue<DeliveryJobData>,
  meta: MessageMeta,
  journal: RecipientJournalEntry[],
): Promise<QueueEntry> {
  const final = new Map(journal.map((e) => [e.recipient, e]));
  const perRcpt = new Map<string, { status: RecipientQueueStatus; jobId: string; reason?: string }>();
  let active = false;
  const held = await readHeld(redis, keys, meta.jobIds);
  for (const [jobId, h] of held) {
    for (const r of h.data.recipients) perRcpt.set(r.address, { status: 'held', jobId, reason: h.reason });
  }
  for (const jobId of meta.jobIds) {
    if (held.has(jobId)) continue;
    const job = (await queue.getJob(jobId)) as AnyJob | undefined;
    if (job === undefined) continue;
    const status = jobStatus(await job.getState());
    active ||= status === 'active';
    for (const r of job.data.recipients) {
      const reason = job.data.lastDeferral?.[r.address]?.diagnostic;
      perRcpt.set(r.address, reason === undefined ? { status, jobId } : { status, jobId, reason });
    }
  }
  const recipients = meta.recipients.map(({ address }) => {
    const done = final.get(address);
    if (done !== undefined)
      return { address, status: done.status, jobId: done.jobId, reason: done.diagnostic };
    return { address, ...(perRcpt.get(address) ?? { status: 'queued' as const }) };
  });
  return {
    queueId: meta.queueId,
    size: meta.size,
    arrivalTime: meta.arrivalTime,
    sender: meta.sender,
    active,
    ...(held.size > 0 ? { held: true } : {}),
    recipients,
  };
}

/** The listing entry of one message (mxq show). */
export function listOne(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  meta: MessageMeta,
  journal: RecipientJournalEntry[],
): Promise<QueueEntry> {
  return entryFor(redis, keys, queue, meta, journal);
}

/**
 * Every queued message in arrival order, read from the index in pages (no cap); `filter` keeps
 * only the entries it accepts (mxq queue --state/--destination/--sender/--older-than).
 */
export async function listQueue(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  filter?: (e: QueueEntry) => boolean,
): Promise<QueueEntry[]> {
  const out: QueueEntry[] = [];
  for (let start = 0; ; start += LIST_PAGE) {
    const ids = await redis.zrange(keys.messageIndex, start, start + LIST_PAGE - 1);
    for (const id of ids) {
      const { meta, journal } = await readOutcome(redis, keys, id);
      if (meta === null) continue;
      const entry = await entryFor(redis, keys, queue, meta, journal);
      if (filter === undefined || filter(entry)) out.push(entry);
    }
    if (ids.length < LIST_PAGE) return out;
  }
}

/** Promotes every delayed job to waiting; returns how many were promoted. */
export async function flushQueue(queue: Queue<DeliveryJobData>): Promise<number> {
  const pages = Math.ceil((await queue.getDelayedCount()) / FLUSH_PAGE) + 1;
  let promoted = 0;
  for (let page = 0; page < pages; page++) {
    const jobs = (await queue.getDelayed(0, FLUSH_PAGE - 1)) as AnyJob[];
    if (jobs.length === 0) break;
    for (const job of jobs) {
      try {
        await job.promote();
        promoted++;
      } catch {
        // No longer delayed (a worker or another flush got there first).
      }
    }
  }
  return promoted;
}

export interface RemoveReport {
  /** Messages deleted completely (jobs, body, journal, index entry). */
  deleted: number;
  /** Queue ids with a job being delivered right now: their other jobs were removed. */
  busy: string[];
}

async function removeOne(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  queueId: string,
): Promise<'deleted' | 'busy' | 'absent'> {
  const metaJson = await redis.hget(keys.message(queueId), 'meta');
  if (metaJson === null) {
    const gone = await redis.zrem(keys.messageIndex, queueId);
    return gone > 0 ? 'deleted' : 'absent';
  }
  const meta = JSON.parse(metaJson) as MessageMeta;
  // The workers' keys (src/workers/message-store.ts): `${message}:done`, the set of jobs already
  // counted as terminal, `${message}:report`, the claim of the message's report being sent, and
  // `${message}:bounce:${jobId}`, the per-job report marker of earlier versions.
  const doneKey = `${keys.message(queueId)}:done`;
  let kept = 0;
  let removed = 0;
  const gone: string[] = [];
  for (const jobId of meta.jobIds) {
    const state = await queue.getJobState(jobId);
    if (state === 'unknown' || state === 'completed' || state === 'failed') continue;
    if (state !== 'active' && (await queue.remove(jobId)) === 1) {
      gone.push(jobId);
      // A job re-run after a crash may have been counted already: never count it twice.
      if ((await redis.sismember(doneKey, jobId)) === 0) removed++;
    } else kept++;
  }
  // A removed job never runs again: it must not hold the message's pass open.
  if (gone.length > 0) await redis.srem(keys.messagePass(queueId), ...gone);
  if (kept === 0) {
    await forgetHeld(redis, keys, meta.jobIds);
    await redis
      .multi()
      .del(
        keys.message(queueId),
        doneKey,
        keys.messageJobs(queueId),
        keys.journal(queueId),
        keys.messagePass(queueId),
        keys.messageReported(queueId),
        `${keys.message(queueId)}:report`,
        ...meta.jobIds.map((jobId) => `${keys.message(queueId)}:bounce:${jobId}`),
      )
      .zrem(keys.messageIndex, queueId)
      .exec();
    return 'deleted';
  }
  if (removed > 0) await redis.decrby(keys.messageJobs(queueId), removed);
  return 'busy';
}

/** Deletes one message, or every indexed message for 'ALL'. */
export async function removeMessages(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  target: string,
): Promise<RemoveReport> {
  const ids = target === 'ALL' ? await redis.zrange(keys.messageIndex, 0, -1) : [target];
  const report: RemoveReport = { deleted: 0, busy: [] };
  for (const id of ids) {
    const r = await removeOne(redis, queue, keys, id);
    if (r === 'deleted') report.deleted++;
    else if (r === 'busy') report.busy.push(id);
  }
  return report;
}
