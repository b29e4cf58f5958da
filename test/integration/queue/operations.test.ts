/**
 * list / flush / remove against a real redis-server. A BullMQ Worker in the test plays the
 * delivery worker's part: it defers a job (lastDeferral + moveToDelayed) or holds it active.
 */
import { DelayedError, type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryJobData } from '../../../src/queue/job-schema.ts';
import { queueKeys } from '../../../src/queue/keys.ts';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let redis: RedisHandle;
let admin: Redis;
let q: MailQueue;
const keys = queueKeys('{mxq}');

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});
beforeEach(async () => {
  await admin.flushall();
  q = createMailQueue({ redis: redis.url });
  return () => q.close();
});

/** Runs `fn` for each job until `count` jobs were handled (bounded by a timeout). */
async function withWorker(
  count: number,
  fn: (job: Job<DeliveryJobData>, token: string) => Promise<void>,
): Promise<Worker<DeliveryJobData>> {
  let handled = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const worker = new Worker<DeliveryJobData>(
    'deliver',
    async (job, token) => {
      handled++;
      if (handled >= count) done();
      await fn(job, token ?? '');
    },
    { connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: null }, prefix: '{mxq}' },
  );
  await Promise.race([
    finished,
    new Promise((_, rej) => setTimeout(() => rej(new Error('worker idle')), 10_000)),
  ]);
  return worker;
}

async function deferJob(job: Job<DeliveryJobData>, token: string): Promise<void> {
  const lastDeferral = Object.fromEntries(
    job.data.recipients.map((r) => [
      r.address,
      { dsn: '4.4.1', diagnostic: 'connect refused', relay: 'none' },
    ]),
  );
  await job.updateData({ ...job.data, attempts: job.data.attempts + 1, lastDeferral });
  await job.moveToDelayed(Date.now() + 3_600_000, token);
  throw new DelayedError();
}

describe('list()', () => {
  it('shows queued messages with sender, size and per-recipient status', async () => {
    const a = await q.send({ from: 'a@x.test', to: ['b@y.test', 'c@z.test'], message: 'hello\n' });
    const b = await q.send({ from: '', to: ['d@y.test'], message: 'x\r\n' });
    const list = await q.list();
    expect(list.map((e) => e.queueId)).toEqual([a.queueId, b.queueId]);
    expect(list[0]).toMatchObject({ sender: 'a@x.test', size: 7, active: false });
    expect(list[0]?.recipients).toEqual([
      { address: 'b@y.test', status: 'queued', jobId: `${a.queueId}.1` },
      { address: 'c@z.test', status: 'queued', jobId: `${a.queueId}.2` },
    ]);
    expect(list[1]?.sender).toBe('');
  });

  it('shows deferral reasons, final journal entries; flush makes deferred jobs due', async () => {
    const { queueId } = await q.send({ from: 'a@x.test', to: ['b@y.test', 'c@z.test'], message: 'hello\n' });
    const entry = {
      recipient: 'c@z.test',
      status: 'sent',
      dsn: '2.0.0',
      relay: 'mx[127.0.0.1]:25',
      diagnostic: '250 ok',
      at: 1,
      jobId: `${queueId}.2`,
    };
    await admin.hset(keys.journal(queueId), 'c@z.test', JSON.stringify(entry));
    const worker = await withWorker(1, async (job, token) => {
      if (job.id === `${queueId}.1`) await deferJob(job, token);
    });
    await worker.close();
    const [listed] = await q.list();
    expect(listed?.recipients).toEqual([
      { address: 'b@y.test', status: 'deferred', jobId: `${queueId}.1`, reason: 'connect refused' },
      { address: 'c@z.test', status: 'sent', jobId: `${queueId}.2`, reason: '250 ok' },
    ]);
    expect(await q.flush()).toBe(1);
    expect(await q.flush()).toBe(0);
    const [after] = await q.list();
    expect(after?.recipients[0]?.status).toBe('queued');
  });
});

describe('remove()', () => {
  it('deletes one message: jobs, body, counter, journal and index entry', async () => {
    const keep = await q.send({ from: 'a@x.test', to: ['k@y.test'], message: 'keep\n' });
    const gone = await q.send({ from: 'a@x.test', to: ['b@y.test', 'c@z.test'], message: 'gone\n' });
    await admin.hset(keys.journal(gone.queueId), 'x', '{}');
    expect(await q.remove(gone.queueId)).toBe(1);
    const left = await admin.keys(`*${gone.queueId}*`);
    expect(left).toEqual([]);
    expect(await admin.zrange(keys.messageIndex, 0, -1)).toEqual([keep.queueId]);
    expect(await q.remove(gone.queueId)).toBe(0);
    expect(await admin.exists(keys.message(keep.queueId))).toBe(1);
  });

  it("leaves none of the workers' keys (finalized-jobs set, bounce markers) behind", async () => {
    const m = await q.send({ from: 'a@x.test', to: ['b@y.test', 'c@z.test'], message: 'gone\n' });
    // as a worker leaves them after job .1 bounced and was counted, while job .2 waits
    await admin.sadd(`${keys.message(m.queueId)}:done`, `${m.queueId}.1`);
    await admin.set(`${keys.message(m.queueId)}:bounce:${m.queueId}.1`, 'sent:X', 'EX', 604_800);
    await admin.set(keys.messageJobs(m.queueId), '1');
    await q.remove(m.queueId);
    expect(await admin.keys(`*${m.queueId}*`)).toEqual([]);
  });

  it('does not count twice a removed job the workers had already counted', async () => {
    const m = await q.send({ from: 'a@x.test', to: ['a@1.test', 'b@2.test', 'c@3.test'], message: 'x\n' });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const worker = await withWorker(1, async () => {
      await held;
    });
    await worker.pause(true).catch(() => {});
    // job .2 was counted terminal, then its worker died before BullMQ completed it (re-run pending)
    await admin.sadd(`${keys.message(m.queueId)}:done`, `${m.queueId}.2`);
    await admin.set(keys.messageJobs(m.queueId), '2');
    expect(await q.removeReport(m.queueId)).toEqual({ deleted: 0, busy: [m.queueId] });
    // only the active job .1 is left to count
    expect(await admin.get(keys.messageJobs(m.queueId))).toBe('1');
    release();
    await worker.close();
  });

  it('ALL deletes every message, but never an active job', async () => {
    const busy = await q.send({ from: 'a@x.test', to: ['c@y.test', 'd@z.test'], message: 'one\n' });
    await q.send({ from: 'a@x.test', to: ['b@y.test'], message: 'two\n' });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const worker = await withWorker(1, async () => {
      await held;
    });
    await worker.pause(true).catch(() => {});
    const report = await q.removeReport('ALL');
    // The worker holds the first job (FIFO): that message stays with it; its other job goes.
    expect(report).toEqual({ deleted: 1, busy: [busy.queueId] });
    expect(await admin.exists(keys.message(busy.queueId))).toBe(1);
    expect(await admin.zrange(keys.messageIndex, 0, -1)).toEqual([busy.queueId]);
    expect(await admin.get(keys.messageJobs(busy.queueId))).toBe('1');
    expect(await admin.exists(`{mxq}:deliver:${busy.queueId}.2`)).toBe(0);
    release();
    await worker.close();
  });
});
