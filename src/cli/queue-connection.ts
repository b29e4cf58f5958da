/**
 * The connection options every queue command shares (--redis, --prefix, --config) and how a
 * command opens the queue client with them.
 *
 * Decides: precedence (flags, then REDIS_URL / MXQ_PREFIX, then the running embedded redis-server
 * of `mxq worker`, then the default), fail-fast connection settings for a command line tool, and
 * exit code 75 when Redis cannot be reached.
 * Never: parses a command's own flags.
 */
import type { DeliveryOptionsInput } from '../core/options.ts';
import { createMailQueue, type MailQueue } from '../queue/mail-queue.ts';
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, readMxqEnv } from '../runtime/env.ts';
import { findEmbeddedRedis } from '../workers/embedded-redis.ts';

export const CONNECTION_ARGS = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  config: { type: 'string' },
} as const;

export interface ConnectionArgs {
  redis?: string | undefined;
  prefix?: string | undefined;
  config?: string | undefined;
}

/** Opens the queue client a command works on (flags win over REDIS_URL / MXQ_PREFIX). */
export async function openQueueFromArgs(args: ConnectionArgs): Promise<MailQueue> {
  const env = readMxqEnv();
  let options: DeliveryOptionsInput = {};
  if (args.config !== undefined) {
    const { loadConfigFile } = await import('../runtime/config.ts');
    options = await loadConfigFile(args.config);
  }
  return createMailQueue({
    // Precedence: --redis, REDIS_URL, the running embedded redis-server of `mxq worker`, the default.
    redis: args.redis ?? env.redisUrl ?? (await findEmbeddedRedis()) ?? DEFAULT_REDIS_URL,
    prefix: args.prefix ?? env.prefix ?? DEFAULT_QUEUE_PREFIX,
    options,
    // A command line tool should fail within seconds when Redis is down.
    connectionOptions: {
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      retryStrategy: (n) => (n > 3 ? null : 250),
    },
  });
}

/** Runs a command body with an open queue, mapping failures to sysexits codes. */
export async function withQueue(
  name: string,
  args: ConnectionArgs,
  body: (q: MailQueue) => Promise<number>,
): Promise<number> {
  const q = await openQueueFromArgs(args);
  try {
    return await body(q);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const hint = /max retries|ECONNREFUSED|ETIMEDOUT|ENOTFOUND/.test(text) ? 'cannot reach Redis: ' : '';
    process.stderr.write(`mxq ${name}: ${hint}${text}\n`);
    return 75;
  } finally {
    await q.close();
  }
}
