/**
 * Scenario (issue 9): the worker routes at every attempt from its own configuration.
 * - The README's two-process flow: a client with no options, a worker with a relayhost.
 * - A deferred message follows a relayhost changed after it was queued.
 * - A transport map routes two domains to two servers.
 * - A malformed relayhost or transport map is refused when the worker starts (key and value named).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { destinationStatus } from '../../src/destinations/lease-store.ts';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, workerReady, writeConfig } from './helpers.ts';

const block = allocateLoopbackBlock();
let server: RedisHandle;
let redis: Redis;
let good: SmtpPeer;
let other: SmtpPeer;
let greylist: SmtpPeer;
const workers: WorkerProcess[] = [];
const queues: MailQueue[] = [];

const base = { myhostname: 'mta.test', smtpTlsSecurityLevel: 'none' as const, dnsServers: ['127.0.0.1:9'] };
const MESSAGE = 'Subject: hi\r\n\r\nhello\r\n';

function worker(prefix: string, config: string): WorkerProcess {
  const w = spawnWorker({ config, redis: server.url, prefix });
  workers.push(w);
  return w;
}

function client(prefix: string): MailQueue {
  // The README's client: no routing options at all.
  const mq = createMailQueue({ redis: server.url, prefix });
  queues.push(mq);
  return mq;
}

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  good = await startSmtpPeer({ host: block.addr(1), script: { ehloName: 'good.test' } });
  other = await startSmtpPeer({ host: block.addr(2), script: { ehloName: 'other.test' } });
  greylist = await startSmtpPeer({
    host: block.addr(3),
    script: { rcpt: '451 4.7.1 greylisted, try later' },
  });
});

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  for (const q of queues) await q.close();
  redis?.disconnect();
  for (const p of [good, other, greylist]) await p?.stop();
  await server?.stop();
  block.release();
});

it('the README flow: a client with no options, a worker with a relayhost', async () => {
  const prefix = '{e2eroute1}';
  const w = worker(prefix, await writeConfig({ ...base, relayhost: `[${block.addr(1)}]:${good.port}` }));
  await workerReady(w);
  const mq = client(prefix);
  const { queueId } = await mq.send({
    from: 'app@example.com',
    to: ['user@nowhere.invalid'],
    message: MESSAGE,
  });
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 30_000 });
  expect(outcome.map((e) => [e.status, e.dsn, e.relay])).toEqual([
    ['sent', '2.0.0', `${block.addr(1)}[${block.addr(1)}]:${good.port}`],
  ]);
  expect(good.messages.some((m) => m.to.includes('user@nowhere.invalid'))).toBe(true);
  await stopWorker(w);
});

it('a deferred message follows a relayhost changed after it was queued', async () => {
  const prefix = '{e2eroute2}';
  const timing = { minimalBackoffTime: 1, maximalBackoffTime: 1 };
  const first = worker(
    prefix,
    await writeConfig({ ...base, ...timing, relayhost: `[${block.addr(3)}]:${greylist.port}` }),
  );
  await workerReady(first);
  const mq = client(prefix);
  const { queueId } = await mq.send({
    from: 'app@example.com',
    to: ['late@moved.invalid'],
    message: MESSAGE,
  });
  const deferred = await until(
    'deferred at the first relayhost',
    async () => {
      const entries = await redis.xrange(`${prefix}:events`, '-', '+');
      return entries.some(([, f]) => f.includes(queueId) && f.includes('deferred')) ? true : undefined;
    },
    30_000,
  );
  expect(deferred).toBe(true);
  // A 451 to RCPT is no hop status: the destination is not suspended, its window grew.
  const greyDest = await destinationStatus(
    redis,
    prefix,
    `smtp:[${block.addr(3)}]:${greylist.port}`,
    Date.now(),
  );
  expect(greyDest.suspendedUntil).toBeUndefined();
  expect(greyDest.window).toBeGreaterThan(5);
  first.proc.kill('SIGTERM');
  await first.exited;
  const second = worker(
    prefix,
    await writeConfig({ ...base, ...timing, relayhost: `[${block.addr(2)}]:${other.port}` }),
  );
  await workerReady(second);
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 30_000 });
  expect(outcome.map((e) => [e.status, e.relay])).toEqual([
    ['sent', `${block.addr(2)}[${block.addr(2)}]:${other.port}`],
  ]);
  expect(greylist.messages).toEqual([]);
  await stopWorker(second);
});

it('a transport map routes two domains to two servers', async () => {
  const prefix = '{e2eroute3}';
  const w = worker(
    prefix,
    await writeConfig({
      ...base,
      relayhost: '[127.0.0.1]:9',
      transportMaps: {
        'one.invalid': `smtp:[${block.addr(1)}]:${good.port}`,
        '.two.invalid': `:[${block.addr(2)}]:${other.port}`,
      },
    }),
  );
  await workerReady(w);
  const mq = client(prefix);
  const { queueId } = await mq.send({
    from: 'app@example.com',
    to: ['a@one.invalid', 'b@sub.two.invalid'],
    message: MESSAGE,
  });
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 30_000 });
  const relayOf = (r: string) => outcome.find((e) => e.recipient === r)?.relay;
  expect(relayOf('a@one.invalid')).toBe(`${block.addr(1)}[${block.addr(1)}]:${good.port}`);
  expect(relayOf('b@sub.two.invalid')).toBe(`${block.addr(2)}[${block.addr(2)}]:${other.port}`);
  await stopWorker(w);
});

it.each([
  [{ relayhost: '[127.0.5.1' }, 'relayhost = "[127.0.5.1": missing "]" in server description: [127.0.5.1'],
  [
    { transportMaps: { 'x.test': 'uucp:host' } },
    'transportMaps["x.test"] = "uucp:host": unknown transport "uucp"',
  ],
  [{ transportMaps: { 'y.test': 'smtp:[h' } }, 'transportMaps["y.test"] = "smtp:[h": missing "]"'],
])('refuses bad routing options at worker start (%j)', async (bad, named) => {
  const w = worker('{e2eroute4}', await writeConfig({ ...base, ...bad }));
  expect(await w.exited).toBe(78);
  expect(w.output()).toContain(named);
});
