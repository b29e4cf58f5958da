/**
 * The processor with the real delivery agent and the real Redis lease store: the destination
 * lease is asked for as the job starts (agent.reserve), beside loadRun, and every run ends it.
 * A run that makes no attempt (message gone, every recipient already final, an error loading the
 * message) gives its granted lease back at once without feedback (the window and the average hold
 * time stay as they were); a run that attempts uses that one grant and releases it with the
 * attempt's feedback. The next-hop is a closed loopback port, so an attempt that ran by mistake
 * would show as a failure.
 */
import { DelayedError, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { DestinationLeases } from '../../../src/core/ports.ts';
import { createLeaseStore, destinationKeys } from '../../../src/destinations/lease-store.ts';
import type { DeliveryJobData } from '../../../src/queue/job-schema.ts';
import { createMailQueue } from '../../../src/queue/mail-queue.ts';
import { createDeliveryAgent } from '../../../src/workers/agent.ts';
import { createDeliverProcessor, type DeliverJob } from '../../../src/workers/processor.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { freePort } from '../../support/net-util.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let server: RedisHandle;
let redis: Redis;
let leaseRedis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { enableAutoPipelining: true });
  leaseRedis = new Redis(server.url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
});
afterAll(async () => {
  redis?.disconnect();
  leaseRedis?.disconnect();
  await server?.stop();
});

/** The real store, with every answered acquire and every release (feedback, hold time) noted. */
function recording(store: DestinationLeases) {
  const calls: string[] = [];
  const leases: DestinationLeases = {
    ...store,
    async acquire(...args) {
      const grant = await store.acquire(...args);
      calls.push(`acquire ${grant.kind}`);
      return grant;
    },
    async release(dest, leaseId, p, fb, now, heldMs) {
      calls.push(`release ${fb.kind} ${heldMs !== undefined && heldMs >= 0 ? 'held' : 'no-hold'}`);
      return store.release(dest, leaseId, p, fb, now, heldMs);
    },
  };
  return { calls, leases };
}

/** One installation (prefix) with a queue, a real agent with leases, and the processor. */
async function installation(prefix: string) {
  const port = await freePort();
  const options = {
    myhostname: 'mta.test',
    relayhost: `[127.0.0.1]:${port}`,
    defaultDestinationConcurrencyLimit: 5,
    initialDestinationConcurrency: 2,
    minimalBackoffTime: 60,
    maximalBackoffTime: 60,
  };
  const opts = resolveOptions(options);
  const logger = memoryLogger();
  const rec = recording(createLeaseStore(leaseRedis, prefix));
  const agent = createDeliveryAgent(opts, { logger, leases: rec.leases });
  const mq = createMailQueue({ redis: server.url, prefix, options });
  const bull = new Queue<DeliveryJobData>('deliver', { connection: redis, prefix });
  const processor = createDeliverProcessor({
    redis,
    keys: mq.keys,
    opts,
    agent,
    notifications: mq,
    clock: { now: () => Date.now() },
    random: { next: () => 0.5 },
    logger,
  });
  const dest = `smtp:[127.0.0.1]:${port}`;
  const k = destinationKeys(prefix);
  const delayed: number[] = [];
  return {
    mq,
    calls: rec.calls,
    /** The job as the processor sees it (moving it to the delayed set is only noted). */
    async job(jobId: string): Promise<DeliverJob> {
      const j = await bull.getJob(jobId);
      if (j === undefined) throw new Error(`no job ${jobId}`);
      return {
        id: jobId,
        data: j.data,
        updateData: async () => undefined,
        moveToDelayed: async (at: number) => {
          delayed.push(at);
        },
      };
    },
    processor,
    delayed,
    inUse: () => redis.zcard(k.leases(dest)),
    state: () => redis.hmget(k.state(dest), 'window', 'failCohorts', 'holdMs'),
    /** Closing the agent waits for the releases in flight. */
    async close() {
      await agent.close();
      await bull.close();
      await mq.close();
    },
  };
}

const MESSAGE = 'Subject: t\r\n\r\nhi\r\n';

it('a job whose message is gone gives its granted lease back at once, without feedback', async () => {
  const t = await installation('{lrr1}');
  const { queueId, jobIds } = await t.mq.send({ from: 'a@src.test', to: ['b@dst.test'], message: MESSAGE });
  const job = await t.job(jobIds[0] ?? '');
  await redis.del(t.mq.keys.message(queueId));
  const result = await t.processor(job);
  await t.close();
  expect(result.messageGone).toBe(true);
  expect(t.calls).toEqual(['acquire granted', 'release none no-hold']);
  expect(await t.inUse()).toBe(0);
  expect(await t.state()).toEqual(['2', null, null]);
});

it('a job whose recipients are all final gives its granted lease back at once, without feedback', async () => {
  const t = await installation('{lrr2}');
  const { queueId, jobIds } = await t.mq.send({
    from: 'a@src.test',
    to: ['b@dst.test', 'c@dst.test'],
    message: MESSAGE,
  });
  const job = await t.job(jobIds[0] ?? '');
  for (const r of ['b@dst.test', 'c@dst.test']) {
    const entry = {
      recipient: r,
      status: 'sent',
      dsn: '2.0.0',
      relay: 'x',
      diagnostic: 'earlier',
      at: 1,
      jobId: 'x',
    };
    await redis.hset(t.mq.keys.journal(queueId), r, JSON.stringify(entry));
  }
  const result = await t.processor(job);
  await t.close();
  expect(result).toMatchObject({ queueId, sent: 0, bounced: 0, expired: 0 });
  expect(t.calls).toEqual(['acquire granted', 'release none no-hold']);
  expect(await t.inUse()).toBe(0);
  expect(await t.state()).toEqual(['2', null, null]);
  // the terminal run released the message as before
  expect(await redis.exists(t.mq.keys.message(queueId))).toBe(0);
});

it('a run whose message cannot be loaded (Redis error) gives its lease back and is delayed', async () => {
  const t = await installation('{lrr3}');
  const { queueId, jobIds } = await t.mq.send({ from: 'a@src.test', to: ['b@dst.test'], message: MESSAGE });
  const job = await t.job(jobIds[0] ?? '');
  // a message key of the wrong type: loadRun's HMGET fails with WRONGTYPE
  await redis.del(t.mq.keys.message(queueId));
  await redis.set(t.mq.keys.message(queueId), 'not a hash');
  await expect(t.processor(job)).rejects.toBeInstanceOf(DelayedError);
  await t.close();
  expect(t.delayed).toHaveLength(1);
  expect(t.calls).toEqual(['acquire granted', 'release none no-hold']);
  expect(await t.inUse()).toBe(0);
});

it('an attempt uses the one grant asked for at the start and releases it with its feedback', async () => {
  const t = await installation('{lrr4}');
  const { jobIds } = await t.mq.send({ from: 'a@src.test', to: ['b@dst.test'], message: MESSAGE });
  const job = await t.job(jobIds[0] ?? '');
  // the next-hop refuses the connection: the recipient is deferred and the job delayed
  await expect(t.processor(job)).rejects.toBeInstanceOf(DelayedError);
  await t.close();
  expect(t.delayed).toHaveLength(1);
  expect(t.calls).toEqual(['acquire granted', 'release fail held']);
  expect(await t.inUse()).toBe(0);
  const [window, failCohorts, holdMs] = await t.state();
  expect([window, failCohorts]).toEqual(['1', '0.5']);
  expect(holdMs).not.toBeNull();
});
