/**
 * A worker's BullMQ side, given a delivery agent: Redis connections, the mail queue used for
 * notifications, the processor and the BullMQ Worker with its crash-safety settings and listeners.
 * wiring.ts adds the real delivery agent; tests may pass a scripted one.
 *
 * Decides: BullMQ settings: the installation prefix, maxStalledCount 10 (stalls are recovered,
 * not failed), lockDuration/stalledInterval (defaults 60 s / 30 s; shorter in tests), a worker
 * connection with maxRetriesPerRequest null; `failed` jobs other than malformed ones are put back.
 * Never: reads the environment or argv (worker-main.ts and the CLI do), decides outcomes.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type DeliveryOptionsInput, type ResolvedOptions, resolveOptions } from '../core/options.ts';
import type { Clock, Logger, Random } from '../core/ports.ts';
import type { AttemptRequest, AttemptResult } from '../core/types.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import type { DeliveryJobData } from '../queue/job-schema.ts';
import { DEFAULT_PREFIX, queueKeys } from '../queue/keys.ts';
import { createMailQueue } from '../queue/mail-queue.ts';
import { createDeliverProcessor, type DeliverJobResult } from './processor.ts';
import { putBack } from './stall-recovery.ts';

export interface WorkerConfig {
  redisUrl: string;
  prefix?: string;
  concurrency?: number;
  options?: DeliveryOptionsInput;
  logger: Logger;
  /** BullMQ job lock (ms). Default 60000: renewed every half while the process lives. */
  lockDurationMs?: number;
  /** BullMQ stalled-job check interval (ms). Default 30000. */
  stalledIntervalMs?: number;
  /** Stalls tolerated before BullMQ fails a job (which we then put back). Default 10. */
  maxStalledCount?: number;
  /** Journal retention after the message is removed (s). Default 7 days. */
  journalTtlSec?: number;
  clock?: Clock;
  random?: Random;
  /** Metrics hook (src/metrics); none: nothing is recorded. */
  metrics?: MetricsRecorder;
  /** The delivery agent (wiring.ts passes the real one). */
  agent: { deliver(req: AttemptRequest): Promise<AttemptResult>; close(): Promise<void> };
}

export interface WorkerRuntime {
  worker: Worker<DeliveryJobData, DeliverJobResult>;
  queue: Queue<DeliveryJobData>;
  redis: Redis;
  options: ResolvedOptions;
  /** Start taking jobs. */
  start(): void;
  /** Stop taking jobs and wait for active ones (force: abandon them to stall recovery); then close. */
  close(force?: boolean): Promise<void>;
}

export const DEFAULT_LOCK_DURATION_MS = 60_000;
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_STALLED_COUNT = 10;

export function createWorkerRuntime(cfg: WorkerConfig): WorkerRuntime {
  const options = resolveOptions(cfg.options ?? {});
  const prefix = cfg.prefix ?? DEFAULT_PREFIX;
  const keys = queueKeys(prefix);
  const logger = cfg.logger;
  const redis = new Redis(cfg.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', (err: Error) =>
    logger.warn({ event: 'redis-error', err: err.message }, 'redis connection error'),
  );
  const workerConnection = new Redis(cfg.redisUrl, { maxRetriesPerRequest: null });
  workerConnection.on('error', () => {
    // reported through the worker's own 'error' listener
  });
  const agent = cfg.agent;
  const mailQueue = createMailQueue({ redis: cfg.redisUrl, prefix, options: cfg.options ?? {} });
  const processor = createDeliverProcessor({
    redis,
    keys,
    opts: options,
    agent,
    notifications: mailQueue,
    clock: cfg.clock ?? { now: () => Date.now() },
    random: cfg.random ?? { next: () => Math.random() },
    logger,
    ...(cfg.journalTtlSec !== undefined ? { journalTtlSec: cfg.journalTtlSec } : {}),
    ...(cfg.metrics !== undefined ? { metrics: cfg.metrics } : {}),
  });
  const worker = new Worker<DeliveryJobData, DeliverJobResult>(keys.deliverQueue, processor, {
    connection: workerConnection,
    prefix: keys.bullPrefix,
    concurrency: cfg.concurrency ?? 10,
    lockDuration: cfg.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
    stalledInterval: cfg.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    maxStalledCount: cfg.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT,
    autorun: false,
  });
  const queue = new Queue<DeliveryJobData>(keys.deliverQueue, { connection: redis, prefix: keys.bullPrefix });
  worker.on('error', (err) => logger.error({ event: 'worker-error', err: err.message }, 'worker error'));
  worker.on('stalled', (jobId) => logger.warn({ event: 'job-stalled', jobId }, 'stalled job recovered'));
  worker.on('failed', (job, err) => {
    logger.warn({ event: 'job-failed', jobId: job?.id, err: err.message }, 'job failed');
    if (job !== undefined) void putBack(queue, job, logger);
  });
  let started = false;
  return {
    worker,
    queue,
    redis,
    options,
    start() {
      if (started) return;
      started = true;
      worker
        .run()
        .catch((err: unknown) =>
          logger.error({ event: 'worker-run-error', err: String(err) }, 'worker stopped'),
        );
    },
    async close(force = false) {
      await worker.close(force);
      await queue.close();
      await mailQueue.close();
      await agent.close();
      redis.disconnect();
      workerConnection.disconnect();
    },
  };
}
