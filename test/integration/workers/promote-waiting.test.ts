/**
 * How many of the slots a lease release frees are handed to delayed jobs (processor.ts
 * leaseWaiter): a promoted job joins the back of BullMQ's `wait` list, so the slots the jobs
 * already waiting there can fill are left to them and only the rest are asked for; the list's
 * length is counted in the background, not on the release's path. Real Redis and the processor,
 * with a scripted agent that plays the destination gate (it asks the request's waiter as the gate
 * does at a release, and promotes the ids a release script would return).
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

/** Two runs of one processor; each release frees two slots, with `waiting` jobs in `wait`. */
async function handOff(prefix: string, waiting: number): Promise<{ asked: number[]; promoted: string[] }> {
  const options = { myhostname: 'mta.test' };
  const mq = createMailQueue({ redis: server.url, prefix, options });
  const bull = new Queue<DeliveryJobData>('deliver', { connection: redis, prefix });
  const promoted: string[] = [];
  const asked: number[] = [];
  let counted = 0;
  const agent = {
    async deliver(req: RoutedAttemptRequest): Promise<AttemptResult> {
      const n = req.waiter?.handoff(2) ?? -1;
      asked.push(n);
      req.waiter?.promote(['w.1', 'w.2'].slice(0, n));
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

it('with the wait list empty every freed slot is handed on and its job promoted', async () => {
  expect(await handOff('{pw1}', 0)).toEqual({ asked: [2, 2], promoted: ['w.1', 'w.2', 'w.1', 'w.2'] });
});

it('jobs already waiting take the freed slots first: only the slots they cannot fill are handed on', async () => {
  // before the first count nothing is known: both slots are handed on
  expect(await handOff('{pw2}', 1)).toEqual({ asked: [2, 1], promoted: ['w.1', 'w.2', 'w.1'] });
  expect(await handOff('{pw3}', 5)).toEqual({ asked: [2, 0], promoted: ['w.1', 'w.2'] });
});
