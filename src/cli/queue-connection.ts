/**
 * The connection options every queue command shares (--redis, --prefix, --config) and how a
 * command opens the queue client with them.
 *
 * Decides: precedence (flags, then REDIS_URL / MXQ_PREFIX, then the running embedded redis-server
 * of `mxq worker`; never a guessed default: with none of these the command stops, so mail is never
 * queued where no worker looks), a PING before use, fail-fast connection settings for a command
 * line tool, and the exit codes of connection trouble (69 unreachable, 77 wrong password,
 * 78 bad --config, 66 missing --config file).
 * Never: parses a command's own flags.
 */
import type { DeliveryOptionsInput } from '../core/options.ts';
import { createMailQueue, type MailQueue, MailQueueInputError } from '../queue/mail-queue.ts';
import { probeRedis, RedisUnavailableError, redisTroubleOf } from '../queue/redis-probe.ts';
import { redisUrlProblem } from '../queue/redis-target.ts';
import { DEFAULT_QUEUE_PREFIX, readMxqEnv } from '../runtime/env.ts';
import { findEmbeddedRedis } from '../workers/embedded-redis.ts';
import { CliError, callerPath, EXIT, escapeControls } from './cli-kit.ts';

export const CONNECTION_ARGS = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  config: { type: 'string' },
} as const;

export const CONNECTION_USAGE =
  '  --redis URL      Redis to use (default: REDIS_URL, else the running embedded redis-server of `mxq worker`)\n' +
  '  --prefix P       queue key prefix (default: MXQ_PREFIX, else {mxq})\n' +
  '  --config FILE    JSON delivery options (docs/configuration.md), relative to the current directory\n';

export interface ConnectionArgs {
  redis?: string | undefined;
  prefix?: string | undefined;
  config?: string | undefined;
}

/** Delivery options from --config (path relative to the caller); CliError 66/78 on trouble. */
export async function optionsFromArgs(args: { config?: string | undefined }): Promise<DeliveryOptionsInput> {
  if (args.config === undefined) return {};
  const { loadConfigFile, ConfigFileMissing } = await import('../runtime/config.ts');
  try {
    return await loadConfigFile(callerPath(args.config));
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    throw new CliError(err instanceof ConfigFileMissing ? EXIT.NOINPUT : EXIT.CONFIG, text);
  }
}

/** The Redis a client command uses; CliError 69 when none is given and no embedded one runs. */
export async function redisFromArgs(args: ConnectionArgs): Promise<string> {
  const env = readMxqEnv();
  const url = args.redis ?? env.redisUrl ?? (await findEmbeddedRedis());
  if (url !== undefined) return url;
  throw new CliError(
    EXIT.UNAVAILABLE,
    'no Redis: the embedded redis-server of `mxq worker` is not running here (no var/redis/redis.url ' +
      'answering); start `mxq worker` first, or give --redis URL / REDIS_URL',
  );
}

/** Opens the queue client a command works on (flags win over REDIS_URL / MXQ_PREFIX). */
export async function openQueueFromArgs(args: ConnectionArgs): Promise<MailQueue> {
  const env = readMxqEnv();
  const options = await optionsFromArgs(args);
  const redis = await redisFromArgs(args);
  const badUrl = redisUrlProblem(redis);
  if (badUrl !== undefined) throw new CliError(EXIT.CONFIG, badUrl);
  try {
    await probeRedis(redis, { timeoutMs: 5000 });
  } catch (err) {
    if (err instanceof RedisUnavailableError)
      throw new CliError(err.kind === 'auth' ? EXIT.NOPERM : EXIT.UNAVAILABLE, err.message);
    throw err;
  }
  try {
    return createMailQueue({
      redis,
      prefix: args.prefix ?? env.prefix ?? DEFAULT_QUEUE_PREFIX,
      options,
      // A command line tool should fail within seconds when Redis is down.
      connectionOptions: {
        maxRetriesPerRequest: 1,
        connectTimeout: 5000,
        retryStrategy: (n) => (n > 3 ? null : 250),
      },
    });
  } catch (err) {
    throw new CliError(EXIT.CONFIG, err instanceof Error ? err.message : String(err));
  }
}

/** The exit code and one-line text for an error a queue command met. */
export function exitFor(err: unknown): { code: number; text: string } {
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof CliError) return { code: err.code, text };
  if (err instanceof MailQueueInputError) return { code: EXIT.DATAERR, text };
  const trouble = redisTroubleOf(text);
  if (trouble === 'auth') return { code: EXIT.NOPERM, text: `Redis refused authentication: ${text}` };
  if (trouble === 'unreachable') return { code: EXIT.UNAVAILABLE, text: `cannot reach Redis: ${text}` };
  return { code: EXIT.SOFTWARE, text };
}

/** Runs a command body with an open queue, mapping failures to sysexits codes (docs/cli.md). */
export async function withQueue(
  name: string,
  args: ConnectionArgs,
  body: (q: MailQueue) => Promise<number>,
): Promise<number> {
  let q: MailQueue;
  try {
    q = await openQueueFromArgs(args);
  } catch (err) {
    const { code, text } = exitFor(err);
    process.stderr.write(`mxq ${name}: ${escapeControls(text)}\n`);
    return code;
  }
  try {
    return await body(q);
  } catch (err) {
    const { code, text } = exitFor(err);
    process.stderr.write(`mxq ${name}: ${escapeControls(text)}\n`);
    return code;
  } finally {
    await q.close();
  }
}
