/**
 * A lease release hands its freed slot to the earliest job waiting in BullMQ's delayed set
 * (destination-gate.ts, lease-scripts.ts, processor.ts, worker-runtime.ts), on a real redis-server
 * and real BullMQ: with a destination limit of 1 and a busy wait of 10 minutes, a second job is
 * refused and delayed; when the first job's attempt ends, the second is promoted and delivered,
 * which without the hand-off would happen only after its delay (the bounded polls below give up
 * long before). Orders and states are asserted, never durations.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { AttemptResult } from '../../../src/core/types.ts';
import { createLeaseStore } from '../../../src/destinations/lease-store.ts';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import type { RoutedAttemptRequest } from '../../../src/workers/agent.ts';
import { runUnderLease } from '../../../src/workers/destination-gate.ts';
import { createWorkerRuntime, type WorkerRuntime } from '../../../src/workers/worker-runtime.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { until } from '../../support/wait.ts';

const OPTIONS = {
  myhostname: 'mta.test',
  defaultDestinationConcurrencyLimit: 1,
  initialDestinationConcurrency: 1,
  // a refused job is delayed by (at least) this: far beyond the polls of this test
  destinationLeaseWait: '600s',
  // slow start: the window starts at 1 and grows to 2 after a success
  destinationOverrides: { 'grow.test': { concurrencyLimit: 2 } },
};

let server: RedisHandle;
let leaseRedis: Redis;
let runtime: WorkerRuntime;
let mq: MailQueue;
const prefix = '{handoff}';
const logger = memoryLogger();
const events: string[] = [];
/** Attempts for `first@…` run until their `finish` is called. */
const holders = new Map<string, { held: Promise<void>; finish: () => void }>();
function holder(address: string) {
  let h = holders.get(address);
  if (h === undefined) {
    let finish: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      finish = r;
    });
    h = { held, finish };
    holders.set(address, h);
  }
  return h;
}

/** Runs every attempt under a real lease (no in-place waits: every refused job is delayed). */
function gatedAgent() {
  const leases = createLeaseStore(leaseRedis, prefix);
  return {
    async close() {},
    async deliver(req: RoutedAttemptRequest): Promise<AttemptResult> {
      const who = req.recipients[0]?.address ?? '';
      const deps = { leases, opts: resolveOptions(OPTIONS), clock: { now: () => Date.now() }, logger };
      try {
        return await runUnderLease(
          deps,
          // the destination is the recipient's domain (smtp:dst.test, smtp:grow.test); the job's
          // waiter rides in the request
          { ...req, nexthop: who.slice(who.indexOf('@') + 1), protocol: 'smtp' },
          async () => {
            events.push(`start ${who}`);
            if (who.startsWith('first')) await holder(who).held;
            events.push(`end ${who}`);
            return {
              recipients: req.recipients.map((recipient) => ({
                recipient,
                status: 'sent' as const,
                dsn: '2.0.0',
                relay: 'dst.test[127.0.0.1]:25',
                diagnostic: '250 2.0.0 Ok',
              })),
              servers: [],
            };
          },
        );
      } catch (err) {
        events.push(`busy ${who}`);
        throw err;
      }
    },
  };
}

beforeAll(async () => {
  server = await startRedis();
  leaseRedis = new Redis(server.url);
  runtime = createWorkerRuntime({
    redisUrl: server.url,
    prefix,
    options: OPTIONS,
    logger,
    agent: gatedAgent(),
    concurrency: 4,
  });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix, options: OPTIONS });
});
afterAll(async () => {
  for (const h of holders.values()) h.finish();
  await runtime?.close(true);
  await mq?.close();
  leaseRedis?.disconnect();
  await server?.stop();
});

it('a job delayed for a busy destination is promoted and delivered as soon as the lease is released', async () => {
  const message = 'Subject: t\r\n\r\nhi\r\n';
  await mq.send({ from: 'app@src.test', to: ['first@dst.test'], message });
  await until('the first attempt holds the lease', async () =>
    events.includes('start first@dst.test') ? true : undefined,
  );
  await mq.send({ from: 'app@src.test', to: ['second@dst.test'], message });
  const delayed = await until('the second job delayed', async () => {
    const jobs = await runtime.queue.getJobs(['delayed']);
    return jobs.length === 1 ? jobs[0] : undefined;
  });
  const id = delayed.id ?? '';
  expect(events).toEqual(['start first@dst.test', 'busy second@dst.test']);
  expect(await runtime.queue.getJobState(id)).toBe('delayed');

  holder('first@dst.test').finish();
  await until('the second job delivered', async () =>
    events.includes('end second@dst.test') ? true : undefined,
  );
  // out of the delayed set, its delay not over (completed jobs are removed: 'unknown')
  expect(['active', 'completed', 'unknown']).toContain(await runtime.queue.getJobState(id));
  expect(events).toEqual([
    'start first@dst.test',
    'busy second@dst.test',
    'end first@dst.test',
    'start second@dst.test',
    'end second@dst.test',
  ]);
  expect(logger.records.some((r) => r.event === 'waiter-promoted' && r.promoted === id)).toBe(true);
});

it('after a success during slow start two waiting jobs are handed a slot; one no longer delayed is no harm', async () => {
  const message = 'Subject: t\r\n\r\nhi\r\n';
  const log = (w: string) => events.filter((e) => e.endsWith(w));
  await mq.send({ from: 'app@src.test', to: ['first@grow.test'], message });
  await until('the first attempt holds the lease', async () =>
    events.includes('start first@grow.test') ? true : undefined,
  );
  await mq.send({ from: 'app@src.test', to: ['second@grow.test'], message });
  const delayed = await until('the second job delayed', async () => {
    const jobs = await runtime.queue.getJobs(['delayed']);
    return jobs.length === 1 ? jobs[0] : undefined;
  });
  const id = delayed.id ?? '';
  // A waiter ahead of it whose job is gone (removed, or already back): its promotion fails.
  await leaseRedis.zadd(`${prefix}:dest:smtp:grow.test:waiters`, 1, 'gone.1');
  holder('first@grow.test').finish();
  await until('the second job delivered', async () =>
    events.includes('end second@grow.test') ? true : undefined,
  );
  expect(log('@grow.test')).toEqual([
    'start first@grow.test',
    'busy second@grow.test',
    'end first@grow.test',
    'start second@grow.test',
    'end second@grow.test',
  ]);
  expect(['active', 'completed', 'unknown']).toContain(await runtime.queue.getJobState(id));
  await until('the failed promotion logged', async () =>
    logger.records.some((r) => r.event === 'waiter-not-promoted' && r.promoted === 'gone.1')
      ? true
      : undefined,
  );
  expect(logger.records.some((r) => r.event === 'waiter-promoted' && r.promoted === id)).toBe(true);
  expect(logger.records.filter((r) => r.level === 'error' || r.level === 'warn')).toEqual([]);
});
