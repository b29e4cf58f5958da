/**
 * The deliver queue's life cycle on a real redis-server and real BullMQ, with a scripted delivery
 * agent (the recipient's local part picks the outcome): requeue with backoff, expiry, journal,
 * events, one failure report per pass of the message (each failed recipient reported once), refcount
 * release, skip-final on re-run, malformed jobs, stall put-back.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRequest, AttemptResult, RecipientResult } from '../../../src/core/types.ts';
import { type DeliveryEvent, decodeDeliveryEvent } from '../../../src/queue/job-schema.ts';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { readJournal } from '../../../src/workers/journal.ts';
import { createWorkerRuntime, type WorkerRuntime } from '../../../src/workers/worker-runtime.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { until } from '../../support/wait.ts';

const OPTIONS = {
  myhostname: 'mta.test',
  minimalBackoffTime: 0.3,
  maximalBackoffTime: 0.5,
  maximalQueueLifetime: 2,
  bounceQueueLifetime: 2,
} as const;

function scriptedAgent() {
  const requests: AttemptRequest[] = [];
  const seen = new Map<string, number>();
  return {
    requests,
    async close() {},
    async deliver(req: AttemptRequest): Promise<AttemptResult> {
      requests.push(req);
      const recipients = req.recipients.map((recipient): RecipientResult => {
        const local = recipient.address.split('@')[0] ?? '';
        const n = (seen.get(recipient.address) ?? 0) + 1;
        seen.set(recipient.address, n);
        const relay = 'mx.test[127.0.0.1]:25';
        if (local.startsWith('hard')) {
          const reply = {
            code: 550,
            status: '5.1.1',
            enhanced: true,
            lines: ['550 5.1.1 no such user'],
            text: '550 5.1.1 no such user',
          };
          return {
            recipient,
            status: 'bounced',
            dsn: '5.1.1',
            relay,
            diagnostic: 'host mx.test[127.0.0.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)',
            reply,
            remoteMta: 'mx.test',
          };
        }
        if (local.startsWith('soft') || (local.startsWith('twice') && n <= 2)) {
          return {
            recipient,
            status: 'deferred',
            dsn: '4.4.1',
            relay,
            diagnostic: 'connect to mx.test[127.0.0.1]:25: Connection refused',
          };
        }
        return { recipient, status: 'sent', dsn: '2.0.0', relay, diagnostic: '250 2.0.0 Ok: queued' };
      });
      return { recipients, servers: [] };
    },
  };
}

async function allEvents(redis: Redis, key: string): Promise<DeliveryEvent[]> {
  const entries = await redis.xrange(key, '-', '+');
  return entries.map(([, fields]) => decodeDeliveryEvent(fields));
}

describe('deliver queue life cycle', () => {
  let server: RedisHandle;
  let redis: Redis;
  let agent: ReturnType<typeof scriptedAgent>;
  let runtime: WorkerRuntime;
  let mq: MailQueue;
  const prefix = '{lc}';
  const logger = memoryLogger();

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    agent = scriptedAgent();
    runtime = createWorkerRuntime({
      redisUrl: server.url,
      prefix,
      options: OPTIONS,
      logger,
      agent,
      concurrency: 4,
      stalledIntervalMs: 500,
      lockDurationMs: 1000,
      maxStalledCount: 0,
    });
    mq = createMailQueue({ redis: server.url, prefix, options: OPTIONS });
  });
  afterAll(async () => {
    await runtime?.close(true);
    await mq?.close();
    redis?.disconnect();
    await server?.stop();
  });

  it('skips recipients already final in the journal when a job runs again', async () => {
    const { queueId } = await mq.send({
      from: 'app@src.test',
      to: ['done@a.test', 'ok1@a.test'],
      message: 'Subject: t\r\n\r\nhi\r\n',
    });
    const entry = {
      recipient: 'done@a.test',
      status: 'sent',
      dsn: '2.0.0',
      relay: 'r',
      diagnostic: 'earlier run',
      at: 1,
      jobId: `${queueId}.1`,
    };
    await redis.hset(mq.keys.journal(queueId), 'done@a.test', JSON.stringify(entry));
    runtime.start();
    const journal = await until('journal', async () => {
      const j = await readJournal(redis, mq.keys, queueId);
      return j.size === 2 ? j : undefined;
    });
    expect(journal.get('done@a.test')?.diagnostic).toBe('earlier run');
    const asked = agent.requests
      .filter((r) => r.queueId === queueId)
      .flatMap((r) => r.recipients.map((x) => x.address));
    expect(asked).toEqual(['ok1@a.test']);
    await until('release', async () =>
      (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
    );
    expect(await redis.ttl(mq.keys.journal(queueId))).toBeGreaterThan(0);
  });

  it('requeues deferred recipients, expires the rest, reports each failure once, at the end of its pass', async () => {
    const to = ['ok@b.test', 'hard@b.test', 'twice@b.test', 'soft@b.test', 'ok@c.test'];
    const { queueId, jobIds } = await mq.send({
      from: 'app@src.test',
      to,
      message: 'Subject: three\r\n\r\nbody\r\n',
      dsn: { envid: 'ENV1' },
    });
    expect(jobIds).toHaveLength(2);
    const journal = await until('all final', async () => {
      const j = await readJournal(redis, mq.keys, queueId);
      return j.size === to.length ? j : undefined;
    });
    expect(Object.fromEntries([...journal].map(([k, v]) => [k, v.status]))).toEqual({
      'ok@b.test': 'sent',
      'hard@b.test': 'bounced',
      'twice@b.test': 'sent',
      'soft@b.test': 'expired',
      'ok@c.test': 'sent',
    });
    expect(journal.get('soft@b.test')?.dsn).toBe('4.4.1');
    // retries carried only the deferred subset, with attempts and arrival carried along
    const mine = agent.requests.filter((r) => r.queueId === queueId);
    expect(mine.some((r) => r.recipients.map((x) => x.address).join() === 'twice@b.test,soft@b.test')).toBe(
      true,
    );
    expect(new Set(mine.map((r) => r.arrivalTime)).size).toBe(1);
    expect(mine.every((r) => r.cacheHint === 'load+store')).toBe(true);
    // the 550 is reported at the end of the first pass, the expiry at the end of the last one: two
    // reports, null sender, to the original sender, each failed recipient in exactly one
    const reports = () =>
      agent.requests.filter(
        (r) =>
          r.sender === '' &&
          r.recipients[0]?.address === 'app@src.test' &&
          String(r.message).includes(queueId),
      );
    await until('both reports delivered', async () => (reports().length >= 2 ? true : undefined));
    const [first, second] = reports().map((r) => String(r.message));
    expect(first).toContain('Final-Recipient: rfc822; hard@b.test');
    expect(first).toContain('smtp; 550 5.1.1 no such user');
    expect(first).not.toContain('soft@b.test');
    expect(second).toContain('Final-Recipient: rfc822; soft@b.test');
    expect(second).not.toContain('hard@b.test');
    await new Promise((r) => setTimeout(r, 700));
    expect(reports()).toHaveLength(2);
    const events = (await allEvents(redis, mq.keys.events)).filter((e) => e.queueId === queueId);
    const kinds = (rcpt: string) => events.filter((e) => e.recipient === rcpt).map((e) => e.event);
    expect(kinds('twice@b.test')).toEqual(['deferred', 'deferred', 'sent']);
    expect(kinds('soft@b.test').at(-1)).toBe('expired');
    expect(kinds('hard@b.test')).toEqual(['bounced']);
    expect(
      logger.records.some(
        (r) => r.msg === `${queueId}: from=<app@src.test>, status=expired, returned to sender`,
      ),
    ).toBe(true);
    await until('message removed', async () =>
      (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
    );
  });

  it('never bounces a null-sender message', async () => {
    const { queueId } = await mq.send({
      from: '',
      to: ['hard2@d.test'],
      message: 'Subject: bounce\r\n\r\nx\r\n',
    });
    await until('final', async () =>
      (await readJournal(redis, mq.keys, queueId)).size === 1 ? true : undefined,
    );
    await until('released', async () =>
      (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
    );
    expect(
      agent.requests.filter((r) => String(r.message).includes(queueId) && r.queueId !== queueId),
    ).toHaveLength(0);
    expect(logger.records.some((r) => r.event === 'bounce-discarded' && r.queueId === queueId)).toBe(true);
  });

  it('fails a malformed job and never puts it back', async () => {
    const q = new Queue('deliver', { connection: redis, prefix });
    const job = await q.add('deliver', { v: 1, recipients: [] }, { jobId: 'malformed-1' });
    const state = await until('failed', async () =>
      (await job.getState()) === 'failed' ? 'failed' : undefined,
    );
    expect(state).toBe('failed');
    await new Promise((r) => setTimeout(r, 300));
    expect(await job.getState()).toBe('failed');
    await q.close();
  });

  it('bounces to a non-ASCII (SMTPUTF8) sender, then releases the message', async () => {
    const { queueId } = await mq.send({
      from: 'jörg@src.test',
      to: ['hard-utf8@e.test'],
      message: 'Subject: utf8\r\n\r\nx\r\n',
      smtputf8: true,
    });
    const bounce = await until('bounce to the UTF-8 sender', async () =>
      agent.requests.find(
        (r) => r.sender === '' && r.recipients[0]?.address === 'jörg@src.test' && r.smtputf8 === true,
      ),
    );
    expect(String(bounce.message)).toContain(queueId);
    await until('released', async () =>
      (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
    );
  });

  it('releases the message of a malformed job (the body does not outlive its jobs)', async () => {
    const p3 = '{lc3}';
    const rt3 = createWorkerRuntime({ redisUrl: server.url, prefix: p3, options: OPTIONS, logger, agent });
    const mq3 = createMailQueue({ redis: server.url, prefix: p3, options: OPTIONS });
    const q3 = new Queue('deliver', { connection: redis, prefix: p3 });
    try {
      const { queueId, jobIds } = await mq3.send({
        from: 'app@src.test',
        to: ['ok@f.test', 'ok@g.test'],
        message: 'Subject: m\r\n\r\nx\r\n',
      });
      const bad = await q3.getJob(jobIds[0] ?? '');
      await bad?.updateData({ v: 1, queueId, recipients: 'not a list' } as never);
      rt3.start();
      await until('good job delivered', async () =>
        (await readJournal(redis, mq3.keys, queueId)).has('ok@g.test') ? true : undefined,
      );
      await until('message released after the malformed job failed', async () =>
        (await redis.exists(mq3.keys.message(queueId))) === 0 ? true : undefined,
      );
      expect(await redis.zscore(mq3.keys.messageIndex, queueId)).toBeNull();
    } finally {
      await q3.close();
      await rt3.close(true);
      await mq3.close();
    }
  });

  it('puts back a job BullMQ failed for stalling too often; it is then delivered', async () => {
    const p2 = '{lc2}';
    const log2 = memoryLogger();
    const rt2 = createWorkerRuntime({
      redisUrl: server.url,
      prefix: p2,
      options: OPTIONS,
      logger: log2,
      agent,
      stalledIntervalMs: 300,
      lockDurationMs: 1000,
      maxStalledCount: 0,
    });
    const mq2 = createMailQueue({ redis: server.url, prefix: p2, options: OPTIONS });
    const grabberConn = new Redis(server.url, { maxRetriesPerRequest: null });
    const grabber = new Worker('deliver', null, {
      connection: grabberConn,
      prefix: p2,
      lockDuration: 300,
      autorun: false,
    });
    try {
      const { queueId } = await mq2.send({
        from: 'app@src.test',
        to: ['ok@stall.test'],
        message: 'Subject: s\r\n\r\nx\r\n',
      });
      // a worker takes the job and dies without ever renewing its lock
      const taken = await until(
        'job taken',
        async () => (await grabber.getNextJob('dead-worker-token')) ?? undefined,
      );
      expect(taken.data.queueId).toBe(queueId);
      rt2.start();
      const journal = await until('delivered after put-back', async () => {
        const j = await readJournal(redis, mq2.keys, queueId);
        return j.size === 1 ? j : undefined;
      });
      expect(journal.get('ok@stall.test')?.status).toBe('sent');
      expect(log2.records.some((r) => r.event === 'job-put-back')).toBe(true);
    } finally {
      await grabber.close(true);
      grabberConn.disconnect();
      await rt2.close(true);
      await mq2.close();
    }
  });
});
