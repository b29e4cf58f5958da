/**
 * send() against a real redis-server: what is written (body once, counter, index, N jobs), and
 * that bad input or a failing transaction leaves nothing behind.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryJobData, MessageMeta } from '../../../src/queue/job-schema.ts';
import { queueKeys } from '../../../src/queue/keys.ts';
import { createMailQueue, MailQueueInputError, type SendInput } from '../../../src/queue/mail-queue.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let redis: RedisHandle;
let admin: Redis;
let bull: Queue<DeliveryJobData>;
const keys = queueKeys('{mxq}');

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  admin = new Redis(redis.url);
  bull = new Queue<DeliveryJobData>('deliver', {
    connection: { host: redis.host, port: redis.port },
    prefix: '{mxq}',
  });
});
afterAll(async () => {
  await bull.close();
  admin.disconnect();
  await redis.stop();
});
beforeEach(async () => {
  await admin.flushall();
});

describe('send()', () => {
  it('stores the body once and one job per next-hop with the right data', async () => {
    const q = createMailQueue({ redis: redis.url, options: { defaultDestinationRecipientLimit: 50 } });
    const body = Buffer.concat([Buffer.from('Subject: t\r\n\r\n'), Buffer.from([0xc3, 0xa9, 0x0d, 0x0a])]);
    const { queueId, jobIds } = await q.send({
      from: 'sender@origin.test',
      to: ['a@one.test', 'b@two.test', 'c@ONE.test'],
      message: body,
      dsn: { ret: 'HDRS', envid: 'env-1' },
    });
    await q.close();
    expect(jobIds).toEqual([`${queueId}.1`, `${queueId}.2`]);
    expect(await admin.hgetBuffer(keys.message(queueId), 'body')).toEqual(body);
    const meta = JSON.parse((await admin.hget(keys.message(queueId), 'meta')) ?? '') as MessageMeta;
    expect(meta).toMatchObject({
      queueId,
      sender: 'sender@origin.test',
      size: body.length,
      eightBit: true,
      jobIds,
    });
    expect(await admin.get(keys.messageJobs(queueId))).toBe('2');
    expect(await admin.zrange(keys.messageIndex, 0, -1)).toEqual([queueId]);
    const jobs = await Promise.all(jobIds.map((id) => bull.getJob(id)));
    expect(jobs.map((j) => [j?.data.domain, j?.data.recipients.map((r) => r.address)])).toEqual([
      ['one.test', ['a@one.test', 'c@ONE.test']],
      ['two.test', ['b@two.test']],
    ]);
    expect(jobs[0]?.data).toMatchObject({ v: 1, queueId, attempts: 0, dsn: { ret: 'HDRS', envid: 'env-1' } });
    expect(JSON.stringify(jobs[0]?.data)).not.toContain('Subject');
    expect(await bull.getWaitingCount()).toBe(2);
  });

  it('splits by the recipient limit and accepts ioredis options', async () => {
    const q = createMailQueue({
      redis: { host: redis.host, port: redis.port },
      options: { defaultDestinationRecipientLimit: 3 },
    });
    const to = Array.from({ length: 7 }, (_, i) => `r${i}@dest.test`);
    const { queueId, jobIds } = await q.send({ from: '', to, message: 'x\n' });
    await q.close();
    expect(jobIds).toHaveLength(3);
    const counts = await Promise.all(
      jobIds.map(async (id) => (await bull.getJob(id))?.data.recipients.length),
    );
    expect(counts).toEqual([3, 3, 1]);
    expect(await admin.get(keys.messageJobs(queueId))).toBe('3');
  });

  it('leaves nothing in Redis for bad input in any field', async () => {
    const q = createMailQueue({ redis: redis.url, options: { messageSizeLimit: 100 } });
    const ok: SendInput = { from: 'a@x.test', to: ['b@y.test'], message: 'hi\r\n' };
    const bad: Array<Partial<SendInput>> = [
      { from: 'a\r\n@x.test' },
      { to: [] },
      { to: ['b@y.test', 'c\0@y.test'] },
      { to: [`${'l'.repeat(65)}@y.test`] },
      { to: ['b@[999.1.1.1]'] },
      { message: 'x'.repeat(101) },
      { message: Buffer.from([0x61, 0x00]) },
      { nexthop: '[127.0.0.1' },
      { transport: 'lmtp' },
      { dsn: { ret: 'ALL' as 'FULL' } },
      { dsn: { envid: 'x'.repeat(101) } },
      { dsn: { notify: ['NEVER', 'DELAY'] } },
      { dsn: { orcpt: 'o@x.test\n' } },
    ];
    for (const b of bad) {
      await expect(q.send({ ...ok, ...b })).rejects.toBeInstanceOf(MailQueueInputError);
    }
    expect(await admin.dbsize()).toBe(0);
    await q.close();
  });

  it('removes what was written when the transaction fails', async () => {
    await admin.set(keys.messageIndex, 'not a zset'); // makes ZADD fail inside the MULTI
    const q = createMailQueue({ redis: redis.url });
    await expect(
      q.send({ from: 'a@x.test', to: ['b@y.test', 'c@z.test'], message: 'hi\r\n' }),
    ).rejects.toThrow(/WRONGTYPE/);
    await q.close();
    const left = await admin.keys('*');
    expect(left.filter((k) => k.includes(':msg') || /:deliver:[0-9A-Za-z]{14}\.\d+$/.test(k))).toEqual([]);
    expect(await bull.getJobCounts('wait', 'delayed', 'active')).toEqual({ wait: 0, delayed: 0, active: 0 });
  });

  it('gives every message its own increasing queue id', async () => {
    const q = createMailQueue({ redis: redis.url });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push((await q.send({ from: 'a@x.test', to: ['b@y.test'], message: 'm\n' })).queueId);
    await q.close();
    expect([...ids].sort()).toEqual(ids);
    expect(await admin.zrange(keys.messageIndex, 0, -1)).toEqual(ids);
  });

  it('a burst of send() calls before the connection is ready waits on one listener, no warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const q = createMailQueue({ redis: redis.url });
    try {
      const sent = await Promise.all(
        Array.from({ length: 40 }, () => q.send({ from: 'a@x.test', to: ['b@y.test'], message: 'm\n' })),
      );
      expect(new Set(sent.map((s) => s.queueId)).size).toBe(40);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await q.close();
    }
  });
});
