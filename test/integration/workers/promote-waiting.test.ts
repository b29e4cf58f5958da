/**
 * Which of the jobs a lease release hands its slots to are promoted (processor.ts leaseWaiter):
 * a promoted job joins the back of BullMQ's `wait` list, so the slots the jobs already waiting
 * there can fill are left to them and only the rest are promoted. Real Redis and the processor,
 * with a scripted agent that plays the release's hand-off (it calls the request's waiter as the
 * destination gate does with the ids the release script returned).
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

/** The release handed its slots to these waiting jobs, with `waiting` jobs already in `wait`. */
async function handOff(prefix: string, handed: string[], waiting: number): Promise<string[]> {
  const options = { myhostname: 'mta.test' };
  const mq = createMailQueue({ redis: server.url, prefix, options });
  const bull = new Queue<DeliveryJobData>('deliver', { connection: redis, prefix });
  const promoted: string[] = [];
  let counted = 0;
  const agent = {
    async deliver(req: RoutedAttemptRequest): Promise<AttemptResult> {
      req.waiter?.promote(handed);
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
  const { jobIds } = await mq.send({
    from: 's@src.test',
    to: ['a@dst.test'],
    message: 'Subject: t\r\n\r\nx\r\n',
  });
  const j = await bull.getJob(jobIds[0] ?? '');
  if (j === undefined) throw new Error('no job');
  await processor({
    id: jobIds[0] ?? '',
    data: j.data,
    updateData: async () => undefined,
    moveToDelayed: async () => undefined,
  });
  for (let i = 0; i < 50 && counted === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setImmediate(r));
  await bull.close();
  await mq.close();
  expect(counted).toBe(1);
  return promoted;
}

it('with the wait list empty every handed job is promoted', async () => {
  expect(await handOff('{pw1}', ['w.1', 'w.2'], 0)).toEqual(['w.1', 'w.2']);
});

it('jobs already waiting take the freed slots first: only the slots they cannot fill are promoted', async () => {
  expect(await handOff('{pw2}', ['w.1', 'w.2'], 1)).toEqual(['w.1']);
  expect(await handOff('{pw3}', ['w.1', 'w.2'], 5)).toEqual([]);
});
