/**
 * The environment variables mxq's queue commands read, in one place.
 *
 * Decides: the names (REDIS_URL, MXQ_PREFIX) and their defaults.
 * Never: reads anything else from process.env (config.ts reads its own); logs values (a Redis
 * URL may carry a password).
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE_PREFIX = '{mxq}';

export interface MxqEnv {
  /** REDIS_URL, or undefined when unset/empty. */
  redisUrl?: string;
  /** MXQ_PREFIX, or undefined when unset/empty. */
  prefix?: string;
}

/** Reads the queue-related environment (pass an env object in tests). */
export function readMxqEnv(env: NodeJS.ProcessEnv = process.env): MxqEnv {
  const out: MxqEnv = {};
  if (env.REDIS_URL) out.redisUrl = env.REDIS_URL;
  if (env.MXQ_PREFIX) out.prefix = env.MXQ_PREFIX;
  return out;
}
