/**
 * Scenario (issue 9): a destination whose two MX hosts never answer (listeners that accept and
 * stay silent) with many queued messages. The first failed cohort suspends the destination
 * pool-wide: every message is deferred, nearly all of them with "delivery temporarily suspended:
 * ..." and without connecting, so the connection attempts stay near the cohort size instead of
 * messages × addresses. When the hosts answer again, the probe after the pause succeeds and
 * delivery resumes by itself.
 * MXQ_DEAD_DEST_MESSAGES sets the count (300 here; `npm run soak:dead-destination` runs 5,000 with
 * MXQ_DEAD_DEST_BACKOFF=60).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeliveryEvent } from '../../src/queue/job-schema.ts';
import { decodeDeliveryEvent } from '../../src/queue/job-schema.ts';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { type CountingSink, startCountingSink } from '../support/counting-sink.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, writeConfig } from './helpers.ts';

const N = Number(process.env.MXQ_DEAD_DEST_MESSAGES ?? 300);
// Retry delay and suspension pause (minimalBackoffTime); the soak uses a longer one so that 5,000
// deferred jobs coming back do not crowd out the first pass.
const BACKOFF_S = Number(process.env.MXQ_DEAD_DEST_BACKOFF ?? 2);
const block = allocateLoopbackBlock();
const prefix = '{e2edead}';
let server: RedisHandle;
let redis: Redis;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let mx1: CountingSink;
let mx2: CountingSink;
let mq: MailQueue;
const workers: WorkerProcess[] = [];
const waitMs = 120_000 + N * 100 + BACKOFF_S * 3000;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  mx1 = await startCountingSink({ host: block.addr(1), mode: 'hang' });
  mx2 = await startCountingSink({ host: block.addr(2), port: mx1.port, mode: 'hang' });
  dns = await startDnsServer({
    'dead.test': {
      MX: [
        [10, 'mx1.dead.test'],
        [20, 'mx2.dead.test'],
      ],
    },
    'mx1.dead.test': { A: [block.addr(1)] },
    'mx2.dead.test': { A: [block.addr(2)] },
  });
  const config = await writeConfig({
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(mx1.port),
    smtpTlsSecurityLevel: 'none',
    smtpHeloTimeout: 1,
    minimalBackoffTime: BACKOFF_S,
    maximalBackoffTime: BACKOFF_S,
    destinationLeaseWait: 0.2,
  });
  for (let i = 0; i < 2; i++) {
    workers.push(spawnWorker({ config, redis: server.url, prefix, extra: ['--concurrency', '10'] }));
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
  await mx1?.stop();
  await mx2?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

async function events(): Promise<DeliveryEvent[]> {
  const entries = await redis.xrange(`${prefix}:events`, '-', '+');
  return entries.map(([, f]) => decodeDeliveryEvent(f));
}

const opens = (s: CountingSink) => s.events.filter((e) => e.kind === 'open').length;

it('suspends the dead destination pool-wide, then resumes when its hosts answer', async () => {
  const ids: string[] = [];
  for (let i = 0; i < N; i += 50) {
    const batch = Array.from({ length: Math.min(50, N - i) }, (_, j) =>
      mq.send({ from: 'app@example.com', to: [`u${i + j}@dead.test`], message: 'Subject: d\r\n\r\nx\r\n' }),
    );
    for (const r of await Promise.all(batch)) ids.push(r.queueId);
  }
  const firstDeferrals = await until(
    'every message deferred once',
    async () => {
      const first = new Map<string, DeliveryEvent>();
      for (const e of await events())
        if (e.event === 'deferred' && !first.has(e.queueId)) first.set(e.queueId, e);
      return first.size >= N ? first : undefined;
    },
    waitMs,
  );
  const connections = opens(mx1) + opens(mx2);
  const suspended = [...firstDeferrals.values()].filter((e) =>
    e.diagnostic.startsWith('delivery temporarily suspended: '),
  );
  // Postfix's wording, with the hop's cause; a soft status; no relay (never connected).
  expect(suspended.length).toBeGreaterThanOrEqual(N - 20);
  for (const e of suspended) {
    expect(e.dsn).toMatch(/^4\./);
    expect(e.relay).toBe('none');
    expect(e.diagnostic).toMatch(
      /timed out while receiving the initial server greeting|Connection (refused|timed out)/,
    );
  }
  if (process.env.MXQ_DEAD_DEST_MESSAGES !== undefined) {
    process.stderr.write(
      `dead destination: ${N} messages, ${connections} connections, ${suspended.length} suspended deferrals\n`,
    );
  }
  // Near the cohort size (initial concurrency 5 × 2 addresses, plus probes), not N × 2.
  expect(connections).toBeLessThan(Math.min(N, 60));
  mx1.setMode('accept');
  mx2.setMode('accept');
  await until(
    'every message delivered',
    async () => (mx1.accepted() + mx2.accepted() >= N ? true : undefined),
    waitMs,
  );
  const sent = new Set((await events()).filter((e) => e.event === 'sent').map((e) => e.queueId));
  expect(ids.every((id) => sent.has(id))).toBe(true);
}, 1_800_000);
