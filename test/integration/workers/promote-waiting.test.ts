/**
 * What a queued job tells the lease release about BullMQ's `wait` list (processor.ts leaseWaiter):
 * the jobs queued there, counted in the background (not on the release's path, at most every
 * 0.5 s; 0 before the first count), and the promotion of the ids the release hands a slot to.
 * Real Redis and the processor, with a scripted agent that plays the destination gate (it asks the
 * request's waiter as the gate does at a release, and promotes ids as a release script returns).
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { AttemptResult, RecipientResult } from '../../../src/core/types.ts';
import type { DeliveryJobData } from '../../../src/queue/job-schema.ts';
import { createMailQueue } from '../../../src/queue/mail-queue.ts';
import type { RoutedAttemptRequest } from '../../../src/workers/agent.ts';
import { createDeliverProcessor } from '../../../src/workers/processor.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let server: RedisHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { enableAutoPipelining: true });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** Two runs of one processor, with `waiting` jobs in `wait`. */
async function handOff(prefix: string, waiting: number): Promise<{ asked: number[]; promoted: string[] }> {
  const options = { myhostname: 'mta.test' };
  const mq = createMailQueue({ redis: server.url, prefix, options });
  const bull = new Queue<DeliveryJobData>('deliver', { connection: redis, prefix });
  const promoted: string[] = [];
  const asked: number[] = [];
  let counted = 0;
  const agent = {
    async deliver(req: RoutedAttemptRequest): Promise<AttemptResult> {
      asked.push(req.waiter?.queued() ?? -1);
      req.waiter?.promote(['w.1']);
      const recipients = req.recipients.map(
        (recipient): RecipientResult => ({
          recipient,
          status: 'sent',
          dsn: '2.0.0',
          relay: 'mx.test[127.0.0.1]:25',
          diagnostic: '250 2.0.0 Ok',
        }),
      );
      return { recipients, servers: [] };
    },
  };
  const processor = createDeliverProcessor({
    redis,
    keys: mq.keys,
    opts: resolveOptions(options),
    agent,
    notifications: mq,
    clock: { now: () => Date.now() },
    random: { next: () => 0.5 },
    logger: memoryLogger(),
    promote: async (id) => {
      promoted.push(id);
    },
    waitingJobs: async () => {
      counted++;
      return waiting;
    },
  });
  for (const to of ['a@dst.test', 'b@dst.test']) {
    const { jobIds } = await mq.send({ from: 's@src.test', to: [to], message: 'Subject: t\r\n\r\nx\r\n' });
    const j = await bull.getJob(jobIds[0] ?? '');
    if (j === undefined) throw new Error('no job');
    await processor({
      id: jobIds[0] ?? '',
      data: j.data,
      updateData: async () => undefined,
      moveToDelayed: async () => undefined,
    });
    // the count asked for by the first release has come back before the second job
    for (let i = 0; i < 50 && counted === 0; i++) await new Promise((r) => setTimeout(r, 10));
  }
  await bull.close();
  await mq.close();
  // one count for both releases (the second came within the estimate's age)
  expect(counted).toBe(1);
  return { asked, promoted };
}

it('a release is told the wait list as last counted: 0 before the first count, then the count', async () => {
  expect(await handOff('{pw1}', 0)).toEqual({ asked: [0, 0], promoted: ['w.1', 'w.1'] });
  expect(await handOff('{pw2}', 3)).toEqual({ asked: [0, 3], promoted: ['w.1', 'w.1'] });
});
