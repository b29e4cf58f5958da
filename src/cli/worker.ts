import type { DeliveryOptionsInput } from '../core/options.ts';
import { poolChildArgs } from '../pool/pool-child.ts';
import { readMxqEnv } from '../runtime/env.ts';
import { createLogger, LOG_FORMATS, type LogFormat } from '../runtime/logger.ts';
import { DEFAULT_DRAIN_TIMEOUT_MS, runWorkerMain, type WorkerMainArgs } from '../workers/worker-main.ts';
import { CliError, EXIT, fail, parseCommand } from './cli-kit.ts';
import { optionsFromArgs } from './queue-connection.ts';

const USAGE = `usage: mxq worker [--concurrency N] [--redis URL] [--prefix P] [--config FILE] [--allow-unsafe-redis]
                  [--drain-timeout S] [--lock-duration S] [--stalled-interval S] [--log-format json|postfix]
                  [--metrics [HOST:]PORT [--metrics-token T]]

Run delivery workers. Without --redis or REDIS_URL, starts (or joins) the embedded redis-server
under ./var/redis (AOF on). Log lines (JSON, pino) go to stdout. SIGTERM/SIGINT drain.

  --concurrency N         deliveries at once (default 10)
  --redis URL             redis:// or rediss:// URL, rediss://…?tls_ca_file=F[&tls_cert_file=F&tls_key_file=F]
                          (default REDIS_URL, else the embedded one; docs/cli.md)
  --prefix P              queue key prefix (default MXQ_PREFIX, else {mxq})
  --config FILE           JSON delivery options (docs/configuration.md), relative to the current directory
  --allow-unsafe-redis    run on a Redis that could lose mail (no AOF, evicting policy)
  --drain-timeout S       on SIGTERM, wait S seconds for active deliveries (default 30)
  --lock-duration S       BullMQ job lock (default 60)
  --stalled-interval S    BullMQ stalled-job check interval (default 30)
  --log-format F          json (pino, ISO times; default, or MXQ_LOG_FORMAT) or postfix
                          (syslog-style text lines Postfix log tools read)
  --metrics [HOST:]PORT   serve Prometheus metrics (a bare port binds 127.0.0.1; off by default)
  --metrics-token T       bearer token for /metrics (also MXQ_METRICS_TOKEN); needed off loopback

exit: 0 drained, 64 usage, 66 no such --config, 69 Redis unreachable or no redis-server,
      77 Redis password refused, 78 bad --config, bad --redis URL or unsafe Redis (docs/cli.md)
`;

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
  const parsed = parseCommand(
    {
      name: 'worker',
      usage: USAGE,
      options: {
        concurrency: { type: 'string' },
        redis: { type: 'string' },
        prefix: { type: 'string' },
        config: { type: 'string' },
        'allow-unsafe-redis': { type: 'boolean' },
        'drain-timeout': { type: 'string' },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
        'pool-child': { type: 'string' },
        'log-format': { type: 'string' },
        metrics: { type: 'string' },
        'metrics-token': { type: 'string' },
      },
    },
    argv,
  );
  if (parsed.exit !== undefined) return parsed.exit;
  const values: Record<string, string | boolean | undefined> = parsed.values;
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  let args: WorkerMainArgs;
  const stop = new AbortController();
  try {
    const concurrency = positiveNumber('concurrency', str('concurrency'));
    const drain = positiveNumber('drain-timeout', str('drain-timeout'));
    const lock = positiveNumber('lock-duration', str('lock-duration'));
    const stalled = positiveNumber('stalled-interval', str('stalled-interval'));
    const format = str('log-format');
    if (format !== undefined && !LOG_FORMATS.includes(format as LogFormat)) {
      throw new RangeError(`--log-format: must be json or postfix, not "${format}"`);
    }
    const options: DeliveryOptionsInput = await optionsFromArgs({ config: str('config') });
    const env = readMxqEnv();
    const redisUrl = str('redis') ?? env.redisUrl;
    const prefix = str('prefix') ?? env.prefix;
    args = {
      logger: createLogger(format === undefined ? {} : { format: format as LogFormat }),
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
    const child = str('pool-child');
    if (child !== undefined) {
      if (child !== 'shared' && child !== 'local')
        throw new RangeError(`--pool-child: not shared or local: ${child}`);
      const p = { proc: process, logger: args.logger, stopNow: () => stop.abort(), sharing: child } as const;
      args = poolChildArgs(args, p);
    }
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return fail('worker', err instanceof CliError ? err.code : EXIT.USAGE, text);
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
