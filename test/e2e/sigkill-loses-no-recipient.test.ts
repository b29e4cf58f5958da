/**
 * Scenario: a worker process is killed with SIGKILL in the middle of deliveries; another worker
 * process finishes the work. Every recipient ends final (sent) in the journal: none is lost.
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
const prefix = '{e2ekill}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peer: SmtpPeer;
let mq: MailQueue;
const workers: WorkerProcess[] = [];
let config = '';

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  // slow at the final dot, so that deliveries are in flight when the worker dies
  peer = await startSmtpPeer({
    host: block.addr(1),
    script: { ehloName: 'mx.slow.test', delayMs: { dot: 600 } },
  });
  const zone: Record<string, { MX?: Array<[number, string]>; A?: string[] }> = {
    'mx.slow.test': { A: [block.addr(1)] },
  };
  for (let i = 0; i < 6; i++) zone[`d${i}.test`] = { MX: [[10, 'mx.slow.test']] };
  dns = await startDnsServer(zone);
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpTlsSecurityLevel: 'none' as const,
    minimalBackoffTime: 0.3,
    maximalBackoffTime: 0.6,
  };
  config = await writeConfig(options);
  mq = createMailQueue({ redis: server.url, prefix, options });
});

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await mq?.close();
  redis?.disconnect();
  await peer?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('a worker killed with SIGKILL mid-run loses no recipient', async () => {
  const first = spawnWorker({ config, redis: server.url, prefix, extra: ['--concurrency', '6'] });
  workers.push(first);
  await workerReady(first);
  const to: string[] = [];
  for (let d = 0; d < 6; d++) for (let i = 0; i < 3; i++) to.push(`u${i}@d${d}.test`);
  const { queueId, jobIds } = await mq.send({
    from: 'app@src.test',
    to,
    message: 'Subject: kill\r\n\r\nx\r\n',
  });
  expect(jobIds).toHaveLength(6);
  await until('deliveries in flight', async () => (peer.connections >= 2 ? true : undefined));
  first.proc.kill('SIGKILL');
  await first.exited;
  const second = spawnWorker({ config, redis: server.url, prefix, extra: ['--concurrency', '6'] });
  workers.push(second);
  const journal = await until(
    'every recipient final',
    async () => {
      const j = await readJournal(redis, mq.keys, queueId);
      return j.size === to.length ? j : undefined;
    },
    18_000,
  );
  expect([...journal.values()].every((e) => e.status === 'sent')).toBe(true);
  expect(new Set([...journal.keys()])).toEqual(new Set(to));
  // every recipient reached the server at least once (at-least-once; duplicates only at the dot)
  const received = new Set(peer.messages.flatMap((m) => m.to));
  for (const r of to) expect(received.has(r)).toBe(true);
  // the killed worker's jobs came back through BullMQ's stall recovery in the second worker
  expect(second.output()).toContain('"job-stalled"');
  await until('message removed', async () =>
    (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
  );
}, 25_000);
