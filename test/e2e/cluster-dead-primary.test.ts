/**
 * Scenario: the cluster tier in Redis. Worker process A finds the primary MX dead and delivers
 * through the backup; A is gone; worker process B, sharing only Redis, skips the dead primary
 * without connecting to it.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { readJournal } from '../../src/workers/journal.ts';
import { type RawPeer, startDeadPeer } from '../integration/cluster/raw-peers.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, workerReady, writeConfig } from './helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2ecluster}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let dead: RawPeer;
let good: SmtpPeer;
let mq: MailQueue;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  dead = await startDeadPeer(block.addr(1), 25);
  good = await startSmtpPeer({ host: block.addr(2), port: 25 });
  dns = await startDnsServer({
    'c.test': {
      MX: [
        [10, 'mx1.c.test'],
        [20, 'mx2.c.test'],
      ],
    },
    'mx1.c.test': { A: [block.addr(1)] },
    'mx2.c.test': { A: [block.addr(2)] },
  });
  mq = createMailQueue({ redis: server.url, prefix, options: {} });
});

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await mq?.close();
  redis?.disconnect();
  await dead?.stop();
  await good?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

async function deliverWith(name: string, config: string): Promise<WorkerProcess> {
  const w = spawnWorker({ config, redis: server.url, prefix });
  workers.push(w);
  await workerReady(w);
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: [`${name}@c.test`],
    message: 'Subject: c\r\n\r\nx\r\n',
  });
  await until(`${name} delivered`, async () =>
    (await readJournal(redis, mq.keys, queueId)).get(`${name}@c.test`)?.status === 'sent' ? true : undefined,
  );
  return w;
}

it('a dead primary found by one worker process is skipped by another', async () => {
  const config = await writeConfig({
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    inetProtocols: 'ipv4',
    smtpRandomizeAddresses: false,
    smtpTlsSecurityLevel: 'none',
  });
  const a = await deliverWith('first', config);
  expect(dead.connections).toBe(1);
  await until('the dead mark in Redis', async () =>
    (await redis.exists(`${prefix}:nh:dead:smtp:[${block.addr(1)}]:25`)) === 1 ? true : undefined,
  );
  await stopWorker(a);
  const b = await deliverWith('second', config);
  expect(dead.connections).toBe(1);
  expect(b.output()).toContain('"event":"endpoint-skipped-dead"');
  expect(good.messages.map((m) => m.to)).toEqual([['first@c.test'], ['second@c.test']]);
}, 60_000);
