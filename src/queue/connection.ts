/**
 * Redis connections of the queue client.
 *
 * Decides: how a `redis://` / `rediss://` URL, a `redis-sentinel://` URL (redis-target.ts) or ioredis
 * options (Sentinel: `{ sentinels, name }`) become an ioredis client; producer connections keep ioredis's fail-fast retry default.
 * Never: logs the URL (it may carry a password); reads the environment.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { redisTarget } from './redis-target.ts';

export type RedisConnectionInput = string | RedisOptions;

/** A new ioredis client. Connection errors surface on commands; the 'error' event is observed. */
export function createRedisClient(input: RedisConnectionInput, extra: RedisOptions = {}): Redis {
  const target = typeof input === 'string' ? redisTarget(input) : input;
  const client = typeof target === 'string' ? new Redis(target, extra) : new Redis({ ...target, ...extra });
  client.on('error', () => {
    // ioredis retries by itself; a failing command rejects with the cause.
  });
  return client;
}

/** Closes a client: QUIT when connected, else disconnect. Never throws. */
export async function closeRedisClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}
