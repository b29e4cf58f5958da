/**
 * Fast recovery: the jobs a dead worker process held go back to the queue at once, instead of
 * after their BullMQ lock expires (lockDuration, then the next stalled check).
 *
 * Decides: the mechanism: BullMQ's own atomic moveJobFromActiveToWait (Job.moveToWait(token)),
 * which removes the lock only when it still holds the dead process's token, takes the job out of
 * `active` and pushes it to wait (or paused / prioritized) with the marker that wakes blocked
 * workers. A job whose lock has meanwhile expired or been taken by another worker is left alone
 * (-2 / -6): the stalled check, or its new holder, owns it then. The job's journal makes the rerun
 * skip every recipient already settled, so a rerun loses nothing and repeats nothing final.
 * Never: touches a job of a process that is still alive (called only after its 'exit'), deletes
 * locks by itself, or fails jobs.
 *
 * Bound for a whole dead host (no supervisor left to do this): lockDuration plus stalledInterval
 * (the lock expires, then the next stalled check of any live worker moves the job back), 60 s +
 * 30 s with the defaults.
 */
import { Job, type Queue } from 'bullmq';
import type { Logger } from '../core/ports.ts';

export interface RecoveryResult {
  returned: string[];
  leftAlone: string[];
}

export async function returnHeldJobs(
  queue: Queue,
  held: ReadonlyMap<string, string>,
  logger: Logger,
): Promise<RecoveryResult> {
  const result: RecoveryResult = { returned: [], leftAlone: [] };
  for (const [jobId, token] of held) {
    try {
      const job = await Job.fromId(queue, jobId);
      if (job === undefined) {
        result.leftAlone.push(jobId);
        continue;
      }
      await job.moveToWait(token);
      result.returned.push(jobId);
    } catch (err) {
      result.leftAlone.push(jobId);
      logger.debug(
        { event: 'pool-job-left-alone', jobId, err: err instanceof Error ? err.message : String(err) },
        'job not returned (finished, lock expired or taken): the stalled check owns it',
      );
    }
  }
  return result;
}
