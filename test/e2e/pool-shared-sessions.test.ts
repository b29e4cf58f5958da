/**
 * Scenario: `mxq pool -n 4` shares idle plaintext sessions between its worker processes through
 * the supervisor's host cache (socket handles over IPC): messages sent one after another to one
 * destination ride on one TCP connection although different processes deliver them; sessions
 * never cross a TLS policy boundary; LMTP sessions over a unix socket are shared the same way; an
 * idle session expires after smtpConnectionCacheTimeLimit.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer, tempSocketPath } from '../support/smtp-peer.ts';
import { writeConfig } from './helpers.ts';
import { type PoolProcess, poolReady, poolStatus, spawnPool, stopPool } from './pool-helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2epool}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peer: SmtpPeer;
let lmtp: SmtpPeer;
let lmtpPath = '';
let mq: MailQueue;
let pool: PoolProcess;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  peer = await startSmtpPeer({ host: block.addr(1), script: { ehloName: 'mx.pool.test' } });
  lmtpPath = await tempSocketPath('lmtp.sock');
  lmtp = await startSmtpPeer({ lmtp: true, socketPath: lmtpPath });
  const zone: Record<string, { MX?: Array<[number, string]>; A?: string[] }> = {
    'mx.pool.test': { A: [block.addr(1)] },
  };
  for (const d of ['one.test', 'two.test', 'may.test', 'idle.test']) zone[d] = { MX: [[10, 'mx.pool.test']] };
  dns = await startDnsServer(zone);
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpTlsSecurityLevel: 'none' as const,
    smtpTlsPolicyMaps: { 'may.test': { level: 'may' as const } },
    // longer than Postfix's 2 s, so that a loaded machine's pauses between sends keep sessions
    smtpConnectionCacheTimeLimit: '5s',
  };
  const config = await writeConfig(options);
  mq = createMailQueue({ redis: server.url, prefix, options });
  pool = spawnPool({ config, redis: server.url, prefix, processes: 4, extra: ['--concurrency', '2'] });
  await poolReady(pool, 4);
}, 180_000);

afterAll(async () => {
  if (pool !== undefined) await stopPool(pool);
  await mq?.close();
  redis?.disconnect();
  await peer?.stop();
  await lmtp?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

async function sendAndWait(to: string): Promise<void> {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: [to],
    message: `Subject: ${to}\r\n\r\nx\r\n`,
  });
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 30_000 });
  expect(outcome.map((o) => o.status)).toEqual(['sent']);
}

it('20 messages one after another through 4 processes ride on one TCP connection', async () => {
  const before = peer.connections;
  for (let i = 0; i < 20; i++) await sendAndWait(`u${i}@one.test`);
  expect(peer.connections - before).toBe(1);
  expect(peer.messages.filter((m) => m.to[0]?.endsWith('@one.test'))).toHaveLength(20);
  // the session carried its reuse count from process to process
  expect(pool.output()).toContain('conn_use=20');
  const status = await poolStatus(pool);
  const hostHits = status.children.map(
    (c) => (c.cache?.hitsHostDest ?? 0) + (c.cache?.hitsHostEndpoint ?? 0),
  );
  expect(hostHits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(19);
  // more than one process took the session from the host cache: A opened it, B reused it
  expect(hostHits.filter((h) => h > 0).length).toBeGreaterThanOrEqual(2);
  expect(status.hostCache.stores).toBeGreaterThanOrEqual(20);
}, 120_000);

it('never reuses a session across a TLS policy: none and may to the same server stay apart', async () => {
  await sendAndWait('a@two.test'); // level none: endpoint label with TLS none
  const before = peer.connections;
  await sendAndWait('b@may.test'); // level may (no STARTTLS offered): another label, a new connection
  expect(peer.connections - before).toBe(1);
  const mayConn = peer.commands.filter((c) => c.line.startsWith('RCPT TO:<b@may.test>'))[0]?.conn;
  const twoConn = peer.commands.filter((c) => c.line.startsWith('RCPT TO:<a@two.test>')).at(-1)?.conn;
  expect(mayConn).toBeDefined();
  expect(mayConn).not.toBe(twoConn);
  // the level-none session is still idle under its endpoint label: another none domain reuses it
  const again = peer.connections;
  await sendAndWait('c@one.test');
  expect(peer.connections).toBe(again);
}, 60_000);

it('LMTP sessions over a unix socket are shared between processes too', async () => {
  const before = lmtp.connections;
  for (let i = 0; i < 6; i++) {
    const { queueId } = await mq.send({
      from: 'app@src.test',
      to: [`l${i}@local.test`],
      transport: 'lmtp',
      nexthop: `unix:${lmtpPath}`,
      message: 'Subject: lmtp\r\n\r\nx\r\n',
    });
    const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 30_000 });
    expect(outcome.map((o) => o.status)).toEqual(['sent']);
  }
  expect(lmtp.connections - before).toBe(1);
  expect(lmtp.messages).toHaveLength(6);
}, 60_000);

it('an idle session expires after smtpConnectionCacheTimeLimit (5 s here) in the host cache', async () => {
  await sendAndWait('x@idle.test');
  const expiriesBefore = (await poolStatus(pool)).hostCache.expiries ?? 0;
  await new Promise((r) => setTimeout(r, 6500));
  const status = await poolStatus(pool);
  expect(status.hostCache.expiries ?? 0).toBeGreaterThan(expiriesBefore);
  expect(status.hostCache.idle).toBe(0);
  const before = peer.connections;
  await sendAndWait('y@idle.test');
  expect(peer.connections - before).toBe(1);
}, 60_000);
