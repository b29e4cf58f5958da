import type { LocalSessionCache } from '../cache/local-session-cache.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../core/options.ts';
import type { Logger } from '../core/ports.ts';
import { checkRoutingOptions } from '../core/route.ts';
import type { MetricsRecorder } from '../metrics/recorder.ts';
import { openWorkerMetrics, type WorkerMetrics } from '../metrics/worker-metrics.ts';
import { createRedisClient } from '../queue/connection.ts';
import { DEFAULT_PREFIX, queueKeys } from '../queue/keys.ts';
import { probeRedis, RedisUnavailableError } from '../queue/redis-probe.ts';
import { redisUrlProblem } from '../queue/redis-target.ts';
import type { TlsStarter } from '../smtp/engine-deps.ts';
import {
  type EmbeddedRedis,
  EmbeddedRedisUnavailable,
  findEmbeddedRedis,
  startEmbeddedRedis,
} from './embedded-redis.ts';
import { checkRedisSafety, unsafeRedisMessage } from './redis-safety.ts';
import { sweepFailedJobs } from './stall-recovery.ts';
import { createWorker, RoutingConfigError } from './wiring.ts';
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
  /** A recorder from the composition (a pool child's, answered over IPC) when not serving /metrics. */
  metricsRecorder?: MetricsRecorder;
  /** Aborting it stops the worker like SIGTERM (tests; the CLI wires signals to it). */
  stop: AbortSignal;
  /** `mxq pool` children: a tiered session cache, and a look at the runtime before it starts. */
  sessionCache?: LocalSessionCache;
  tlsStarter?: TlsStarter;
  onRuntime?: (runtime: WorkerRuntime) => void;
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
  const graceful = runtime.redisDown()
    ? Promise.resolve('forced' as const)
    : runtime.worker.close(false).then(() => 'drained' as const);
  const how = await Promise.race([graceful, timeout]);
  clearTimeout(timer);
  if (runtime.redisDown())
    logger.warn(
      { event: 'drain-redis-down' },
      'Redis unavailable: not waiting for active jobs; stall recovery takes them over',
    );
  else if (how === 'forced')
    logger.warn(
      { event: 'drain-timeout', timeoutMs },
      'drain timeout: abandoning active jobs to stall recovery',
    );
  await runtime.close(how === 'forced');
  return how;
}

async function redisSafetyOk(url: string, a: WorkerMainArgs): Promise<boolean> {
  const probe = createRedisClient(url, { maxRetriesPerRequest: 2, lazyConnect: true });
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
  // --- route (issue 9): a malformed transport map or relayhost is refused before anything starts ---
  const routing = checkRoutingOptions(resolveOptions(a.options ?? {}));
  if (routing.length > 0) {
    a.stderr.write(`mxq worker: ${new RoutingConfigError(routing).message}\n`);
    return 78;
  }
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
  const badUrl = redisUrlProblem(url);
  if (badUrl !== undefined) {
    a.stderr.write(`mxq worker: ${badUrl}\n`);
    await embedded?.stop();
    return 78;
  }
  try {
    try {
      await probeRedis(url, { timeoutMs: 5000 });
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      a.stderr.write(`mxq worker: ${err.message}\n`);
      return err.kind === 'auth' ? 77 : 69;
    }
    if (!(await redisSafetyOk(url, a))) return 78;
    const runtime = createWorker({
      redisUrl: url,
      prefix: a.prefix ?? DEFAULT_PREFIX,
      logger: a.logger,
      ...(a.concurrency !== undefined ? { concurrency: a.concurrency } : {}),
      ...(a.options !== undefined ? { options: a.options } : {}),
      ...(a.lockDurationMs !== undefined ? { lockDurationMs: a.lockDurationMs } : {}),
      ...(a.stalledIntervalMs !== undefined ? { stalledIntervalMs: a.stalledIntervalMs } : {}),
      ...(a.sessionCache !== undefined ? { sessionCache: a.sessionCache } : {}),
      ...(a.tlsStarter !== undefined ? { tlsStarter: a.tlsStarter } : {}),
      ...(metrics !== undefined ? { metrics: metrics.recorder } : {}),
      ...(metrics === undefined && a.metricsRecorder !== undefined ? { metrics: a.metricsRecorder } : {}),
    });
    a.onRuntime?.(runtime);
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
