/**
 * Scenario (issue 9): four worker processes share one destination's concurrency through Redis.
 * A sink on loopback records how many connections it holds at once:
 * - never above the destination's limit; slow start (initial concurrency first) visible;
 * - a run of handshake failures shrinks the window to 1, and delivery restarts one at a time;
 * - the leases of SIGKILLed workers come back by their TTL.
 * Idle session caching is off here, so every connection belongs to a delivery in progress (idle
 * cached sessions hold no lease, as in Postfix: docs/configuration.md).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { destinationStatus } from '../../src/destinations/lease-store.ts';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { type CountingSink, startCountingSink } from '../support/counting-sink.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, writeConfig } from './helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2edest}';
const LIMIT = 6;
const INITIAL = 2;
let server: RedisHandle;
let redis: Redis;
let sink: CountingSink;
let mq: MailQueue;
let dest = '';
const workers: WorkerProcess[] = [];
const MESSAGE = 'Subject: c\r\n\r\nhello\r\n';

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  sink = await startCountingSink({ host: block.addr(1), dotDelayMs: 150 });
  dest = `smtp:[${block.addr(1)}]:${sink.port}`;
  const config = await writeConfig({
    myhostname: 'mta.test',
    dnsServers: ['127.0.0.1:9'],
    smtpTlsSecurityLevel: 'none',
    relayhost: `[${block.addr(1)}]:${sink.port}`,
    smtpConnectionCacheOnDemand: false,
    defaultDestinationConcurrencyLimit: LIMIT,
    initialDestinationConcurrency: INITIAL,
    defaultDestinationConcurrencyFailedCohortLimit: 1000,
    destinationLeaseTtl: 3,
    destinationLeaseWait: 0.1,
    minimalBackoffTime: 0.5,
    maximalBackoffTime: 0.5,
    smtpHeloTimeout: 120,
  });
  for (let i = 0; i < 4; i++) {
    workers.push(spawnWorker({ config, redis: server.url, prefix, extra: ['--concurrency', '5'] }));
  }
  // Generous: four processes starting at once on a loaded machine.
  for (const w of workers) {
    await until(
      'worker started',
      async () => (w.output().includes('"worker-started"') ? true : undefined),
      120_000,
    );
  }
  mq = createMailQueue({ redis: server.url, prefix });
}, 300_000);

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await mq?.close();
  redis?.disconnect();
  await sink?.stop();
  await server?.stop();
  block.release();
});

async function sendMany(n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    await mq.send({ from: 'app@example.com', to: [`${tag}${i}@far.invalid`], message: MESSAGE });
  }
}

it('never holds more connections than the limit; starts at the initial concurrency', async () => {
  await sendMany(60, 'a');
  await until('60 delivered', async () => (sink.accepted() >= 60 ? true : undefined), 90_000);
  expect(sink.max()).toBeLessThanOrEqual(LIMIT);
  expect(sink.max()).toBeGreaterThan(INITIAL);
  const firstDone = sink.events.findIndex((e) => e.kind === 'done');
  const opensBefore = sink.events.slice(0, firstDone).filter((e) => e.kind === 'open').length;
  expect(opensBefore).toBeLessThanOrEqual(INITIAL);
}, 120_000);

it('handshake failures shrink the window to 1; delivery restarts one connection at a time', async () => {
  sink.setMode('refuse');
  await sendMany(12, 'b');
  await until(
    'window shrunk to 1',
    async () => ((await destinationStatus(redis, prefix, dest, Date.now())).window === 1 ? true : undefined),
    60_000,
  );
  const mark = sink.events.length;
  sink.resetMax();
  sink.setMode('accept');
  await until('72 delivered', async () => (sink.accepted() >= 72 ? true : undefined), 90_000);
  const after = sink.events.slice(mark);
  const firstDone = after.findIndex((e) => e.kind === 'done');
  expect(after.slice(0, firstDone).filter((e) => e.kind === 'open').length).toBe(1);
  expect(sink.max()).toBeLessThanOrEqual(LIMIT);
}, 120_000);

it('the leases of SIGKILLed workers come back within their TTL', async () => {
  sink.setMode('hang');
  await sendMany(8, 'c');
  const held = await until(
    'leases held by hanging sessions',
    async () => {
      const n = (await destinationStatus(redis, prefix, dest, Date.now())).leasesInUse;
      return n >= 1 && sink.held() >= n ? n : undefined;
    },
    60_000,
  );
  expect(held).toBeLessThanOrEqual(LIMIT);
  for (const w of workers) await stopWorker(w);
  const freed = await until(
    'leases expired',
    async () =>
      (await destinationStatus(redis, prefix, dest, Date.now())).leasesInUse === 0 ? true : undefined,
    30_000,
  );
  expect(freed).toBe(true);
}, 120_000);
