/**
 * Requeue, after Postfix's postsuper -r: a message's jobs go through routing again with the
 * workers' current configuration. Routing happens in the worker at every attempt (core/route.ts),
 * so requeueing means two things per job: a deferred (delayed) job is made due now, and a job
 * stored in the old shape (the next-hop chosen at enqueue, no `domain`) is rewritten in the new
 * shape (job-schema.ts migration: a stored SMTP next-hop equal to the recipient domain becomes
 * "no explicit next-hop", so transportMaps and relayhost apply).
 *
 * Decides: which jobs count (waiting, prioritized and delayed ones; an active job is left to its
 * worker and reported busy), and the report { jobs made due, jobs migrated, busy }.
 * Never: touches held jobs (`mxq release` puts them back, due now), delivers, bounces.
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type DeliveryJobData, type MessageMeta, parseDeliveryJobData } from './job-schema.ts';
import type { QueueKeys } from './keys.ts';

export interface RequeueReport {
  /** Deferred jobs made due now. */
  due: number;
  /** Jobs rewritten from the old shape (enqueue-time next-hop) to the new one. */
  migrated: number;
  /** Jobs being delivered right now (left alone; their next attempt routes afresh anyway). */
  busy: number;
}

/** Requeue every waiting/deferred job of one message; 'absent' when there is no such message. */
export async function requeueMessage(
  redis: Redis,
  queue: Queue<DeliveryJobData>,
  keys: QueueKeys,
  queueId: string,
): Promise<RequeueReport | 'absent'> {
  const metaJson = await redis.hget(keys.message(queueId), 'meta');
  if (metaJson === null) return 'absent';
  const meta = JSON.parse(metaJson) as MessageMeta;
  const report: RequeueReport = { due: 0, migrated: 0, busy: 0 };
  for (const jobId of meta.jobIds) {
    const job = (await queue.getJob(jobId)) as Job<DeliveryJobData> | undefined;
    if (job === undefined) continue;
    const state = await job.getState();
    if (state === 'active') {
      report.busy++;
      continue;
    }
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') continue;
    const raw: unknown = job.data;
    if (typeof raw === 'object' && raw !== null && !('domain' in raw)) {
      try {
        await job.updateData(parseDeliveryJobData(raw));
        report.migrated++;
      } catch {
        // Unreadable data: the worker reports it (and holds the job); requeue leaves it as it is.
      }
    }
    if (state === 'delayed') {
      try {
        await job.promote();
        report.due++;
      } catch {
        // No longer delayed (a worker or a flush got there first).
      }
    }
  }
  return report;
}
