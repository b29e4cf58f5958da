import { Queue } from 'bullmq';
import { type Dashboard, startDashboard } from '../dashboard/server.ts';
import { closeRedisClient, createRedisClient } from '../queue/connection.ts';
import { queueKeys } from '../queue/keys.ts';
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, readMxqEnv } from '../runtime/env.ts';
import { ListenConfigError, parseListen } from '../runtime/listen-address.ts';
import { findEmbeddedRedis } from '../workers/embedded-redis.ts';
import { parseCommand } from './cli-kit.ts';

const USAGE =
  'usage: mxq dashboard [--listen [HOST:]PORT] [--redis URL] [--prefix P] [--token T] [--allow-actions]\n' +
  '  --listen         default 127.0.0.1:8025; a non-loopback address needs --token\n' +
  '  --token          bearer token (also MXQ_DASHBOARD_TOKEN, 16+ characters); browsers log in at /\n' +
  '  --allow-actions  let bull-board retry/remove/pause (needs --token); default read-only\n';

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'dashboard',
      usage: USAGE,
      options: {
        listen: { type: 'string' },
        redis: { type: 'string' },
        prefix: { type: 'string' },
        token: { type: 'string' },
        'allow-actions': { type: 'boolean' },
      },
    },
    argv,
  );
  if (parsed.exit !== undefined) return parsed.exit;
  const values: Record<string, string | boolean | undefined> = parsed.values;
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const env = readMxqEnv();
  const prefix = str('prefix') ?? env.prefix ?? DEFAULT_QUEUE_PREFIX;
  const token = str('token') ?? process.env.MXQ_DASHBOARD_TOKEN;
  const url = str('redis') ?? env.redisUrl ?? (await findEmbeddedRedis()) ?? DEFAULT_REDIS_URL;
  const redis = createRedisClient(url);
  const keys = queueKeys(prefix);
  const queue = new Queue(keys.deliverQueue, { connection: redis, prefix: keys.bullPrefix });
  queue.on('error', () => {});
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard({
      listen: parseListen(str('listen') ?? '127.0.0.1:8025', '--listen'),
      redis,
      queue,
      keys,
      prefix,
      allowActions: values['allow-actions'] === true,
      ...(token !== undefined ? { token } : {}),
    });
  } catch (err) {
    await queue.close();
    await closeRedisClient(redis);
    process.stderr.write(`mxq dashboard: ${err instanceof Error ? err.message : String(err)}\n`);
    const usage = err instanceof ListenConfigError || /^--allow-actions/.test(String((err as Error).message));
    return usage ? 64 : 69;
  }
  process.stderr.write(`mxq dashboard: serving ${dashboard.url}\n`);
  await new Promise<void>((done) => {
    process.once('SIGTERM', () => done());
    process.once('SIGINT', () => done());
  });
  await dashboard.close();
  await queue.close();
  await closeRedisClient(redis);
  return 0;
}
