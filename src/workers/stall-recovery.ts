/**
 * Puts back jobs that BullMQ failed for reasons that are not delivery failures.
 *
 * Decides: a failed `deliver` job goes back to the queue unless its failure reason is a malformed
 * job (the processor's UnrecoverableError). That covers "job stalled more than allowable limit"
 * (BullMQ fails a job whose worker died or blocked too often, without ever calling the
 * processor) and errors the processor could not turn into a delayed retry. The job is retried in
 * place (`job.retry('failed')`); when it is already gone (removeOnFail) a copy is re-added with
 * the same data (under the same id when the old one is gone) and the usual retention; a
 * copy under a new id takes the old id out of its message's pass (the old job never runs again).
 * A sweep at start-up catches jobs failed while no worker listened.
 * Never: bounces anything (a stall is not a delivery failure), retries malformed jobs.
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/ports.ts';
import { jobRetention } from '../queue/enqueue.ts';
import { HELD_JOB_PREFIX } from '../queue/hold.ts';
import { DEFAULT_PREFIX, queueKeys } from '../queue/keys.ts';
import { MALFORMED_JOB_PREFIX } from './processor.ts';

/** Bound of the start-up sweep. */
export const SWEEP_LIMIT = 1000;

/** Should a job that failed with this reason be put back? */
export function shouldPutBack(failedReason: string | undefined): boolean {
  const r = failedReason ?? '';
  // Held jobs (queue/hold.ts) wait for `mxq release`, never for stall recovery.
  return !r.startsWith(MALFORMED_JOB_PREFIX) && !r.startsWith(HELD_JOB_PREFIX);
}

/** Put one failed job back; never throws. */
export async function putBack(queue: Queue, job: Job, logger: Logger): Promise<void> {
  const reason = job.failedReason;
  if (!shouldPutBack(reason)) return;
  try {
    await job.retry('failed', { resetAttemptsMade: true });
    logger.warn({ event: 'job-put-back', jobId: job.id, reason }, 'failed job put back into the queue');
    return;
  } catch (err) {
    logger.warn(
      { event: 'job-retry-failed', jobId: job.id, err: String(err) },
      'retry in place failed; re-adding',
    );
  }
  try {
    const state = await job.getState().catch(() => 'unknown');
    if (state === 'waiting' || state === 'active' || state === 'delayed') return;
    // Gone (removeOnFail): the same id, so the message's meta (mxq queue, mxq delete) and the
    // release count still know it. Otherwise a copy under a new id.
    await queue.add(job.name, job.data, {
      attempts: job.opts.attempts ?? 1,
      ...jobRetention(),
      ...(state === 'unknown' && job.id !== undefined ? { jobId: job.id } : {}),
    });
    const queueId: unknown = (job.data as { queueId?: unknown } | undefined)?.queueId;
    if (state !== 'unknown' && job.id !== undefined && typeof queueId === 'string') {
      const pass = queueKeys(queue.opts.prefix ?? DEFAULT_PREFIX).messagePass(queueId);
      const client = (await queue.getBackend().client) as unknown as Redis;
      await client.srem(pass, job.id);
    }
    logger.warn({ event: 'job-re-added', jobId: job.id, reason }, 'failed job re-added');
  } catch (err) {
    logger.error(
      { event: 'job-put-back-failed', jobId: job.id, err: String(err) },
      'could not put a failed job back',
    );
  }
}

/** Put back failed jobs found at start-up (bounded). Returns how many were put back. */
export async function sweepFailedJobs(queue: Queue, logger: Logger): Promise<number> {
  const failed = await queue.getFailed(0, SWEEP_LIMIT - 1);
  let n = 0;
  for (const job of failed) {
    if (!shouldPutBack(job.failedReason)) continue;
    await putBack(queue, job, logger);
    n++;
  }
  return n;
}
