/**
 * The failure report is per message and per pass (Postfix spec §10.1, issue 4), with the real
 * worker against a real redis-server, a DNS server on loopback and SMTP peers on 127.x.y.z:
 * failures at two next-hops make one report; a hard bounce is reported at the end of its pass,
 * before a greylisted co-recipient of the same job is delivered, and never reported again; a
 * null-sender message's failures are logged once and never produce a report.
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
const prefix = '{pr}';
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peerA: SmtpPeer;
const peers: SmtpPeer[] = [];
let runtime: WorkerRuntime;
let mq: MailQueue;
let redis: Redis;
const logger = memoryLogger();
/** What happened, in order, as the peers saw it. */
const seen: string[] = [];
let greylistings = 0;

const reportsFor = (queueId: string) =>
  peerA.messages.filter((m) => m.from === '' && m.body.toString().includes(queueId));
const finalRecipients = (body: Buffer) =>
  [...body.toString().matchAll(/Final-Recipient: rfc822; (\S+)/g)].map((x) => x[1]).sort();

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  peerA = await startSmtpPeer({
    host: block.addr(1),
    script: {
      ehloName: 'mx.a.test',
      rcpt: (address) => {
        seen.push(`A rcpt ${address}`);
        return undefined;
      },
    },
  });
  const port = peerA.port;
  const rejecting = (name: string) => (address: string) => {
    if (address.startsWith('hard')) return `550 5.1.1 <${address}>: Recipient address rejected`;
    if (address.startsWith('grey')) {
      // greylisted until the report of its co-recipient's 550 has arrived (at most 5 times)
      const reported = peerA.messages.some((m) => m.from === '' && m.body.toString().includes('hardg@'));
      if (!reported && greylistings < 5) {
        greylistings++;
        return '451 4.7.1 greylisted, try again';
      }
      seen.push(`${name} accepted ${address}`);
    }
    return undefined;
  };
  peers.push(
    peerA,
    await startSmtpPeer({
      host: block.addr(2),
      port,
      script: { ehloName: 'mx.b.test', rcpt: rejecting('B') },
    }),
    await startSmtpPeer({
      host: block.addr(3),
      port,
      script: { ehloName: 'mx.c.test', rcpt: rejecting('C') },
    }),
  );
  dns = await startDnsServer({
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
  runtime = createWorker({ redisUrl: server.url, prefix, options, logger, concurrency: 4 });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix, options });
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

async function released(queueId: string): Promise<void> {
  await until('message released', async () =>
    (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
  );
  expect(await redis.exists(mq.keys.messagePass(queueId), mq.keys.messageReported(queueId))).toBe(0);
}

it('failures at two next-hops: exactly one report, listing both', async () => {
  const to = ['hard1@b.test', 'ok1@b.test', 'hard1@c.test', 'ok1@c.test'];
  const { queueId, jobIds } = await mq.send({
    from: 'app@src.test',
    to,
    message: 'Subject: two\r\n\r\nx\r\n',
  });
  expect(jobIds).toHaveLength(2);
  await until('report delivered', async () => (reportsFor(queueId).length > 0 ? true : undefined));
  await released(queueId);
  await new Promise((r) => setTimeout(r, 800)); // room for a second report to show up
  const reports = reportsFor(queueId);
  expect(reports).toHaveLength(1);
  expect(reports[0]?.to).toEqual(['app@src.test']);
  expect(finalRecipients(reports[0]?.body ?? Buffer.alloc(0))).toEqual(['hard1@b.test', 'hard1@c.test']);
});

it('reports a 550 at the end of its pass, before its greylisted co-recipient is delivered, once', async () => {
  seen.length = 0;
  const to = ['hardg@b.test', 'grey@b.test'];
  const { queueId, jobIds } = await mq.send({
    from: 'app@src.test',
    to,
    message: 'Subject: grey\r\n\r\nx\r\n',
  });
  expect(jobIds).toHaveLength(1);
  const journal = await until('all final', async () => {
    const j = await readJournal(redis, mq.keys, queueId);
    return j.size === to.length ? j : undefined;
  });
  expect(journal.get('hardg@b.test')?.status).toBe('bounced');
  expect(journal.get('grey@b.test')?.status).toBe('sent');
  const events = (await redis.xrange(mq.keys.events, '-', '+'))
    .map(([, f]) => decodeDeliveryEvent(f))
    .filter((e) => e.queueId === queueId && e.recipient === 'grey@b.test')
    .map((e) => e.event);
  expect(events[0]).toBe('deferred');
  expect(events.at(-1)).toBe('sent');
  // the report reached the sender's server before the greylisted recipient was accepted
  const reportAt = seen.indexOf('A rcpt app@src.test');
  expect(reportAt).toBeGreaterThanOrEqual(0);
  expect(reportAt).toBeLessThan(seen.indexOf('B accepted grey@b.test'));
  await released(queueId);
  await new Promise((r) => setTimeout(r, 800));
  const reports = reportsFor(queueId);
  expect(reports).toHaveLength(1);
  expect(finalRecipients(reports[0]?.body ?? Buffer.alloc(0))).toEqual(['hardg@b.test']);
});

it('a null-sender message: its failures are logged once, never reported', async () => {
  const to = ['hardn@b.test', 'hardn@c.test'];
  const { queueId, jobIds } = await mq.send({ from: '', to, message: 'Subject: a bounce\r\n\r\nx\r\n' });
  expect(jobIds).toHaveLength(2);
  await until('final', async () =>
    (await readJournal(redis, mq.keys, queueId)).size === to.length ? true : undefined,
  );
  await released(queueId);
  await new Promise((r) => setTimeout(r, 500));
  expect(peers.flatMap((p) => p.messages).filter((m) => m.body.toString().includes(queueId))).toHaveLength(0);
  const discarded = logger.records.filter((r) => r.event === 'bounce-discarded' && r.queueId === queueId);
  expect(discarded).toHaveLength(1);
  expect(discarded[0]?.recipients).toEqual(to);
});
