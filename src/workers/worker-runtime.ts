/**
 * A worker's BullMQ side, given a delivery agent: Redis connections, the mail queue used for
 * notifications, the processor and the BullMQ Worker with its crash-safety settings and listeners.
 * wiring.ts adds the real delivery agent; tests may pass a scripted one.
 *
 * Decides: BullMQ settings: the installation prefix, that a job handed a freed destination lease
 * is promoted with BullMQ's Job.promote on the Queue's connection, maxStalledCount 10 (stalls are recovered,
 * not failed), lockDuration/stalledInterval (defaults 60 s / 30 s; shorter in tests), a worker
 * connection with maxRetriesPerRequest null; `failed` jobs other than malformed ones are put back.
 * Never: reads the environment or argv (worker-main.ts and the CLI do), decides outcomes.
 */
import { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type DeliveryOptionsInput, type ResolvedOptions, resolveOptions } from '../core/options.ts';
import type { Clock, Logger, Random } from '../core/ports.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import { createRedisClient } from '../queue/connection.ts';
import type { DeliveryJobData } from '../queue/job-schema.ts';
import { DEFAULT_PREFIX, queueKeys } from '../queue/keys.ts';
import { createMailQueue } from '../queue/mail-queue.ts';
import type { JobAgent } from './agent.ts';
import { createDeliverProcessor, type DeliverJobResult } from './processor.ts';
import { createRedisHealth } from './redis-health.ts';
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
  agent: JobAgent & { close(): Promise<void> };
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
  /** True while Redis is unreachable (a drain then does not wait for it). */
  redisDown(): boolean;
}

export const DEFAULT_LOCK_DURATION_MS = 60_000;
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_STALLED_COUNT = 10;

/** Waits for `p` at most `ms`; never rejects (closing is best effort). */
async function withDeadline(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((done) => {
      timer = setTimeout(done, ms);
    }),
  ]);
  clearTimeout(timer);
}

export function createWorkerRuntime(cfg: WorkerConfig): WorkerRuntime {
  const options = resolveOptions(cfg.options ?? {});
  const prefix = cfg.prefix ?? DEFAULT_PREFIX;
  const keys = queueKeys(prefix);
  const logger = cfg.logger;
  // Every Redis error goes through one tracker: a line when Redis goes away, one when it is back.
  const health = createRedisHealth(logger);
  // The processor's own connection: no BullMQ Queue on it (a Queue loads its ~64 Lua scripts into
  // the connection, and every redis.multi() then copies them: 44 µs against 6 µs), and automatic
  // pipelining, so the Redis calls of concurrent jobs issued in one tick go out in one socket write.
  const redis = createRedisClient(cfg.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  redis.on('error', (err: Error) => health.error(err));
  redis.on('ready', () => health.ready());
  const workerConnection = createRedisClient(cfg.redisUrl, { maxRetriesPerRequest: null });
  workerConnection.on('error', (err: Error) => health.error(err));
  const agent = cfg.agent;
  const queueConnection = createRedisClient(cfg.redisUrl, { maxRetriesPerRequest: null });
  queueConnection.on('error', (err: Error) => health.error(err));
  const queue = new Queue<DeliveryJobData>(keys.deliverQueue, {
    connection: queueConnection,
    prefix: keys.bullPrefix,
  });
  queue.on('error', (err) => health.error(err));
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
    // A job a lease release hands its slot to: from the delayed set to `wait` now (BullMQ's own
    // promote script; it refuses a job that is not delayed).
    promote: (jobId: string) => new Job(queue, keys.deliverQueue, {}, {}, jobId).promote(),
    waitingJobs: () => queue.getWaitingCount(),
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
  worker.on('error', (err) => {
    if (health.isDown() || /ECONNREFUSED|ETIMEDOUT|Connection is closed|ECONNRESET/.test(err.message)) {
      health.error(err);
      return;
    }
    logger.error({ event: 'worker-error', err: err.message.split('\n')[0] }, 'worker error');
  });
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
    redisDown: () => health.isDown(),
    async close(force = false) {
      // With Redis gone, BullMQ's close waits for a connection that may never come back: bound
      // each step, then drop the connections (jobs left active are recovered by stall checks).
      const bounded = (p: Promise<unknown>) => withDeadline(p, force || health.isDown() ? 2000 : 30_000);
      await bounded(worker.close(force || health.isDown()));
      await bounded(queue.close());
      await bounded(mailQueue.close());
      await bounded(agent.close());
      redis.disconnect();
      queueConnection.disconnect();
      workerConnection.disconnect();
    },
  };
}
