/**
 * G27: a canary SASL password never leaves the configuration: after deliveries with AUTH PLAIN
 * (one recipient bounced, so a DSN is written, and one AUTH failure against a second server), the
 * canary — plain, base64, and inside base64("\0user\0password") — is in no worker log line, no DSN,
 * no Redis key or value (SCAN + DUMP of every key) and not in the AOF files.
 * (G28, TLS session tickets in Redis: this branch has no Redis-stored tickets; the "cluster"
 * branch adds them and should extend this test to its keys.)
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { readJournal } from '../../src/workers/journal.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, writeConfig } from '../e2e/helpers.ts';
import { type DnsServer, startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';

const CANARY = 'CanaryPw-7f3a9c1e-DoNotLeak';
const forms = [
  CANARY,
  Buffer.from(CANARY).toString('base64'),
  Buffer.from(`\0mxq\0${CANARY}`).toString('base64'),
  Buffer.from(`mxq\0mxq\0${CANARY}`).toString('base64'),
];
const block = allocateLoopbackBlock();
let redis: RedisHandle;
let client: Redis;
let dns: DnsServer;
let good: SmtpPeer;
let wrong: SmtpPeer;
let mq: MailQueue;
let worker: WorkerProcess;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  good = await startSmtpPeer({
    host: block.addr(1),
    auth: { users: { mxq: CANARY } },
    script: { rcpt: (a) => (a.startsWith('bad') ? '550 5.1.1 no such user' : undefined) },
  });
  wrong = await startSmtpPeer({ host: block.addr(2), port: good.port, auth: { users: { mxq: 'another' } } });
  dns = await startDnsServer({
    'ok.test': { MX: [[10, 'mx1.test']] },
    'src.test': { MX: [[10, 'mx1.test']] },
    'authfail.test': { MX: [[10, 'mx2.test']] },
    'mx1.test': { A: [block.addr(1)] },
    'mx2.test': { A: [block.addr(2)] },
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(good.port),
    smtpTlsSecurityLevel: 'none' as const,
    smtpSaslAuthEnable: true,
    // The canary must cross the wire to prove masking: plaintext AUTH allowed explicitly (the
    // default, noplaintext, would defer with 4.7.0 before any password is sent).
    smtpSaslSecurityOptions: ['noanonymous'],
    smtpSaslPasswordMaps: {
      'mx1.test': { username: 'mxq', password: CANARY },
      'mx2.test': { username: 'mxq', password: CANARY },
    },
    minimalBackoffTime: 60,
  };
  const config = await writeConfig(options);
  mq = createMailQueue({ redis: redis.url, prefix: '{g27}', options });
  worker = spawnWorker({ config, redis: redis.url, prefix: '{g27}' });
});
afterAll(async () => {
  await stopWorker(worker);
  await mq?.close();
  client?.disconnect();
  await good?.stop();
  await wrong?.stop();
  await dns?.stop();
  await redis?.stop();
  block.release();
});

it('G27: the canary password is in no log, DSN, Redis key or value, or AOF', async () => {
  const a = await mq.send({
    from: 'app@src.test',
    to: ['u1@ok.test', 'bad1@ok.test'],
    message: 'Subject: g27\r\n\r\nx\r\n',
  });
  const b = await mq.send({
    from: 'app@src.test',
    to: ['u2@authfail.test'],
    message: 'Subject: g27b\r\n\r\nx\r\n',
  });
  await until(
    'a settled',
    async () => ((await readJournal(client, mq.keys, a.queueId)).size === 2 ? true : undefined),
    30_000,
  );
  await until(
    'DSN received',
    async () => (good.messages.some((m) => m.to.includes('app@src.test')) ? true : undefined),
    30_000,
  );
  await until(
    'auth failure logged',
    async () => (worker.output().includes('u2@authfail.test') ? true : undefined),
    30_000,
  );
  await client.call('BGREWRITEAOF').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1500));
  const haystacks: Array<[string, string]> = [['worker log', worker.output()]];
  for (const m of good.messages) haystacks.push(['message at the peer', m.body.toString('latin1')]);
  let cursor = '0';
  let keys = 0;
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const k of batch) {
      keys++;
      haystacks.push([`key name ${k}`, k]);
      const dumped = await client.dumpBuffer(k);
      haystacks.push([`value of ${k}`, dumped?.toString('latin1') ?? '']);
    }
  } while (cursor !== '0');
  const aofDir = join(redis.dir, 'appendonlydir');
  for (const f of await readdir(aofDir).catch(() => [] as string[])) {
    haystacks.push([`AOF ${f}`, (await readFile(join(aofDir, f))).toString('latin1')]);
  }
  const hits = haystacks.filter(([, text]) => forms.some((f) => text.includes(f))).map(([where]) => where);
  process.stdout.write(`chaos: G27 secrets: places=${haystacks.length} keys=${keys} hits=${hits.length}\n`);
  expect(good.messages.some((m) => m.to.includes('app@src.test'))).toBe(true);
  expect(worker.output()).toMatch(/u2@authfail\.test.*status=deferred/);
  expect(b.jobIds).toHaveLength(1);
  expect(keys).toBeGreaterThan(3);
  expect(haystacks.some(([where]) => where.startsWith('AOF'))).toBe(true);
  // the probe works: the peer did see the credentials (AUTH PLAIN) on the wire
  expect(good.commands.some((c) => forms.some((f) => c.line.includes(f)))).toBe(true);
  expect(hits).toEqual([]);
}, 90_000);
