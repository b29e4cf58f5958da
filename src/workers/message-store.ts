/**
 * The worker's side of the message store: read a message's body and meta, and release the
 * message when one of its jobs reaches a terminal state.
 *
 * Decides: reference counting: each job decrements the message's job counter exactly once (a set
 * of finalized job ids makes the decrement idempotent across re-runs); at 0 the body, meta, counter
 * and index entry are deleted and the journal is kept for `journalTtlSec` (waitForOutcome).
 * All keys share the installation's hash tag, so the Lua script is Redis-Cluster safe.
 * Never: writes the body (the queue client does), decides outcomes.
 */
import type { Redis } from 'ioredis';
import type { MessageMeta } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';

/** Default journal retention after the message is gone: 7 days. */
export const JOURNAL_TTL_SEC = 7 * 86_400;

/** Set of finalized job ids of one message (lives as long as the message, then the journal TTL). */
export function finalizedJobsKey(keys: QueueKeys, queueId: string): string {
  return `${keys.message(queueId)}:done`;
}

/** Marker of the bounce (or notice) sent for one job: value "sending:<token>" or "sent:<qid>". */
export function bounceMarkerKey(keys: QueueKeys, queueId: string, jobId: string): string {
  return `${keys.message(queueId)}:bounce:${jobId}`;
}

export interface StoredMessage {
  body: Buffer;
  meta: MessageMeta;
}

function parseMeta(json: string): MessageMeta {
  const m: unknown = JSON.parse(json);
  if (
    typeof m !== 'object' ||
    m === null ||
    !('queueId' in m) ||
    !('recipients' in m) ||
    !Array.isArray(m.recipients)
  ) {
    throw new TypeError('malformed message meta');
  }
  return m as MessageMeta;
}

/** Body and meta of a queued message; undefined when it is gone (deleted or already released). */
export async function loadMessage(
  redis: Redis,
  keys: QueueKeys,
  queueId: string,
): Promise<StoredMessage | undefined> {
  const [body, meta] = await redis.hmgetBuffer(keys.message(queueId), 'body', 'meta');
  if (!body || !meta) return undefined;
  return { body, meta: parseMeta(meta.toString('utf8')) };
}

const RELEASE_SCRIPT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return -1 end
local n = redis.call('DECR', KEYS[2])
if n <= 0 then
  redis.call('DEL', KEYS[3], KEYS[2])
  redis.call('ZREM', KEYS[4], ARGV[2])
  redis.call('EXPIRE', KEYS[5], tonumber(ARGV[3]))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 0
end
return n
`;

/**
 * Count one job of the message as terminal. Returns the jobs left (0: the message was removed),
 * or -1 when this job had already been counted.
 */
export async function releaseJob(
  redis: Redis,
  keys: QueueKeys,
  p: { queueId: string; jobId: string; journalTtlSec?: number },
): Promise<number> {
  const ttl = p.journalTtlSec ?? JOURNAL_TTL_SEC;
  const n = await redis.eval(
    RELEASE_SCRIPT,
    5,
    finalizedJobsKey(keys, p.queueId),
    keys.messageJobs(p.queueId),
    keys.message(p.queueId),
    keys.messageIndex,
    keys.journal(p.queueId),
    p.jobId,
    p.queueId,
    String(ttl),
  );
  return Number(n);
}
