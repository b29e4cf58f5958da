/**
 * The atomic write of one message: body and meta, job counter, arrival index, the first pass (every
 * job id) and every BullMQ `deliver` job, in one MULTI/EXEC.
 *
 * Decides: the BullMQ job options (id; retention: none once completed, bounded once failed), and
 * the clean-up when the transaction reports an error (nothing half-written stays behind).
 * Never: validates input (validate.ts did), chooses next-hops (job-plan.ts did).
 */
import { Job, type JobsOptions, type Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { DeliveryJobData, MessageMeta } from './job-schema.ts';
import type { QueueKeys } from './keys.ts';

/** Bounded retention of failed jobs (malformed or held ones, kept for inspection). */
export const JOB_RETENTION = { count: 1000, age: 86_400 } as const;

/**
 * What BullMQ keeps of a finished deliver job: nothing once it completed (the journal and the
 * events stream keep the outcomes; BullMQ then deletes the job in moveToFinished instead of adding
 * it to `completed` and trimming that set by count and age: 5–7 fewer Redis calls per job), failed
 * ones within JOB_RETENTION.
 */
export function jobRetention(): Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> {
  return { removeOnComplete: true, removeOnFail: { ...JOB_RETENTION } };
}

export interface EnqueueParts {
  meta: MessageMeta;
  body: Buffer;
  jobs: Array<{ jobId: string; data: DeliveryJobData }>;
}

export function jobOptions(jobId: string): JobsOptions {
  return { jobId, attempts: 1, ...jobRetention() };
}

/** Writes the message and its jobs atomically. On any error, removes what may have been written. */
export async function writeMessage(
  client: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  parts: EnqueueParts,
): Promise<void> {
  const { meta } = parts;
  // BullMQ's transaction wrapper runs its job scripts; underneath it is an ioredis MULTI, which
  // carries our own commands through `call` (binary-safe) in the same EXEC.
  const multi = (await queue.getBackend().client).multi();
  const raw = multi as unknown as ChainableCommander;
  raw.call('HSET', keys.message(meta.queueId), 'body', parts.body, 'meta', JSON.stringify(meta));
  raw.call('SET', keys.messageJobs(meta.queueId), String(parts.jobs.length));
  raw.call('ZADD', keys.messageIndex, String(meta.arrivalTime), meta.queueId);
  if (parts.jobs.length > 0)
    raw.call('SADD', keys.messagePass(meta.queueId), ...parts.jobs.map((j) => j.jobId));
  try {
    for (const j of parts.jobs) {
      const job = new Job(queue, keys.deliverQueue, j.data, jobOptions(j.jobId), j.jobId);
      await job.addJob(multi);
    }
    const results = await multi.exec();
    if (results === null) throw new Error('transaction aborted');
    const failed = results.find(([err]) => err !== null);
    if (failed?.[0]) throw failed[0];
  } catch (err) {
    // A multi that never reached exec() was only buffered client-side; nothing was sent.
    await removeMessageKeys(
      client,
      queue,
      keys,
      meta.queueId,
      parts.jobs.map((j) => j.jobId),
    );
    throw err;
  }
}

/** Best-effort removal of everything writeMessage writes for one message. */
export async function removeMessageKeys(
  client: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  queueId: string,
  jobIds: string[],
): Promise<void> {
  try {
    await Promise.all(jobIds.map((id) => queue.remove(id)));
    await client
      .multi()
      .del(
        keys.message(queueId),
        keys.messageJobs(queueId),
        keys.journal(queueId),
        keys.messagePass(queueId),
        keys.messageReported(queueId),
      )
      .zrem(keys.messageIndex, queueId)
      .exec();
  } catch {
    // Redis is unreachable: nothing more can be done here; the caller gets the original error.
  }
}
