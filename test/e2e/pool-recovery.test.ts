/**
 * Scenario: `mxq pool -n 2` with BullMQ locks of 60 s. A child killed with SIGKILL under load
 * loses nothing: the supervisor returns the jobs it held to the queue at once (not after the lock
 * expires), another child delivers them, and the dead child is restarted. The reuse count of a
 * shared session travels with it, so smtpConnectionReuseCountLimit holds across processes. A
 * child that cannot start (bad configuration) stops the pool with its exit code. A supervisor
 * (the cache owner) killed with SIGKILL takes only idle sessions: its children drain and exit,
 * and the next pool finishes whatever was left.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { readJournal } from '../../src/workers/journal.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { until, writeConfig } from './helpers.ts';
import { type PoolProcess, poolReady, poolStatus, spawnPool, stopPool } from './pool-helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2epoolkill}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peer: SmtpPeer;
let mq: MailQueue;
let pool: PoolProcess;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  peer = await startSmtpPeer({ host: block.addr(1), script: { ehloName: 'mx.kill.test' } });
  const zone: Record<string, { MX?: Array<[number, string]>; A?: string[] }> = {
    'mx.kill.test': { A: [block.addr(1)] },
  };
  for (let i = 0; i < 6; i++) zone[`d${i}.test`] = { MX: [[10, 'mx.kill.test']] };
  zone['limit.test'] = { MX: [[10, 'mx.kill.test']] };
  dns = await startDnsServer(zone);
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpConnectionCacheTimeLimit: '10s', // a loaded machine's pauses between sends keep sessions
    smtpTlsSecurityLevel: 'none' as const,
    smtpConnectionReuseCountLimit: 3,
    minimalBackoffTime: 0.3,
    maximalBackoffTime: 0.6,
  };
  const config = await writeConfig(options);
  mq = createMailQueue({ redis: server.url, prefix, options });
  pool = spawnPool({
    config,
    redis: server.url,
    prefix,
    processes: 2,
    extra: ['--concurrency', '6', '--lock-duration', '60', '--stalled-interval', '60'],
  });
  await poolReady(pool, 2);
}, 180_000);

afterAll(async () => {
  if (pool !== undefined) await stopPool(pool);
  await mq?.close();
  redis?.disconnect();
  await peer?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

it('smtpConnectionReuseCountLimit holds for a session shared between processes', async () => {
  const before = peer.connections;
  for (let i = 0; i < 8; i++) {
    const { queueId } = await mq.send({
      from: 'a@src.test',
      to: [`u${i}@limit.test`],
      message: 'Subject: l\r\n\r\nx\r\n',
    });
    const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 30_000 });
    expect(outcome.map((o) => o.status)).toEqual(['sent']);
  }
  // limit 3 reuses: a connection carries 4 transactions, so 8 messages need exactly 2
  expect(peer.connections - before).toBe(2);
  expect(pool.output()).toContain('conn_use=4');
  expect(pool.output()).not.toContain('conn_use=5');
}, 60_000);

it('SIGKILL of a child under load loses nothing; its jobs come back before their lock expires', async () => {
  peer.setScript({ ehloName: 'mx.kill.test', delayMs: { dot: 1500 } });
  const to: string[] = [];
  for (let d = 0; d < 6; d++) for (let i = 0; i < 2; i++) to.push(`k${i}@d${d}.test`);
  const { queueId, jobIds } = await mq.send({
    from: 'app@src.test',
    to,
    message: 'Subject: kill\r\n\r\nx\r\n',
  });
  expect(jobIds).toHaveLength(6);
  const victim = await until(
    'a child holding jobs',
    async () => (await poolStatus(pool)).children.find((c) => c.heldJobs > 0 && c.state === 'running'),
    20_000,
  );
  process.kill(victim.pid, 'SIGKILL');
  const returned = await until(
    'pool-jobs-returned',
    async () =>
      pool.lines().find((l) => l.event === 'pool-jobs-returned' && l.child === victim.index) as
        | { returned: string[] }
        | undefined,
    20_000,
  );
  expect(returned.returned.length).toBeGreaterThan(0);
  for (const id of returned.returned) expect(jobIds).toContain(id);
  const journal = await until(
    'every recipient final',
    async () => {
      const j = await readJournal(redis, mq.keys, queueId);
      return j.size === to.length ? j : undefined;
    },
    30_000,
  );
  // both waits together stay inside the 60 s lock: BullMQ's stall recovery cannot have done it
  expect([...journal.values()].every((e) => e.status === 'sent')).toBe(true);
  const received = new Set(peer.messages.flatMap((m) => m.to));
  for (const r of to) expect(received.has(r)).toBe(true);
  expect(pool.output()).not.toContain('"job-stalled"');
  // the supervisor restarted the dead child
  await until('victim restarted', async () =>
    pool
      .lines()
      .some((l) => l.event === 'pool-child-state' && l.child === victim.index && l.state === 'restarting')
      ? true
      : undefined,
  );
  peer.setScript({ ehloName: 'mx.kill.test' });
}, 90_000);

it('a child that cannot start stops the pool with its exit code', async () => {
  const bad = await writeConfig({ smtpTlsSecurityLevel: 'bogus' } as unknown as Record<string, never>);
  const p = spawnPool({ config: bad, redis: server.url, prefix: '{e2epoolbad}', processes: 1 });
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 120_000);
  const code = await p.exited;
  clearTimeout(timer);
  // The child's code: a bad --config value is EX_CONFIG (cli-kit.ts EXIT, docs/cli.md).
  expect(code).toBe(78);
  expect(p.output()).toContain('pool-child-fatal');
}, 150_000);

it('a supervisor killed with SIGKILL takes only idle sessions: children drain, the next pool finishes the rest', async () => {
  peer.setScript({ ehloName: 'mx.kill.test', delayMs: { dot: 1000 } });
  const to: string[] = [];
  for (let d = 0; d < 6; d++) for (let i = 0; i < 2; i++) to.push(`s${i}@d${d}.test`);
  const { queueId } = await mq.send({ from: 'app@src.test', to, message: 'Subject: boss\r\n\r\nx\r\n' });
  const status = await until(
    'jobs in flight',
    async () => {
      const s = await poolStatus(pool);
      return s.children.some((c) => c.heldJobs > 0) ? s : undefined;
    },
    20_000,
  );
  const pids = status.children.map((c) => c.pid);
  pool.proc.kill('SIGKILL');
  await pool.exited;
  // the children notice the closed channel, finish what they hold and exit
  await until(
    'children gone',
    async () =>
      pids.every((pid) => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      })
        ? true
        : undefined,
    60_000,
  );
  expect(pool.output()).toContain('pool-supervisor-gone');
  peer.setScript({ ehloName: 'mx.kill.test' });
  const config = await writeConfig({
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpTlsSecurityLevel: 'none',
  });
  pool = spawnPool({ config, redis: server.url, prefix, processes: 1 });
  const journal = await until(
    'every recipient final',
    async () => {
      const j = await readJournal(redis, mq.keys, queueId);
      return j.size === to.length ? j : undefined;
    },
    150_000, // includes booting the new pool's child on a loaded machine
  );
  expect([...journal.values()].every((e) => e.status === 'sent')).toBe(true);
}, 240_000);
