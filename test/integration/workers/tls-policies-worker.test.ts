/**
 * The worker's wiring of the issue-14 policies: with mtaStsEnable and smtpTlsrptEnable a real
 * worker (createWorker) keeps the MTA-STS policy in Redis for max_age (shared by the pool) and
 * counts the TLS session for TLSRPT in Redis, delivering over verified TLS. Real redis-server,
 * DNS, HTTPS policy host and SMTP peer on loopback.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { readJournal } from '../../../src/workers/journal.ts';
import { createWorker } from '../../../src/workers/wiring.ts';
import type { WorkerRuntime } from '../../../src/workers/worker-runtime.ts';
import { makeTestPki } from '../../support/certs.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { startHttpsServer, type TestHttpsServer } from '../../support/https-server.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { until } from '../../support/wait.ts';

const block = allocateLoopbackBlock();
const prefix = '{tw}';
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let web: TestHttpsServer;
let peer: SmtpPeer;
let runtime: WorkerRuntime;
let mq: MailQueue;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  const mx = await makeTestPki('mx1.example.test');
  const sts = await makeTestPki('mta-sts.example.test');
  peer = await startSmtpPeer({ host: block.addr(1), port: 25, tls: mx.valid });
  web = await startHttpsServer({
    host: block.addr(9),
    tls: sts.valid,
    respond: () => ({ body: 'version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 3600\n' }),
  });
  dns = await startDnsServer({
    'example.test': { MX: [[10, 'mx1.example.test']] },
    'mx1.example.test': { A: [block.addr(1)] },
    '_mta-sts.example.test': { TXT: ['v=STSv1; id=w1'] },
    'mta-sts.example.test': { A: [block.addr(9)] },
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    inetProtocols: 'ipv4' as const,
    smtpTlsSecurityLevel: 'may' as const,
    smtpTlsCAfile: [mx.caCert, sts.caCert],
    mtaStsEnable: true,
    smtpTlsrptEnable: true,
  };
  runtime = createWorker({ redisUrl: server.url, prefix, options, logger: memoryLogger(), concurrency: 2 });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix, options });
});

afterAll(async () => {
  await runtime?.close(true);
  await mq?.close();
  redis?.disconnect();
  await peer?.stop();
  await web?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('delivers over verified TLS, keeps the policy in Redis for max_age, counts the session', async () => {
  for (const n of [1, 2]) {
    const { queueId } = await mq.send({
      from: 'app@mta.test',
      to: [`u${n}@example.test`],
      message: 'Subject: x\r\n\r\nx\r\n',
    });
    const journal = await until('sent', async () => {
      const j = await readJournal(redis, mq.keys, queueId);
      return j.size === 1 ? j : undefined;
    });
    expect([...journal.values()][0]?.status).toBe('sent');
  }
  expect(web.requests).toHaveLength(1); // the second delivery used the cached policy
  const ttl = await redis.pttl(`${prefix}:mta-sts:example.test`);
  expect(ttl).toBeGreaterThan(3_000_000);
  expect(ttl).toBeLessThanOrEqual(3_600_000);
  expect(peer.commands.filter((c) => c.line.startsWith('MAIL FROM')).every((c) => c.tls)).toBe(true);
  const pending = await redis.smembers(`${prefix}:tlsrpt:pending`);
  expect(pending).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d\|example\.test$/)]);
  const counts = await redis.hgetall(`${prefix}:tlsrpt:${pending[0]}`);
  const policy = Object.entries(counts).find(([k]) => k.startsWith('p:'))?.[1] ?? '';
  expect(JSON.parse(policy)).toMatchObject({ type: 'sts', mxPatterns: ['*.example.test'] });
  const successes = Object.entries(counts)
    .filter(([k]) => k.startsWith('s:'))
    .map(([, v]) => Number(v));
  expect(successes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
});
