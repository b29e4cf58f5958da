/**
 * destinationKey 'mx-hosts': two domains hosted by the same MX hosts share one destination (one
 * limit), with a real worker (in-process), real Redis, DNS and SMTP sink on loopback.
 */

import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listDestinations } from '../../../src/destinations/lease-store.ts';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createWorker } from '../../../src/workers/wiring.ts';
import type { WorkerRuntime } from '../../../src/workers/worker-runtime.ts';
import { type CountingSink, startCountingSink } from '../../support/counting-sink.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

const block = allocateLoopbackBlock();
const prefix = '{mxkey}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let sink: CountingSink;
let mq: MailQueue;
let worker: WorkerRuntime;

beforeAll(async () => {
  server = await startRedis({ appendonly: false });
  redis = new Redis(server.url);
  sink = await startCountingSink({ host: block.addr(1) });
  dns = await startDnsServer({
    'one.test': { MX: [[10, 'mx.shared.test']] },
    'two.test': { MX: [[10, 'MX.shared.test']] },
    'mx.shared.test': { A: [block.addr(1)] },
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(sink.port),
    smtpTlsSecurityLevel: 'none' as const,
    destinationKey: 'mx-hosts' as const,
  };
  worker = createWorker({ redisUrl: server.url, prefix, options, logger: createLogger({ level: 'silent' }) });
  worker.start();
  mq = createMailQueue({ redis: server.url, prefix });
});

afterAll(async () => {
  await worker?.close();
  await mq?.close();
  redis?.disconnect();
  await sink?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('two domains with the same MX hosts count against one destination', async () => {
  const { queueId } = await mq.send({
    from: 'a@x.test',
    to: ['u@one.test', 'v@two.test'],
    message: 'Subject: k\r\n\r\nx\r\n',
  });
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 60_000 });
  expect(outcome.map((e) => e.status)).toEqual(['sent', 'sent']);
  const dests = await listDestinations(redis, prefix, Date.now());
  expect(dests.map((d) => d.destination)).toEqual(['smtp:mx=mx.shared.test']);
}, 120_000);
