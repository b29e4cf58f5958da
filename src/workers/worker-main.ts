/**
 * The life of a worker process: find Redis (given URL, or the embedded default), refuse an unsafe
 * Redis, start the BullMQ worker, put back stall-failed jobs, and on SIGTERM/SIGINT drain.
 *
 * Decides: the drain: stop taking jobs, wait for active deliveries up to the drain timeout, then
 * force-close (abandoned jobs are recovered by another worker's stall check; their final
 * recipients are already in the journal). Exit codes: 0 after a drain, 78 unsafe Redis (EX_CONFIG),
 * 69 no Redis (EX_UNAVAILABLE).
 * Never: parses argv (src/cli/worker.ts does), delivers mail itself.
 */
import { Redis } from 'ioredis';
import type { DeliveryOptionsInput } from '../core/options.ts';
import type { Logger } from '../core/ports.ts';
import { openWorkerMetrics, type WorkerMetrics } from '../metrics/worker-metrics.ts';
import { DEFAULT_PREFIX, queueKeys } from '../queue/keys.ts';
import {
  type EmbeddedRedis,
  EmbeddedRedisUnavailable,
  findEmbeddedRedis,
  startEmbeddedRedis,
} from './embedded-redis.ts';
import { checkRedisSafety, unsafeRedisMessage } from './redis-safety.ts';
import { sweepFailedJobs } from './stall-recovery.ts';
import { createWorker } from './wiring.ts';
import type { WorkerRuntime } from './worker-runtime.ts';

export interface WorkerMainArgs {
  redisUrl?: string;
  prefix?: string;
  concurrency?: number;
  options?: DeliveryOptionsInput;
  allowUnsafeRedis?: boolean;
  drainTimeoutMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Directory of the embedded Redis; default ./var/redis. */
  embeddedRedisDir?: string;
  logger: Logger;
  stderr: NodeJS.WritableStream;
  /** Serve /metrics here (`--metrics`, e.g. 127.0.0.1:9464), with this bearer token (`--metrics-token`). */
  metricsListen?: string;
  metricsToken?: string;
  /** Aborting it stops the worker like SIGTERM (tests; the CLI wires signals to it). */
  stop: AbortSignal;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** Stop taking jobs, wait up to `timeoutMs` for active ones, then force-close. */
export async function drainWorker(
  runtime: WorkerRuntime,
  timeoutMs: number,
  logger: Logger,
): Promise<'drained' | 'forced'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'forced'>((done) => {
    timer = setTimeout(() => done('forced'), timeoutMs);
  });
  const graceful = runtime.worker.close(false).then(() => 'drained' as const);
  const how = await Promise.race([graceful, timeout]);
  clearTimeout(timer);
  if (how === 'forced')
    logger.warn(
      { event: 'drain-timeout', timeoutMs },
      'drain timeout: abandoning active jobs to stall recovery',
    );
  await runtime.close(how === 'forced');
  return how;
}

async function redisSafetyOk(url: string, a: WorkerMainArgs): Promise<boolean> {
  const probe = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const verdict = await checkRedisSafety(probe);
    if (verdict.safe) return true;
    if (a.allowUnsafeRedis) {
      a.logger.warn(
        { event: 'unsafe-redis-allowed', problems: verdict.problems },
        'unsafe Redis allowed by --allow-unsafe-redis',
      );
      return true;
    }
    a.stderr.write(`${unsafeRedisMessage(verdict)}\n`);
    return false;
  } finally {
    probe.disconnect();
  }
}

function waitForStop(signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    signal.addEventListener('abort', () => done(), { once: true });
  });
}

/** Run a worker until `stop` aborts; returns the exit code. */
export async function runWorkerMain(a: WorkerMainArgs): Promise<number> {
  const metrics = await openWorkerMetrics(a);
  if (typeof metrics === 'number') return metrics;
  try {
    return await runWorker(a, metrics);
  } finally {
    await metrics?.close();
  }
}

async function runWorker(a: WorkerMainArgs, metrics: WorkerMetrics | undefined): Promise<number> {
  let embedded: EmbeddedRedis | undefined;
  let url = a.redisUrl;
  if (url === undefined) {
    url = await findEmbeddedRedis(a.embeddedRedisDir);
    if (url !== undefined) a.stderr.write(`mxq worker: using the embedded redis-server at ${url}\n`);
  }
  if (url === undefined) {
    try {
      embedded = await startEmbeddedRedis(
        a.embeddedRedisDir === undefined ? {} : { dir: a.embeddedRedisDir },
      );
    } catch (err) {
      if (!(err instanceof EmbeddedRedisUnavailable)) throw err;
      a.stderr.write(`mxq worker: ${err.message}\n`);
      return 69;
    }
    url = embedded.url;
    a.stderr.write(
      `mxq worker: started redis-server on 127.0.0.1:${embedded.port} (AOF under ${embedded.dir})\n`,
    );
  }
  try {
    if (!(await redisSafetyOk(url, a))) return 78;
    const runtime = createWorker({
      redisUrl: url,
      prefix: a.prefix ?? DEFAULT_PREFIX,
      logger: a.logger,
      ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
      ...(a.options !== undefined ? { options: a.options } : {}),
      ...(a.lockDurationMs !== undefined ? { lockDurationMs: a.lockDurationMs } : {}),
      ...(a.stalledIntervalMs !== undefined ? { stalledIntervalMs: a.stalledIntervalMs } : {}),
      ...(metrics !== undefined ? { metrics: metrics.recorder } : {}),
    });
    metrics?.attach(runtime, queueKeys(a.prefix ?? DEFAULT_PREFIX));
    const putBack = await sweepFailedJobs(runtime.queue, a.logger);
    runtime.start();
    a.logger.info(
      {
        event: 'worker-started',
        pid: process.pid,
        prefix: queueKeys(a.prefix ?? DEFAULT_PREFIX).bullPrefix,
        putBack,
      },
      'worker started',
    );
    await waitForStop(a.stop);
    a.logger.info({ event: 'worker-stopping' }, 'stopping: draining active deliveries');
    const how = await drainWorker(runtime, a.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS, a.logger);
    a.logger.info({ event: 'worker-stopped', how }, 'worker stopped');
    return 0;
  } finally {
    await embedded?.stop();
  }
}
