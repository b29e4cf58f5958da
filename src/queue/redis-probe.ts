/**
 * One quick look at a Redis before a command or a worker starts using it.
 *
 * Decides: whether Redis answers PING within a few seconds, and why not: `unreachable` (refused,
 * timed out, unknown host, closed) or `auth` (WRONGPASS / NOAUTH: the password is wrong or
 * missing), with a one-line message that never contains the URL's password.
 * Never: retries, changes anything in Redis, logs.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { createRedisClient } from './connection.ts';
import { clusterTarget, redisTarget } from './redis-target.ts';
import { splitRedisUrlQuery } from './redis-tls.ts';

export type RedisTrouble = 'unreachable' | 'auth';

export class RedisUnavailableError extends Error {
  readonly kind: RedisTrouble;
  constructor(kind: RedisTrouble, message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
    this.kind = kind;
  }
}

const AUTH_TROUBLE = /WRONGPASS|NOAUTH|invalid password|invalid username|AUTH failed|NOPERM/i;

/** The kind of trouble an ioredis/BullMQ error text describes, if it is a connection problem. */
export function redisTroubleOf(text: string): RedisTrouble | undefined {
  if (AUTH_TROUBLE.test(text)) return 'auth';
  if (
    /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|Connection is closed|max retries|connect timeout|Stream isn't writeable/i.test(
      text,
    )
  )
    return 'unreachable';
  return undefined;
}

/** "127.0.0.1:6379" for a URL or options, never the password. */
export function redisWhere(input: string | RedisOptions): string {
  if (typeof input !== 'string') {
    if (input.sentinels !== undefined) return `sentinel master ${input.name ?? '?'}`;
    return `${input.host ?? '127.0.0.1'}:${input.port ?? 6379}`;
  }
  try {
    // without the query: naming the place reads no TLS file
    const { url } = splitRedisUrlQuery(input);
    const cluster = clusterTarget(url);
    if (cluster !== undefined) return `cluster ${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
    const target = redisTarget(url);
    if (target.url === undefined) return redisWhere(target.options);
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'the configured Redis';
  }
}

/** PING Redis once; throws RedisUnavailableError naming the cause. */
export async function probeRedis(
  input: string | RedisOptions,
  opts: { timeoutMs?: number; extra?: RedisOptions } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const base: RedisOptions = {
    ...opts.extra,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    // Sentinel: ask each sentinel once, then give up (the default retries forever)
    sentinelRetryStrategy: () => null,
  };
  const client =
    typeof input === 'string' ? createRedisClient(input, base) : new Redis({ ...input, ...base });
  let lastError = '';
  client.on('error', (err: Error) => {
    lastError = err.message;
  });
  const where = redisWhere(input);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const text = `${err instanceof Error ? err.message : String(err)} ${lastError}`;
    const kind = redisTroubleOf(text) ?? 'unreachable';
    const why = (lastError || text).trim();
    throw new RedisUnavailableError(
      kind,
      kind === 'auth'
        ? `Redis at ${where} refused authentication (${why.split('\n')[0]}): check the password in REDIS_URL/--redis`
        : `cannot reach Redis at ${where} (${why.split('\n')[0]})`,
    );
  } finally {
    client.disconnect();
  }
}
