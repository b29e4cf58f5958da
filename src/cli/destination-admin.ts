/**
 * What `mxq destinations`, `mxq suspend` and `mxq resume` share: the connection (--redis,
 * --prefix, --config, with the queue commands' precedence), the options in force (for limits),
 * and how a destination is written on the command line.
 *
 * Decides: that a destination given without a transport is SMTP (`example.com` =
 * `smtp:example.com`), lower-case, as the workers key it; exit 69 when Redis cannot be reached.
 * Never: changes a destination itself (src/destinations/lease-store.ts does).
 */
import type { Redis } from 'ioredis';
import { type ResolvedOptions, resolveOptions } from '../core/options.ts';
import { createRedisClient } from '../queue/connection.ts';
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, readMxqEnv } from '../runtime/env.ts';
import { findEmbeddedRedis } from '../workers/embedded-redis.ts';
import { EXIT, fail } from './cli-kit.ts';
import { type ConnectionArgs, exitFor } from './queue-connection.ts';

export interface AdminContext {
  redis: Redis;
  prefix: string;
  opts: ResolvedOptions;
}

/** `example.com` → `smtp:example.com`; `lmtp:unix:/p` stays; lower-case. */
export function destinationArg(raw: string): string {
  const d = raw.trim().toLowerCase();
  return /^(smtp|lmtp):/.test(d) ? d : `smtp:${d}`;
}

/** Runs a command body with Redis open; failures print `mxq NAME: ...` (69 unreachable, 77 auth). */
export async function withDestinations(
  name: string,
  args: ConnectionArgs,
  body: (ctx: AdminContext) => Promise<number>,
): Promise<number> {
  let opts: ResolvedOptions;
  try {
    const { loadConfigFile } = await import('../runtime/config.ts');
    opts = resolveOptions(args.config === undefined ? {} : await loadConfigFile(args.config));
  } catch (err) {
    return fail(name, EXIT.CONFIG, err instanceof Error ? err.message : String(err));
  }
  const env = readMxqEnv();
  const url = args.redis ?? env.redisUrl ?? (await findEmbeddedRedis()) ?? DEFAULT_REDIS_URL;
  const redis = createRedisClient(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (n) => (n > 3 ? null : 250),
  });
  redis.on('error', () => {});
  try {
    return await body({ redis, prefix: args.prefix ?? env.prefix ?? DEFAULT_QUEUE_PREFIX, opts });
  } catch (err) {
    const { code, text } = exitFor(err);
    return fail(name, code, text);
  } finally {
    redis.disconnect();
  }
}
