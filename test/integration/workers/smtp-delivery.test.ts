/**
 * The real worker (real delivery agent) against a real redis-server, a DNS server on loopback and
 * SMTP peers on 127.x.y.z: split per domain, delivered, partly deferred, requeued with a short
 * backoff, finally delivered; one bounce to the sender, delivered through the queue itself.
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
import { until } from '../../support/wait.ts';

const block = allocateLoopbackBlock();
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peers: SmtpPeer[] = [];
let port = 0;
let runtime: WorkerRuntime;
let mq: MailQueue;
let redis: Redis;
const logger = memoryLogger();
const softOnce = new Set<string>();

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  const p1 = await startSmtpPeer({ host: block.addr(1), script: { ehloName: 'mx.a.test' } });
  port = p1.port;
  const p2 = await startSmtpPeer({
    host: block.addr(2),
    port,
    script: {
      ehloName: 'mx.b.test',
      rcpt: (address) => {
        if (address.startsWith('hard')) return '550 5.1.1 <hard@b.test>: Recipient address rejected';
        if (address.startsWith('later') && !softOnce.has(address)) {
          softOnce.add(address);
          return '451 4.7.1 greylisted, try again';
        }
        return undefined;
      },
    },
  });
  peers = [p1, p2];
  dns = await startDnsServer({
    'a.test': { MX: [[10, 'mx.a.test']] },
    'src.test': { MX: [[10, 'mx.a.test']] },
    'b.test': { MX: [[10, 'mx.b.test']] },
    'c.test': { MX: [[10, 'mx.c.test']] },
    'mx.a.test': { A: [block.addr(1)] },
    'mx.b.test': { A: [block.addr(2)] },
    'mx.c.test': { A: [block.addr(3)] },
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(port),
    smtpConnectTimeout: 2,
    minimalBackoffTime: 0.3,
    maximalBackoffTime: 0.6,
    maximalQueueLifetime: 30,
    smtpTlsSecurityLevel: 'none' as const,
  };
  runtime = createWorker({ redisUrl: server.url, prefix: '{it}', options, logger, concurrency: 4 });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix: '{it}', options });
});

afterAll(async () => {
  await runtime?.close(true);
  await mq?.close();
  redis?.disconnect();
  for (const p of peers) await p.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('splits per domain, requeues the deferred subset, delivers, bounces once', async () => {
  const to = ['one@a.test', 'hard@b.test', 'later@b.test', 'ok@b.test', 'late@c.test'];
  const { queueId, jobIds } = await mq.send({
    from: 'app@src.test',
    to,
    message: 'Subject: three domains\r\n\r\nhello\r\n',
  });
  expect(jobIds).toHaveLength(3);
  // c.test has no server yet: its recipient is deferred (connection refused); then it appears
  await until('c.test deferred', async () => {
    const evs = await redis.xrange(mq.keys.events, '-', '+');
    return evs
      .map(([, f]) => decodeDeliveryEvent(f))
      .find((e) => e.recipient === 'late@c.test' && e.event === 'deferred');
  });
  peers.push(await startSmtpPeer({ host: block.addr(3), port, script: { ehloName: 'mx.c.test' } }));
  const journal = await until('all final', async () => {
    const j = await readJournal(redis, mq.keys, queueId);
    return j.size === to.length ? j : undefined;
  });
  expect(Object.fromEntries([...journal].map(([k, v]) => [k, v.status]))).toEqual({
    'one@a.test': 'sent',
    'hard@b.test': 'bounced',
    'later@b.test': 'sent',
    'ok@b.test': 'sent',
    'late@c.test': 'sent',
  });
  expect(journal.get('hard@b.test')?.dsn).toBe('5.1.1');
  // one bounce, from the null sender, to the original sender, delivered through the queue
  const bounce = await until('bounce delivered', async () =>
    peers[0]?.messages.find((m) => m.from === '' && m.body.toString().includes(queueId)),
  );
  expect(bounce.to).toEqual(['app@src.test']);
  const text = bounce.body.toString();
  expect(text).toContain('multipart/report');
  expect(text).toContain('Final-Recipient: rfc822; hard@b.test');
  expect(text).toContain('Diagnostic-Code: smtp; 550 5.1.1');
  // The human-readable part in Postfix's words: host, address, reply and the command it answered.
  expect(text).toContain(
    `<hard@b.test>: host mx.b.test[${block.addr(2)}] said: 550 5.1.1 <hard@b.test>: Recipient address rejected (in reply to RCPT TO command)`,
  );
  expect(peers[0]?.messages.filter((m) => m.from === '' && m.body.toString().includes(queueId))).toHaveLength(
    1,
  );
  const events = (await redis.xrange(mq.keys.events, '-', '+'))
    .map(([, f]) => decodeDeliveryEvent(f))
    .filter((e) => e.queueId === queueId);
  const seq = (r: string) => events.filter((e) => e.recipient === r).map((e) => e.event);
  expect(seq('later@b.test')).toEqual(['deferred', 'sent']);
  expect(seq('late@c.test').at(-1)).toBe('sent');
  expect(seq('late@c.test')[0]).toBe('deferred');
  expect(seq('hard@b.test')).toEqual(['bounced']);
  // ok@b.test was delivered exactly once (the retry carried only the deferred subset)
  const peerB = peers[1];
  expect(peerB?.messages.filter((m) => m.to.includes('ok@b.test'))).toHaveLength(1);
});
