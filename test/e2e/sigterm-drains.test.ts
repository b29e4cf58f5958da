/**
 * Scenario: SIGTERM makes a worker stop taking jobs, finish the delivery in flight, and exit 0.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { readJournal } from '../../src/workers/journal.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, workerReady, writeConfig } from './helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2eterm}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peer: SmtpPeer;
let mq: MailQueue;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  peer = await startSmtpPeer({
    host: block.addr(1),
    script: { ehloName: 'mx.t.test', delayMs: { dot: 1500 } },
  });
  dns = await startDnsServer({ 't.test': { MX: [[10, 'mx.t.test']] }, 'mx.t.test': { A: [block.addr(1)] } });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpTlsSecurityLevel: 'none' as const,
  };
  mq = createMailQueue({ redis: server.url, prefix, options });
  worker = spawnWorker({
    config: await writeConfig(options),
    redis: server.url,
    prefix,
    extra: ['--drain-timeout', '10'],
  });
  await workerReady(worker);
});

afterAll(async () => {
  if (worker) await stopWorker(worker);
  await mq?.close();
  redis?.disconnect();
  await peer?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('SIGTERM drains the active delivery, then exits 0', async () => {
  const w = worker;
  if (w === undefined) throw new Error('no worker');
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['t1@t.test'],
    message: 'Subject: drain\r\n\r\nx\r\n',
  });
  await until('delivery in flight', async () =>
    peer.commands.some((c) => c.line.startsWith('DATA')) ? true : undefined,
  );
  w.proc.kill('SIGTERM');
  const code = await w.exited;
  expect(code).toBe(0);
  const journal = await readJournal(redis, mq.keys, queueId);
  expect(journal.get('t1@t.test')?.status).toBe('sent');
  expect(w.output()).toContain('"how":"drained"');
}, 20_000);
