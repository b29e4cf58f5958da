/**
 * The hold queue, after Postfix's postsuper -h / -H: jobs taken out of delivery until an operator
 * releases them, either by hand (`mxq hold`) or because the job kept throwing (a bug or corrupt
 * data, not a delivery failure: the processor holds it after MAX_JOB_ERRORS errors).
 *
 * Decides: where held jobs live (hash `${prefix}:held`: job id → JSON { data, heldAt, reason,
 * errors }; the error counter hash `${prefix}:joberrors`), that holding a message moves each of
 * its waiting/delayed jobs there and out of BullMQ (an active job is left to finish: busy), that
 * the message itself (body, meta, pass, job count) is untouched so nothing is lost, and that
 * release puts each held job back into BullMQ under its own id, due now.
 * Never: bounces or delivers; holds a job a worker is running.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobOptions } from './enqueue.ts';
import type { DeliveryJobData, MessageMeta } from './job-schema.ts';
import type { QueueKeys } from './keys.ts';

/** Errors (throws, not delivery failures) after which the processor holds a job. */
export const MAX_JOB_ERRORS = 5;
/** failedReason prefix of a job the processor held (stall recovery never puts it back). */
export const HELD_JOB_PREFIX = 'held after repeated errors';

export interface HeldJob {
  data: DeliveryJobData;
  heldAt: number;
  /** "held by operator", or the last error of a job that kept throwing. */
  reason: string;
  errors?: number;
}

export const heldKey = (keys: QueueKeys): string => `${keys.bullPrefix}:held`;
export const jobErrorsKey = (keys: QueueKeys): string => `${keys.bullPrefix}:joberrors`;

async function readMeta(redis: Redis, keys: QueueKeys, queueId: string): Promise<MessageMeta | undefined> {
  const json = await redis.hget(keys.message(queueId), 'meta');
  return json === null ? undefined : (JSON.parse(json) as MessageMeta);
}

/** Held jobs by job id, for the given ids (missing ones left out). */
export async function readHeld(
  redis: Redis,
  keys: QueueKeys,
  jobIds: string[],
): Promise<Map<string, HeldJob>> {
  const out = new Map<string, HeldJob>();
  if (jobIds.length === 0) return out;
  const values = await redis.hmget(heldKey(keys), ...jobIds);
  values.forEach((v, i) => {
    const id = jobIds[i];
    if (v !== null && id !== undefined) out.set(id, JSON.parse(v) as HeldJob);
  });
  return out;
}

export type HoldResult = 'held' | 'busy' | 'absent' | 'nothing';

/** Hold every waiting/delayed job of one message. */
export async function holdMessage(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  queueId: string,
  now: number,
): Promise<HoldResult> {
  const meta = await readMeta(redis, keys, queueId);
  if (meta === undefined) return 'absent';
  let held = 0;
  let busy = 0;
  for (const jobId of meta.jobIds) {
    const job = await queue.getJob(jobId);
    if (job === undefined) continue;
    const state = await job.getState();
    if (state === 'active') {
      busy++;
      continue;
    }
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized' && state !== 'waiting-children')
      continue;
    const entry: HeldJob = { data: job.data, heldAt: now, reason: 'held by operator' };
    await redis.hset(heldKey(keys), jobId, JSON.stringify(entry));
    if ((await queue.remove(jobId)) === 1) held++;
    else await redis.hdel(heldKey(keys), jobId); // it started meanwhile
  }
  if (held > 0) return 'held';
  return busy > 0 ? 'busy' : 'nothing';
}

/** Put every held job of one message back into delivery, due now. Returns how many. */
export async function releaseMessage(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  queueId: string,
): Promise<number | 'absent'> {
  const meta = await readMeta(redis, keys, queueId);
  if (meta === undefined) return 'absent';
  const held = await readHeld(redis, keys, meta.jobIds);
  let n = 0;
  for (const [jobId, entry] of held) {
    // A job the processor held is still in BullMQ's failed set under its id: make room for it.
    const old = await queue.getJob(jobId);
    if (old !== undefined) {
      const state = await old.getState();
      if (state !== 'failed' && state !== 'completed') continue;
      await old.remove();
    }
    await queue.add(queue.name, entry.data, jobOptions(jobId));
    await redis.multi().hdel(heldKey(keys), jobId).hdel(jobErrorsKey(keys), jobId).exec();
    n++;
  }
  return n;
}

/** Count one unexpected error of a job; returns the count so far. */
export async function countJobError(redis: Redis, keys: QueueKeys, jobId: string): Promise<number> {
  return redis.hincrby(jobErrorsKey(keys), jobId, 1);
}

/** Hold a job that keeps throwing (the processor then fails it with HELD_JOB_PREFIX). */
export async function holdFailingJob(
  redis: Redis,
  keys: QueueKeys,
  jobId: string,
  data: DeliveryJobData,
  reason: string,
  errors: number,
  now: number,
): Promise<void> {
  const entry: HeldJob = { data, heldAt: now, reason, errors };
  await redis.hset(heldKey(keys), jobId, JSON.stringify(entry));
}

/** Forget held entries of deleted jobs (mxq delete). */
export async function forgetHeld(redis: Redis, keys: QueueKeys, jobIds: string[]): Promise<void> {
  if (jobIds.length === 0) return;
  await redis
    .multi()
    .hdel(heldKey(keys), ...jobIds)
    .hdel(jobErrorsKey(keys), ...jobIds)
    .exec();
}
