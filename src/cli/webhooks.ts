/**
 * `mxq webhooks --config FILE`: POST delivery events to the configured endpoints (signed, retried,
 * at-least-once) until SIGTERM/SIGINT. `mxq webhooks replay --config FILE --since T [--until T]
 * [--endpoint NAME]`: POST a retained time range again.
 *
 * Decides: flags; Redis and prefix as every queue command (--redis, REDIS_URL, the embedded
 * redis-server, the default; --prefix, MXQ_PREFIX, {mxq}); one loop and one Redis connection per
 * endpoint; the consumer name (--consumer, default the host name). Exit codes: 0 done, 64 bad flags,
 * 78 bad --config file, 75 replay with events that could not be sent (or Redis unreachable).
 * Never: delivers mail or slows it down (it only reads the events stream).
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createRedisClient } from '../queue/connection.ts';
import { queueKeys } from '../queue/keys.ts';
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, readMxqEnv } from '../runtime/env.ts';
import { createLogger } from '../runtime/logger.ts';
import { loadWebhookConfig, type WebhookEndpoint } from '../webhooks/config.ts';
import { ensureWebhookGroup, runWebhookConsumer } from '../webhooks/consumer.ts';
import { parseTimeArg, replayEvents } from '../webhooks/replay.ts';
import { findEmbeddedRedis } from '../workers/embedded-redis.ts';
import { EXIT, fail, usageError } from './cli-kit.ts';

const USAGE =
  'usage: mxq webhooks --config FILE [--redis URL] [--prefix P] [--from-start]\n' +
  '                    [--backoff-base-ms N] [--backoff-max-ms N] [--claim-idle S] [--consumer NAME]\n' +
  '       mxq webhooks replay --config FILE --since T [--until T] [--endpoint NAME] [--redis URL] [--prefix P]\n' +
  '  T: ISO 8601 time, epoch ms, or a duration ago (90s, 15m, 2h, 7d)\n';

const OPTIONS = {
  config: { type: 'string' },
  redis: { type: 'string' },
  prefix: { type: 'string' },
  'from-start': { type: 'boolean' },
  'backoff-base-ms': { type: 'string' },
  'backoff-max-ms': { type: 'string' },
  'claim-idle': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  endpoint: { type: 'string' },
  consumer: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A usage error: the flag named, the usage's first line (cli-kit.ts). */
function bad(msg: string): number {
  return usageError({ name: 'webhooks', usage: USAGE }, msg);
}

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name}: not a positive number: ${v}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const replay = argv[0] === 'replay';
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    values = parseArgs({ args: replay ? argv.slice(1) : argv, options: OPTIONS, strict: true }).values;
  } catch (err) {
    return bad(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.config === undefined) return bad('--config is required');
  let endpoints: WebhookEndpoint[];
  try {
    endpoints = await loadWebhookConfig(values.config);
  } catch (err) {
    return fail('webhooks', EXIT.CONFIG, err instanceof Error ? err.message : String(err));
  }
  const env = readMxqEnv();
  const url = values.redis ?? env.redisUrl ?? (await findEmbeddedRedis()) ?? DEFAULT_REDIS_URL;
  const keys = queueKeys(values.prefix ?? env.prefix ?? DEFAULT_QUEUE_PREFIX);
  return replay ? runReplay(values, endpoints, url, keys) : runFollow(values, endpoints, url, keys);
}

async function runReplay(
  values: { since?: string; until?: string; endpoint?: string },
  all: WebhookEndpoint[],
  url: string,
  keys: ReturnType<typeof queueKeys>,
): Promise<number> {
  if (values.since === undefined) return bad('replay: --since is required');
  let sinceMs: number;
  let untilMs: number | undefined;
  try {
    sinceMs = parseTimeArg(values.since, '--since');
    untilMs = values.until === undefined ? undefined : parseTimeArg(values.until, '--until');
  } catch (err) {
    return bad(err instanceof Error ? err.message : String(err));
  }
  const endpoints = values.endpoint === undefined ? all : all.filter((e) => e.name === values.endpoint);
  if (endpoints.length === 0) return bad(`--endpoint: no endpoint named "${values.endpoint}" in the config`);
  const redis = createRedisClient(url, {
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => (n > 3 ? null : 250),
  });
  redis.on('error', () => {});
  try {
    const r = await replayEvents({
      redis,
      keys,
      endpoints,
      sinceMs,
      ...(untilMs !== undefined ? { untilMs } : {}),
      onFailure: (ep, id, error) => process.stderr.write(`mxq webhooks replay: ${ep} ${id}: ${error}\n`),
    });
    process.stdout.write(`replayed: ${r.sent} sent, ${r.failed} failed, ${r.skipped} not subscribed\n`);
    return r.failed > 0 ? 75 : 0;
  } catch (err) {
    return fail('webhooks replay', EXIT.TEMPFAIL, err instanceof Error ? err.message : String(err));
  } finally {
    redis.disconnect();
  }
}

async function runFollow(
  values: {
    consumer?: string;
    'from-start'?: boolean;
    'backoff-base-ms'?: string;
    'backoff-max-ms'?: string;
    'claim-idle'?: string;
  },
  endpoints: WebhookEndpoint[],
  url: string,
  keys: ReturnType<typeof queueKeys>,
): Promise<number> {
  let base: number | undefined;
  let max: number | undefined;
  let idle: number | undefined;
  try {
    base = positive('backoff-base-ms', values['backoff-base-ms']);
    max = positive('backoff-max-ms', values['backoff-max-ms']);
    idle = positive('claim-idle', values['claim-idle']);
  } catch (err) {
    return bad(err instanceof Error ? err.message : String(err));
  }
  const logger = createLogger();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // A stable name: a restarted process resumes its own pending events at once (others' are
  // claimed after --claim-idle).
  const consumer = values.consumer ?? hostname();
  // The groups exist before "started" is logged: events written from then on are never missed.
  const setup = createRedisClient(url, { maxRetriesPerRequest: 2 });
  setup.on('error', () => {});
  try {
    for (const e of endpoints)
      await ensureWebhookGroup(setup, keys, e.name, values['from-start'] === true ? '0' : '$');
  } catch (err) {
    return fail('webhooks', EXIT.TEMPFAIL, err instanceof Error ? err.message : String(err));
  } finally {
    setup.disconnect();
  }
  const loops = endpoints.map(async (endpoint) => {
    const redis = createRedisClient(url, { maxRetriesPerRequest: null });
    redis.on('error', (err: Error) =>
      logger.warn({ event: 'redis-error', err: err.message }, 'redis connection error'),
    );
    for (let restarts = 0; !stop.signal.aborted; restarts++) {
      try {
        await runWebhookConsumer({
          redis: restarts === 0 ? redis : redis.duplicate(),
          keys,
          endpoint,
          consumer,
          signal: stop.signal,
          logger: logger.child({ endpoint: endpoint.name }),
          startFrom: values['from-start'] === true ? '0' : '$',
          ...(base !== undefined ? { backoffBaseMs: base } : {}),
          ...(max !== undefined ? { backoffMaxMs: max } : {}),
          ...(idle !== undefined ? { claimIdleMs: idle * 1000 } : {}),
        });
      } catch (err) {
        logger.error(
          { event: 'webhook-loop-error', endpoint: endpoint.name, err: String(err) },
          'restarting in 1 s',
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  });
  logger.info(
    { event: 'webhooks-started', endpoints: endpoints.map((e) => e.name), consumer },
    `following delivery events for ${endpoints.length} endpoint(s)`,
  );
  await Promise.all(loops);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  logger.info({ event: 'webhooks-stopped' }, 'stopped');
  return 0;
}
