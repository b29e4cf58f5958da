/**
 * best_mx_transport through the queue: mail for a domain whose best MX is this host "loops back to
 * myself"; with bestMxTransport set, the worker hands the recipients to that transport and
 * next-hop at once instead of bouncing them (spec §4.3).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeDeliveryEvent } from '../../../src/queue/job-schema.ts';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { readJournal } from '../../../src/workers/journal.ts';
import { createWorker } from '../../../src/workers/wiring.ts';
import type { WorkerRuntime } from '../../../src/workers/worker-runtime.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';

const block = allocateLoopbackBlock();
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let inbound: SmtpPeer;
let runtime: WorkerRuntime;
let mq: MailQueue;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  inbound = await startSmtpPeer({ host: block.addr(5), script: { ehloName: 'inbound.test' } });
  dns = await startDnsServer({
    'self.test': { MX: [[10, 'me.self.test']] },
    'me.self.test': { A: [block.addr(9)] },
  });
  const options = {
    myhostname: 'me.self.test',
    dnsServers: [dns.server],
    inetProtocols: 'ipv4' as const,
    proxyInterfaces: [block.addr(9)],
    bestMxTransport: `smtp:[${block.addr(5)}]:${inbound.port}`,
    smtpTlsSecurityLevel: 'none' as const,
    minimalBackoffTime: 30,
  };
  runtime = createWorker({ redisUrl: server.url, prefix: '{hand}', options, logger: memoryLogger() });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix: '{hand}', options });
});

afterAll(async () => {
  await runtime?.close(true);
  await mq?.close();
  redis?.disconnect();
  await inbound?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('hands mail that loops back to myself to best_mx_transport, without waiting for a retry', async () => {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['user@self.test'],
    message: 'Subject: local\r\n\r\nhello\r\n',
  });
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 10_000 });
  expect(outcome.map((e) => [e.recipient, e.status, e.relay])).toEqual([
    ['user@self.test', 'sent', `${block.addr(5)}[${block.addr(5)}]:${inbound.port}`],
  ]);
  expect(inbound.messages.map((m) => m.to)).toEqual([['user@self.test']]);
  const journal = await readJournal(redis, mq.keys, queueId);
  expect(journal.get('user@self.test')?.status).toBe('sent');
  const events = (await redis.xrange(mq.keys.events, '-', '+')).map(([, f]) => decodeDeliveryEvent(f));
  expect(events.map((e) => [e.event, e.dsn])).toEqual([
    ['deferred', '4.4.6'],
    ['sent', '2.0.0'],
  ]);
});
