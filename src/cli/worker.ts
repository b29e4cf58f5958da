/**
 * `mxq worker [--concurrency N] [--redis URL] [--prefix P] [--config FILE] [--allow-unsafe-redis]
 *  [--drain-timeout S] [--lock-duration S] [--stalled-interval S]`: run delivery workers.
 *
 * Decides: argument syntax and where Redis comes from: --redis, else REDIS_URL, else the embedded
 * default (a redis-server from PATH under ./var/redis); prefix: --prefix, else MXQ_PREFIX, else
 * {mxq}. SIGTERM/SIGINT drain the worker.
 * Never: delivers mail itself (src/workers does).
 */
import { parseArgs } from 'node:util';
import type { DeliveryOptionsInput } from '../core/options.ts';
import { loadConfigFile } from '../runtime/config.ts';
import { readMxqEnv } from '../runtime/env.ts';
import { createLogger } from '../runtime/logger.ts';
import { DEFAULT_DRAIN_TIMEOUT_MS, runWorkerMain, type WorkerMainArgs } from '../workers/worker-main.ts';

const USAGE =
  'usage: mxq worker [--concurrency N] [--redis URL] [--prefix P] [--config FILE] [--allow-unsafe-redis]\n' +
  '                  [--drain-timeout S] [--lock-duration S] [--stalled-interval S]\n' +
  '                  [--metrics [HOST:]PORT [--metrics-token T]]   (token also from MXQ_METRICS_TOKEN)\n';

function metricsArgs(listen: string | undefined, token: string | undefined) {
  if (listen === undefined) return {};
  return token === undefined ? { metricsListen: listen } : { metricsListen: listen, metricsToken: token };
}

function positiveNumber(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name}: not a positive number: ${v}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
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
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`mxq worker: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 64;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  let args: WorkerMainArgs;
  const stop = new AbortController();
  try {
    const concurrency = positiveNumber('concurrency', str('concurrency'));
    const drain = positiveNumber('drain-timeout', str('drain-timeout'));
    const lock = positiveNumber('lock-duration', str('lock-duration'));
    const stalled = positiveNumber('stalled-interval', str('stalled-interval'));
    const configPath = str('config');
    const options: DeliveryOptionsInput = configPath === undefined ? {} : await loadConfigFile(configPath);
    const env = readMxqEnv();
    const redisUrl = str('redis') ?? env.redisUrl;
    const prefix = str('prefix') ?? env.prefix;
    args = {
      logger: createLogger(),
      stderr: process.stderr,
      stop: stop.signal,
      options,
      allowUnsafeRedis: values['allow-unsafe-redis'] === true,
      drainTimeoutMs: drain === undefined ? DEFAULT_DRAIN_TIMEOUT_MS : drain * 1000,
      ...(redisUrl !== undefined ? { redisUrl } : {}),
      ...(prefix !== undefined ? { prefix } : {}),
      ...(concurrency !== undefined ? { concurrency: Math.floor(concurrency) } : {}),
      ...(lock !== undefined ? { lockDurationMs: lock * 1000 } : {}),
      ...(stalled !== undefined ? { stalledIntervalMs: stalled * 1000 } : {}),
      ...metricsArgs(str('metrics'), str('metrics-token') ?? process.env.MXQ_METRICS_TOKEN),
    };
  } catch (err) {
    process.stderr.write(`mxq worker: ${err instanceof Error ? err.message : String(err)}\n`);
    return 64;
  }
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    return await runWorkerMain(args);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
