/**
 * A recipient's final outcome is journaled the moment it is settled, not when the whole attempt
 * ends: here mx1 takes a@ and defers b@ (KEEP), and while the attempt is still waiting on mx2's
 * slow greeting for b@, a@ is already "sent" in the journal. A crash at that point could not send
 * a@ a second time.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { readJournal } from '../../../src/workers/journal.ts';
import { createWorker } from '../../../src/workers/wiring.ts';
import type { WorkerRuntime } from '../../../src/workers/worker-runtime.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { until } from '../../support/wait.ts';

const block = allocateLoopbackBlock();
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let mx1: SmtpPeer;
let mx2: SmtpPeer;
let runtime: WorkerRuntime;
let mq: MailQueue;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  mx1 = await startSmtpPeer({
    host: block.addr(1),
    script: { rcpt: (a) => (a.startsWith('b@') ? '451 4.7.1 try the next one' : undefined) },
  });
  mx2 = await startSmtpPeer({ host: block.addr(2), port: mx1.port, script: { delayMs: { greeting: 2500 } } });
  dns = await startDnsServer({
    'two.test': {
      MX: [
        [10, 'mx1.two.test'],
        [20, 'mx2.two.test'],
      ],
    },
    'mx1.two.test': { A: [block.addr(1)] },
    'mx2.two.test': { A: [block.addr(2)] },
  });
  const options = {
    myhostname: 'client.test',
    dnsServers: [dns.server],
    inetProtocols: 'ipv4' as const,
    smtpTcpPort: String(mx1.port),
    smtpRandomizeAddresses: false,
    smtpTlsSecurityLevel: 'none' as const,
  };
  runtime = createWorker({ redisUrl: server.url, prefix: '{early}', options, logger: memoryLogger() });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix: '{early}', options });
});

afterAll(async () => {
  await runtime?.close(true);
  await mq?.close();
  redis?.disconnect();
  await mx1?.stop();
  await mx2?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('journals a recipient as sent while the same attempt is still trying the next MX', async () => {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['a@two.test', 'b@two.test'],
    message: 'Subject: early\r\n\r\nhello\r\n',
  });
  const first = await until('a@ journaled', async () => {
    const j = await readJournal(redis, mq.keys, queueId);
    return j.get('a@two.test');
  });
  expect(first.status).toBe('sent');
  // the attempt has not finished: mx2 has not even greeted yet, b@ is not final
  expect(mx2.messages).toHaveLength(0);
  expect((await readJournal(redis, mq.keys, queueId)).has('b@two.test')).toBe(false);
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 15_000 });
  expect(outcome.map((e) => [e.recipient, e.status]).sort()).toEqual([
    ['a@two.test', 'sent'],
    ['b@two.test', 'sent'],
  ]);
  expect(mx2.messages.map((m) => m.to)).toEqual([['b@two.test']]);
  // one event per outcome, none written twice
  const sentEvents = (await redis.xrange(mq.keys.events, '-', '+')).filter(([, f]) => f.includes('sent'));
  expect(sentEvents).toHaveLength(2);
});
