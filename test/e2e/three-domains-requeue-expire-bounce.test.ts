/**
 * Scenario: a message to three domains through a real `mxq worker` process: split per domain,
 * delivered, partly deferred, requeued, finally delivered or expired; one failure report to the
 * sender per pass with failures (the 550 at the end of the first pass, the expiry at the end of the
 * last), each failed recipient in exactly one; events for every step. A null-sender message that fails is never bounced.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { readJournal } from '../../src/workers/journal.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import {
  eventsOf,
  spawnWorker,
  stopWorker,
  until,
  type WorkerProcess,
  workerReady,
  writeConfig,
} from './helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2e3d}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peerA: SmtpPeer;
let peerB: SmtpPeer;
let peerC: SmtpPeer | undefined;
let worker: WorkerProcess;
let mq: MailQueue;
const greylisted = new Set<string>();

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  peerA = await startSmtpPeer({ host: block.addr(1), script: { ehloName: 'mx.a.test' } });
  peerB = await startSmtpPeer({
    host: block.addr(2),
    port: peerA.port,
    script: {
      ehloName: 'mx.b.test',
      rcpt: (address) => {
        if (address.startsWith('nobody'))
          return '550 5.1.1 <nobody@b.test>: Recipient address rejected: User unknown';
        if (address.startsWith('never')) return '451 4.3.0 Mailbox temporarily unavailable';
        if (!greylisted.has(address)) {
          greylisted.add(address);
          return '451 4.7.1 Greylisted, come back later';
        }
        return undefined;
      },
    },
  });
  dns = await startDnsServer({
    'a.test': { MX: [[10, 'mx.a.test']] },
    'src.test': { MX: [[10, 'mx.a.test']] },
    'b.test': { MX: [[10, 'mx.b.test']] },
    'c.test': { MX: [[10, 'mx.c.test']] },
    'mx.a.test': { A: [block.addr(1)] },
    'mx.b.test': { A: [block.addr(2)] },
    'mx.c.test': { A: [block.addr(3)] }, // nothing listens at first: connection refused
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peerA.port),
    smtpConnectTimeout: 2,
    smtpTlsSecurityLevel: 'none' as const,
    minimalBackoffTime: 0.4,
    maximalBackoffTime: 0.8,
    maximalQueueLifetime: 3,
    bounceQueueLifetime: 3,
  };
  const config = await writeConfig(options);
  worker = spawnWorker({ config, redis: server.url, prefix });
  await workerReady(worker);
  mq = createMailQueue({ redis: server.url, prefix, options });
});

afterAll(async () => {
  if (worker) await stopWorker(worker);
  await mq?.close();
  redis?.disconnect();
  await peerA?.stop();
  await peerB?.stop();
  await peerC?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('delivers, requeues, expires and reports each failure once, with events for every step', async () => {
  const to = ['ann@a.test', 'bob@b.test', 'nobody@b.test', 'never@b.test', 'cy@c.test'];
  const { queueId, jobIds } = await mq.send({
    from: 'app@src.test',
    to,
    message: 'Subject: hello\r\n\r\nthree domains\r\n',
  });
  expect(jobIds).toHaveLength(3);
  // c.test's server is down at first (deferred: connection refused), then comes up
  await until('c.test deferred', async () =>
    (await eventsOf(redis, mq.keys.events, queueId)).find(
      (e) => e.recipient === 'cy@c.test' && e.event === 'deferred',
    ),
  );
  peerC = await startSmtpPeer({ host: block.addr(3), port: peerA.port, script: { ehloName: 'mx.c.test' } });
  const journal = await until('every recipient final', async () => {
    const j = await readJournal(redis, mq.keys, queueId);
    return j.size === to.length ? j : undefined;
  });
  expect(Object.fromEntries([...journal].map(([k, v]) => [k, `${v.status} ${v.dsn}`]))).toEqual({
    'ann@a.test': 'sent 2.0.0',
    'bob@b.test': 'sent 2.0.0',
    'nobody@b.test': 'bounced 5.1.1',
    'never@b.test': 'expired 4.3.0',
    'cy@c.test': 'sent 2.0.0',
  });
  const bounces = () => peerA.messages.filter((m) => m.from === '' && m.body.toString().includes(queueId));
  await until('both reports delivered', async () => (bounces().length >= 2 ? true : undefined));
  await until('message removed', async () =>
    (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
  );
  await new Promise((r) => setTimeout(r, 800)); // room for a duplicate to show up
  const all = bounces();
  expect(all).toHaveLength(2);
  expect(all.map((m) => m.to)).toEqual([['app@src.test'], ['app@src.test']]);
  const listed = (i: number) =>
    [...(all[i]?.body.toString() ?? '').matchAll(/Final-Recipient: rfc822; (\S+)/g)].map((x) => x[1]);
  expect(listed(0)).toEqual(['nobody@b.test']);
  expect(listed(1)).toEqual(['never@b.test']);
  expect(all[0]?.body.toString()).toContain('Diagnostic-Code: smtp; 550 5.1.1');
  expect(all[1]?.body.toString()).toContain('Status: 4.3.0');
  const events = await eventsOf(redis, mq.keys.events, queueId);
  const seq = (r: string) => events.filter((e) => e.recipient === r).map((e) => e.event);
  expect(seq('ann@a.test')).toEqual(['sent']);
  expect(seq('bob@b.test')).toEqual(['deferred', 'sent']);
  expect(seq('nobody@b.test')).toEqual(['bounced']);
  expect(seq('never@b.test').at(-1)).toBe('expired');
  expect(seq('never@b.test').filter((e) => e === 'deferred').length).toBeGreaterThanOrEqual(2);
  expect(seq('cy@c.test')[0]).toBe('deferred');
  expect(seq('cy@c.test').at(-1)).toBe('sent');
  expect(worker.output()).toContain(`${queueId}: from=<app@src.test>, status=expired, returned to sender`);
  // the bounce itself went through the queue and was delivered (sent in its own journal)
  expect(peerB.messages.filter((m) => m.to.includes('bob@b.test'))).toHaveLength(1);
}, 20_000);

it('never bounces a null-sender message', async () => {
  const { queueId } = await mq.send({
    from: '',
    to: ['nobody2@b.test'],
    message: 'Subject: a bounce\r\n\r\nx\r\n',
  });
  const journal = await until('final', async () => {
    const j = await readJournal(redis, mq.keys, queueId);
    return j.size === 1 ? j : undefined;
  });
  expect(journal.get('nobody2@b.test')?.status).toBe('bounced');
  await until('released', async () =>
    (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
  );
  const mentions = [...peerA.messages, ...peerB.messages].filter((m) => m.body.toString().includes(queueId));
  expect(mentions).toHaveLength(0);
  expect(worker.output()).toContain(`${queueId}: undeliverable mail from <> not returned`);
}, 15_000);
