/**
 * The worker's side of the message store: read a message's body and meta, and release the
 * message when one of its jobs reaches a terminal state.
 *
 * Decides: reference counting: each job decrements the message's job counter exactly once (a set
 * of finalized job ids makes the decrement idempotent across re-runs); at 0 the body, meta, counter,
 * pass and reported sets and index entry are deleted and the journal is kept for `journalTtlSec`
 * (waitForOutcome). Which jobs are in the message's current pass (join on every run, leave at its
 * end: the run that leaves it empty owes the message's failure report).
 * All keys share the installation's hash tag, so the Lua script is Redis-Cluster safe.
 * Never: writes the body (the queue client does), decides outcomes.
 */
import type { Redis } from 'ioredis';
import type { MessageMeta } from '../queue/job-schema.ts';
import type { QueueKeys } from '../queue/keys.ts';
import { luaScript, runScript } from '../queue/lua.ts';

/** Default journal retention after the message is gone: 7 days. */
export const JOURNAL_TTL_SEC = 7 * 86_400;

/** Set of finalized job ids of one message (lives as long as the message, then the journal TTL). */
export function finalizedJobsKey(keys: QueueKeys, queueId: string): string {
  return `${keys.message(queueId)}:done`;
}

/** Claim of the message's failure report being enqueued now: "sending:<token>", short TTL. */
export function reportClaimKey(keys: QueueKeys, queueId: string): string {
  return `${keys.message(queueId)}:report`;
}

const JOIN_PASS_SCRIPT = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('SADD', KEYS[2], ARGV[1])
`);

/**
 * Put a job that starts running into its message's current pass (idempotent). False when the
 * message is gone (nothing is written then, so no pass set outlives its message).
 */
export async function joinPass(
  redis: Redis,
  keys: QueueKeys,
  queueId: string,
  jobId: string,
): Promise<boolean> {
  const r = await runScript(
    redis,
    JOIN_PASS_SCRIPT,
    [keys.message(queueId), keys.messagePass(queueId)],
    [jobId],
  );
  return Number(r) >= 0;
}

/** Take a job whose run ends out of the current pass; returns the jobs still in it (0: pass over). */
export async function leavePass(
  redis: Redis,
  keys: QueueKeys,
  queueId: string,
  jobId: string,
): Promise<number> {
  const res = await redis
    .multi()
    .srem(keys.messagePass(queueId), jobId)
    .scard(keys.messagePass(queueId))
    .exec();
  if (res === null) throw new Error('pass update aborted');
  for (const [err] of res) if (err) throw err;
  return Number(res[1]?.[1]);
}

export interface StoredMessage {
  body: Buffer;
  meta: MessageMeta;
}

export function parseMeta(json: string): MessageMeta {
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

/**
 * Lua: the message's last job was counted (n <= 0): delete body, counter, pass and report claim,
 * drop it from the index, keep journal and done set for the outcome's TTL. KEYS and ARGV as
 * RELEASE_SCRIPT's; also used by run-store.ts's finish script.
 */
export const CLOSE_MESSAGE_LUA = `
  redis.call('DEL', KEYS[3], KEYS[2], KEYS[6], KEYS[7])
  redis.call('ZREM', KEYS[4], ARGV[2])
  redis.call('EXPIRE', KEYS[5], tonumber(ARGV[3]))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 0`;

/** KEYS: done set, job counter, message, index, journal, pass, reported; ARGV: jobId, queueId, ttl. */
export const RELEASE_SCRIPT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return -1 end
local n = redis.call('DECR', KEYS[2])
if n <= 0 then${CLOSE_MESSAGE_LUA}
end
return n
`;
const RELEASE = luaScript(RELEASE_SCRIPT);

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
  const [k, a] = releaseArgs(keys, p.queueId, p.jobId, ttl);
  return Number(await runScript(redis, RELEASE, k, a));
}

/** The 7 keys and 3 arguments of RELEASE_SCRIPT. */
export function releaseArgs(
  keys: QueueKeys,
  queueId: string,
  jobId: string,
  ttlSec: number,
): [string[], string[]] {
  return [
    [
      finalizedJobsKey(keys, queueId),
      keys.messageJobs(queueId),
      keys.message(queueId),
      keys.messageIndex,
      keys.journal(queueId),
      keys.messagePass(queueId),
      keys.messageReported(queueId),
    ],
    [jobId, queueId, String(ttlSec)],
  ];
}
