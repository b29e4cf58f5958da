/**
 * One log line per change of a worker's Redis connection state, instead of one per failed retry.
 *
 * Decides: the state (`up` / `down`), that the first error after `up` logs one warning
 * (`redis-unavailable`, the error's first line, never a stack), that further errors while `down`
 * are only counted, and that the next `ready` logs `redis-reconnected` with how long it was down
 * and how many errors were swallowed.
 * Never: retries or closes connections itself (ioredis/BullMQ do), logs the Redis URL.
 */
import type { Logger } from '../core/ports.ts';

export interface RedisHealth {
  /** An error from any of the worker's Redis users (connection, BullMQ worker, queue). */
  error(err: unknown): void;
  /** A connection became ready. */
  ready(): void;
  isDown(): boolean;
}

export function createRedisHealth(logger: Logger, now: () => number = Date.now): RedisHealth {
  let down = false;
  let since = 0;
  let swallowed = 0;
  return {
    error(err) {
      if (down) {
        swallowed++;
        return;
      }
      down = true;
      since = now();
      swallowed = 0;
      const text = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
      logger.warn(
        { event: 'redis-unavailable', err: text },
        'redis unavailable: deliveries paused, retrying the connection',
      );
    },
    ready() {
      if (!down) return;
      down = false;
      logger.info(
        { event: 'redis-reconnected', downMs: now() - since, errors: swallowed + 1 },
        'redis reconnected: deliveries resume',
      );
    },
    isDown: () => down,
  };
}
