/**
 * The processor's early finish (processor.ts earlyFinish, run-store.ts finishRun `recorded`) on a
 * real Redis, with a scripted agent that settles every recipient during the attempt (as the SMTP
 * engine does at each 250): the terminal run's finish goes out behind the journal writes without
 * waiting for their replies. Normally the message is released with every entry and one event per
 * recipient; when the journal write is sent again after the finish (its EVALSHA answered NOSCRIPT
 * while the finish script was known), the finish finds an entry missing and changes nothing, and
 * the run finishes after the write: the journal still gets its TTL and nothing is recorded twice.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { AttemptRequest, AttemptResult, RecipientResult } from '../../../src/core/types.ts';
import type { DeliveryJobData } from '../../../src/queue/job-schema.ts';
import { createMailQueue } from '../../../src/queue/mail-queue.ts';
import { readJournal } from '../../../src/workers/journal.ts';
import { createDeliverProcessor, type DeliverJob } from '../../../src/workers/processor.ts';
import { finishRun } from '../../../src/workers/run-store.ts';
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

/** Sends every recipient, each settled as it is accepted. */
const settlingAgent = {
  async deliver(req: AttemptRequest): Promise<AttemptResult> {
    const recipients = req.recipients.map((recipient): RecipientResult => {
      const r: RecipientResult = {
        recipient,
        status: 'sent',
        dsn: '2.0.0',
        relay: 'mx.test[127.0.0.1]:25',
        diagnostic: '250 2.0.0 Ok: queued',
      };
      req.onRecipientFinal?.(r);
      return r;
    });
    return { recipients, servers: [] };
  },
};

async function installation(prefix: string) {
  const options = { myhostname: 'mta.test' };
  const mq = createMailQueue({ redis: server.url, prefix, options });
  const bull = new Queue<DeliveryJobData>('deliver', { connection: redis, prefix });
  const processor = createDeliverProcessor({
    redis,
    keys: mq.keys,
    opts: resolveOptions(options),
    agent: settlingAgent,
    notifications: mq,
    clock: { now: () => Date.now() },
    random: { next: () => 0.5 },
    logger: memoryLogger(),
  });
  const job = async (jobId: string): Promise<DeliverJob> => {
    const j = await bull.getJob(jobId);
    if (j === undefined) throw new Error(`no job ${jobId}`);
    return {
      id: jobId,
      data: j.data,
      updateData: async () => undefined,
      moveToDelayed: async () => undefined,
    };
  };
  const events = async (queueId: string) =>
    (await redis.xrange(mq.keys.events, '-', '+')).filter(([, f]) => f.includes(queueId)).length;
  return {
    mq,
    job,
    processor,
    events,
    close: async () => {
      await bull.close();
      await mq.close();
    },
  };
}

const TO = ['a@dst.test', 'b@dst.test', 'c@dst.test'];

it('a terminal run finishes behind its journal writes: released, every entry, one event each', async () => {
  const t = await installation('{ef1}');
  const { queueId, jobIds } = await t.mq.send({
    from: 's@src.test',
    to: TO,
    message: 'Subject: t\r\n\r\nx\r\n',
  });
  const result = await t.processor(await t.job(jobIds[0] ?? ''));
  expect(result).toMatchObject({ queueId, sent: 3, bounced: 0, expired: 0 });
  expect([...(await readJournal(redis, t.mq.keys, queueId)).keys()].sort()).toEqual(TO);
  expect(await t.events(queueId)).toBe(3);
  expect(await redis.exists(t.mq.keys.message(queueId))).toBe(0);
  expect(await redis.ttl(t.mq.keys.journal(queueId))).toBeGreaterThan(0);
  await t.close();
});

it('a journal write that lands after the finish (NOSCRIPT resend) keeps the finish from acting first', async () => {
  const t = await installation('{ef2}');
  const { queueId, jobIds } = await t.mq.send({
    from: 's@src.test',
    to: TO,
    message: 'Subject: t\r\n\r\nx\r\n',
  });
  const job = await t.job(jobIds[0] ?? '');
  // A server that lost its scripts, where another process has loaded the finish script again
  // (a finish on a message that does not exist changes nothing): the journal write's EVALSHA is
  // answered NOSCRIPT and sent again by text, after the finish's EVALSHA has run.
  await redis.script('FLUSH');
  expect(await finishRun(redis, t.mq.keys, { queueId: 'none', jobId: 'none.1', recorded: ['x'] })).toBe(
    'unrecorded',
  );
  const result = await t.processor(job);
  expect(result).toMatchObject({ queueId, sent: 3 });
  expect([...(await readJournal(redis, t.mq.keys, queueId)).keys()].sort()).toEqual(TO);
  expect(await t.events(queueId)).toBe(3);
  expect(await redis.exists(t.mq.keys.message(queueId))).toBe(0);
  // released after the write: the journal has its TTL (a finish before it would leave none)
  expect(await redis.ttl(t.mq.keys.journal(queueId))).toBeGreaterThan(0);
  await t.close();
});
