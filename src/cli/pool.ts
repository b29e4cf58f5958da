/**
 * `mxq pool [-n N] [worker options]`: a supervisor with N worker processes (default: the number of
 * cores) that share their idle sessions through the host session cache and whose jobs come back
 * at once when one dies.
 *
 * Decides: argument syntax; --sharing (shared: host session cache + TLS owner; local: per-process); where Redis comes from (--redis, else REDIS_URL, else the embedded
 * redis-server, started once here and shared by the children); the children's command line
 * (`mxq worker --pool-child` with the same options). SIGTERM/SIGINT drain the pool; SIGUSR2 logs
 * every child's state, held jobs and cache counters (event pool-status).
 * Never: delivers mail (the children do) or decides restarts (src/pool/supervisor.ts).
 * Exit codes: 0 after a drain, 64 usage, 69 no Redis, or a child's configuration exit code.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { checkPoolMetricsListen, openPoolMetrics } from '../metrics/pool-metrics.ts';
import { createSupervisor } from '../pool/supervisor.ts';
import { createRedisClient } from '../queue/connection.ts';
import { DEFAULT_PREFIX, queueKeys } from '../queue/keys.ts';
import { redisUrlProblem } from '../queue/redis-target.ts';
import { readMxqEnv } from '../runtime/env.ts';
import { createLogger } from '../runtime/logger.ts';
import {
  type EmbeddedRedis,
  EmbeddedRedisUnavailable,
  findEmbeddedRedis,
  startEmbeddedRedis,
} from '../workers/embedded-redis.ts';
import { DEFAULT_DRAIN_TIMEOUT_MS } from '../workers/worker-main.ts';
import { EXIT, fail, parseCommand } from './cli-kit.ts';

const USAGE =
  'usage: mxq pool [-n N] [--sharing shared|local] [--concurrency C] [--redis URL] [--prefix P] [--config FILE] [--allow-unsafe-redis]\n' +
  '                [--drain-timeout S] [--lock-duration S] [--stalled-interval S] [--metrics [HOST:]PORT [--metrics-token T]]\n' +
  '  -n N        worker processes (default: the number of cores); the other options go to each worker\n' +
  '  --sharing   shared (default): idle sessions and TLS in the pool, any process takes any session;\n' +
  '              local: each process keeps its own sessions and its own TLS\n' +
  '  --metrics   one Prometheus /metrics for the whole pool (a bare port binds 127.0.0.1)\n' +
  '  --metrics-token T  bearer token for /metrics (also MXQ_METRICS_TOKEN); needed off loopback\n';

const PASSED = ['concurrency', 'config', 'drain-timeout', 'lock-duration', 'stalled-interval'] as const;

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const flag = name === 'processes' ? '-n/--processes' : `--${name}`;
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${flag}: not a positive number: ${v}`);
  return n;
}

async function redisUrlFor(explicit: string | undefined): Promise<{ url: string; embedded?: EmbeddedRedis }> {
  if (explicit !== undefined) return { url: explicit };
  const found = await findEmbeddedRedis();
  if (found !== undefined) {
    process.stderr.write(`mxq pool: using the embedded redis-server at ${found}\n`);
    return { url: found };
  }
  const embedded = await startEmbeddedRedis();
  process.stderr.write(
    `mxq pool: started redis-server on 127.0.0.1:${embedded.port} (AOF under ${embedded.dir})\n`,
  );
  return { url: embedded.url, embedded };
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'pool',
      usage: USAGE,
      options: {
        processes: { type: 'string', short: 'n' },
        sharing: { type: 'string' },
        concurrency: { type: 'string' },
        redis: { type: 'string' },
        prefix: { type: 'string' },
        config: { type: 'string' },
        'allow-unsafe-redis': { type: 'boolean' },
        'drain-timeout': { type: 'string' },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
        metrics: { type: 'string' },
        'metrics-token': { type: 'string' },
      },
    },
    argv,
  );
  if (parsed.exit !== undefined) return parsed.exit;
  const values: Record<string, string | boolean | undefined> = parsed.values;
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  let processes: number;
  let drainS: number;
  const sharing = str('sharing') ?? 'shared';
  try {
    if (sharing !== 'shared' && sharing !== 'local')
      throw new RangeError(`--sharing: not shared or local: ${sharing}`);
    processes = Math.floor(positive('processes', str('processes')) ?? availableParallelism());
    drainS = positive('drain-timeout', str('drain-timeout')) ?? DEFAULT_DRAIN_TIMEOUT_MS / 1000;
    for (const k of PASSED) if (k !== 'config') positive(k, str(k));
    checkPoolMetricsListen(str('metrics'), str('metrics-token') ?? process.env.MXQ_METRICS_TOKEN);
  } catch (err) {
    return fail('pool', EXIT.USAGE, err instanceof Error ? err.message : String(err));
  }
  const env = readMxqEnv();
  const prefix = str('prefix') ?? env.prefix ?? DEFAULT_PREFIX;
  let redis: { url: string; embedded?: EmbeddedRedis };
  try {
    redis = await redisUrlFor(str('redis') ?? env.redisUrl);
  } catch (err) {
    if (!(err instanceof EmbeddedRedisUnavailable)) throw err;
    return fail('pool', EXIT.UNAVAILABLE, err.message);
  }
  const badUrl = redisUrlProblem(redis.url);
  if (badUrl !== undefined) {
    await redis.embedded?.stop();
    return fail('pool', EXIT.CONFIG, badUrl);
  }
  const childArgs = ['worker', '--redis', redis.url, '--prefix', prefix];
  for (const k of PASSED) {
    const v = str(k);
    if (v !== undefined) childArgs.push(`--${k}`, k === 'config' ? resolve(v) : v);
  }
  if (values['allow-unsafe-redis'] === true) childArgs.push('--allow-unsafe-redis');

  const logger = createLogger().child({ pool: process.pid });
  const keys = queueKeys(prefix);
  const connection = createRedisClient(redis.url, { maxRetriesPerRequest: null });
  connection.on('error', (err: Error) => logger.warn({ event: 'redis-error', err: err.message }));
  const queue = new Queue(keys.deliverQueue, { connection, prefix: keys.bullPrefix });
  const supervisor = createSupervisor({
    processes,
    modulePath: resolve(import.meta.dirname, 'main.ts'),
    childArgs,
    queue,
    logger,
    drainTimeoutMs: drainS * 1000,
    shared: sharing === 'shared',
  });
  const metrics = await openPoolMetrics({
    listen: str('metrics'),
    token: str('metrics-token') ?? process.env.MXQ_METRICS_TOKEN,
    stderr: process.stderr,
    source: { supervisor, queue, redis: connection, keys },
  });
  if (typeof metrics === 'number') {
    await queue.close();
    connection.disconnect();
    await redis.embedded?.stop();
    return metrics;
  }
  const onStop = () =>
    void supervisor
      .status()
      .then((s) => logger.info({ event: 'pool-status', ...s }, 'pool status before the drain'))
      .finally(() => supervisor.drain());
  const onStatus = () =>
    void supervisor.status().then((s) => logger.info({ event: 'pool-status', ...s }, 'pool status'));
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGUSR2', onStatus);
  logger.info({ event: 'pool-started', processes, prefix: keys.bullPrefix }, `pool of ${processes} started`);
  supervisor.start();
  try {
    const code = await supervisor.done;
    logger.info({ event: 'pool-stopped', code, hostCache: supervisor.cache.counters() }, 'pool stopped');
    return code;
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGUSR2', onStatus);
    await metrics?.close();
    await queue.close();
    connection.disconnect();
    await redis.embedded?.stop();
  }
}
