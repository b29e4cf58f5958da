/**
 * Scenario (issues 9 and 11): `mxq requeue` (postsuper -r). A message deferred for an hour by a
 * worker whose relayhost answers 451, stored in the old job shape (next-hop chosen at enqueue),
 * is requeued by the command (a real child process): the job is migrated and made due, and a
 * worker started with a different relayhost delivers it at once, not an hour later.
 * Also: a queue id that matches nothing exits 66, `all` in lower case exits 64.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeliveryJobData } from '../../src/queue/job-schema.ts';
import { queueKeys } from '../../src/queue/keys.ts';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, writeConfig } from './helpers.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/cli/main.ts');
const PREFIX = '{e2erequeue}';
const block = allocateLoopbackBlock();
let server: RedisHandle;
let redis: Redis;
let greylist: SmtpPeer;
let other: SmtpPeer;
let mq: MailQueue;
let queue: Queue<DeliveryJobData>;
const workers: WorkerProcess[] = [];

const base = { myhostname: 'mta.test', smtpTlsSecurityLevel: 'none' as const, dnsServers: ['127.0.0.1:9'] };
/** A deferred job waits an hour: only requeue can make it due within the test. */
const hour = { minimalBackoffTime: '1h', maximalBackoffTime: '1h' };

function mxq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [MAIN, 'requeue', '--redis', server.url, '--prefix', PREFIX, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      },
    );
  });
}

async function worker(relay: string): Promise<WorkerProcess> {
  const w = spawnWorker({
    config: await writeConfig({ ...base, ...hour, relayhost: relay }),
    redis: server.url,
    prefix: PREFIX,
  });
  workers.push(w);
  await until(
    'worker started',
    async () => (w.output().includes('"worker-started"') ? true : undefined),
    60_000,
  );
  return w;
}

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  greylist = await startSmtpPeer({
    host: block.addr(1),
    script: { rcpt: '451 4.7.1 greylisted, try later' },
  });
  other = await startSmtpPeer({ host: block.addr(2), script: { ehloName: 'other.test' } });
  mq = createMailQueue({ redis: server.url, prefix: PREFIX });
  const keys = queueKeys(PREFIX);
  queue = new Queue<DeliveryJobData>(keys.deliverQueue, { connection: redis, prefix: keys.bullPrefix });
});

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await queue?.close();
  await mq?.close();
  redis?.disconnect();
  for (const p of [greylist, other]) await p?.stop();
  await server?.stop();
  block.release();
});

it('a deferred old-shape job is migrated, made due and delivered by the new relayhost', {
  timeout: 240_000,
}, async () => {
  const first = await worker(`[${block.addr(1)}]:${greylist.port}`);
  const { queueId, jobIds } = await mq.send({
    from: 'app@example.com',
    to: ['late@moved.invalid'],
    message: 'Subject: hi\r\n\r\nhello\r\n',
  });
  const jobId = jobIds[0] ?? '';
  await until(
    'deferred for an hour',
    async () => ((await queue.getJobState(jobId)) === 'delayed' ? true : undefined),
    60_000,
  );
  first.proc.kill('SIGTERM');
  await first.exited;
  // The shape an older mxq stored: the recipient domain as next-hop, no `domain` field.
  const job = (await queue.getJob(jobId)) as Job<DeliveryJobData>;
  const { domain: _domain, ...rest } = job.data;
  await job.updateData({ ...rest, nexthop: 'moved.invalid', transport: 'smtp' } as DeliveryJobData);
  expect((await queue.getJob(jobId))?.data.domain).toBeUndefined();

  await worker(`[${block.addr(2)}]:${other.port}`);
  expect(await queue.getJobState(jobId)).toBe('delayed');
  const r = await mxq([queueId, '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ requeued: 1, due: 1, migrated: 1, busy: [], missing: [] });

  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 60_000 });
  expect(outcome.map((e) => [e.status, e.relay])).toEqual([
    ['sent', `${block.addr(2)}[${block.addr(2)}]:${other.port}`],
  ]);
  expect(greylist.messages).toEqual([]);
});

it('a queue id that matches nothing exits 66; lower-case all exits 64', { timeout: 120_000 }, async () => {
  const none = await mxq(['ABCDEFGHJK0123', '--json']);
  expect(none.code).toBe(66);
  expect(JSON.parse(none.stdout)).toMatchObject({ requeued: 0, missing: ['ABCDEFGHJK0123'] });
  expect(none.stderr).toContain('ABCDEFGHJK0123: no such message');
  const lower = await mxq(['all']);
  expect(lower.code).toBe(64);
  expect(lower.stderr).toContain('write ALL in capitals');
});
