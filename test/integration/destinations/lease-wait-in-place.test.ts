/**
 * The backlog case of destination leases (destination-gate.ts with local-lease-queue.ts), against
 * the real Redis lease scripts: an attempt that finds the window full while this process holds a
 * lease of the destination waits in place and runs as soon as the local holder gives its lease
 * back, instead of being sent away (DestinationBusyError); without a local holder, or once
 * destinationLeaseWait has passed, or beyond one waiter per local holder, it is sent away as
 * before. A success wakes two waiters during slow start (the freed lease and the window's growth).
 * Orders are asserted, never durations.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { destinationParams } from '../../../src/core/destination.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { AttemptRequest } from '../../../src/core/types.ts';
import { createLeaseStore } from '../../../src/destinations/lease-store.ts';
import { DestinationBusyError, runUnderLease } from '../../../src/workers/destination-gate.ts';
import { createLocalLeaseQueue } from '../../../src/workers/local-lease-queue.ts';
import { attemptRequest, quietLogger, sentResult } from '../../support/attempt-fixtures.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let server: RedisHandle;
let redis: Redis;
const quiet = quietLogger();
const clock = { now: () => Date.now() };

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const request = (n: number, port: number): AttemptRequest => attemptRequest(n, `[127.0.0.1]:${port}`);

const sent = sentResult;

/** Polls `cond` every 5 ms, at most 2,000 times (a bounded wait; it asserts no duration). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

/** An attempt that runs until `finish()` is called. */
function held(req: AttemptRequest, events: string[]) {
  let finish: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    finish = r;
  });
  return {
    run: async () => {
      events.push(`start ${req.queueId}`);
      await gate;
      events.push(`end ${req.queueId}`);
      return sent(req);
    },
    finish: () => finish(),
  };
}

it('waits in place for a local holder of the destination and runs right after its release', async () => {
  // limit 1: the second attempt finds the window full; 60 s of in-place budget, so only the
  // release can let it through.
  const opts = resolveOptions({
    defaultDestinationConcurrencyLimit: 1,
    initialDestinationConcurrency: 1,
    destinationLeaseWait: '60s',
  });
  const deps = { leases: createLeaseStore(redis, '{inplace1}'), opts, clock, logger: quiet };
  const local = createLocalLeaseQueue();
  const events: string[] = [];
  const a = held(request(1, 2525), events);
  const first = runUnderLease({ ...deps, local }, request(1, 2525), a.run);
  await until(() => local.held('smtp:[127.0.0.1]:2525') === 1);

  // Without the local queue (or from another process): sent away at once.
  await expect(
    runUnderLease(deps, request(9, 2525), async () => sent(request(9, 2525))),
  ).rejects.toBeInstanceOf(DestinationBusyError);

  const b = held(request(2, 2525), events);
  const second = runUnderLease({ ...deps, local }, request(2, 2525), b.run);
  await until(() => local.waiting('smtp:[127.0.0.1]:2525') === 1);
  // One waiter per local holder: a third attempt is sent away instead of also waiting.
  await expect(
    runUnderLease({ ...deps, local }, request(3, 2525), async () => sent(request(3, 2525))),
  ).rejects.toBeInstanceOf(DestinationBusyError);
  expect(events).toEqual(['start Q1']);
  a.finish();
  await first;
  await until(() => events.includes('start Q2'));
  b.finish();
  await second;
  expect(events).toEqual(['start Q1', 'end Q1', 'start Q2', 'end Q2']);
});

it('is sent away when nothing local holds the destination, or when destinationLeaseWait has passed', async () => {
  const opts = resolveOptions({
    defaultDestinationConcurrencyLimit: 1,
    initialDestinationConcurrency: 1,
    destinationLeaseWait: '0.2s',
  });
  const leases = createLeaseStore(redis, '{inplace2}');
  const deps = { leases, opts, clock, logger: quiet, local: createLocalLeaseQueue() };
  const dest = 'smtp:[127.0.0.1]:2526';
  // Another process holds the only lease.
  expect((await leases.acquire(dest, 'other', destinationParams(dest, opts), Date.now())).kind).toBe(
    'granted',
  );
  await expect(
    runUnderLease(deps, request(1, 2526), async () => sent(request(1, 2526))),
  ).rejects.toBeInstanceOf(DestinationBusyError);
  await leases.release(dest, 'other', destinationParams(dest, opts), { kind: 'none' }, Date.now());

  // A local holder that keeps its lease past the 0.2 s budget: the waiter gives up.
  const events: string[] = [];
  const a = held(request(2, 2526), events);
  const first = runUnderLease(deps, request(2, 2526), a.run);
  await until(() => deps.local.held(dest) === 1);
  await expect(
    runUnderLease(deps, request(3, 2526), async () => sent(request(3, 2526))),
  ).rejects.toBeInstanceOf(DestinationBusyError);
  a.finish();
  await first;
  expect(events).toEqual(['start Q2', 'end Q2']);
});

it('during slow start one success lets two waiters in (the freed lease and the grown window)', async () => {
  const opts = resolveOptions({
    defaultDestinationConcurrencyLimit: 5,
    initialDestinationConcurrency: 2,
    destinationLeaseWait: '60s',
  });
  const deps = {
    leases: createLeaseStore(redis, '{inplace3}'),
    opts,
    clock,
    logger: quiet,
    local: createLocalLeaseQueue(),
  };
  const dest = 'smtp:[127.0.0.1]:2527';
  const events: string[] = [];
  const [a1, a2, b, c] = [1, 2, 3, 4].map((n) => held(request(n, 2527), events)) as [
    ReturnType<typeof held>,
    ReturnType<typeof held>,
    ReturnType<typeof held>,
    ReturnType<typeof held>,
  ];
  const holders = [
    runUnderLease(deps, request(1, 2527), a1.run),
    runUnderLease(deps, request(2, 2527), a2.run),
  ];
  await until(() => deps.local.held(dest) === 2);
  const waiting = [
    runUnderLease(deps, request(3, 2527), b.run),
    runUnderLease(deps, request(4, 2527), c.run),
  ];
  await until(() => deps.local.waiting(dest) === 2);
  a1.finish();
  await holders[0];
  // window 2 → 3 after the success: both waiters hold a lease beside the second holder
  await until(() => events.includes('start Q3') && events.includes('start Q4'));
  expect(deps.local.held(dest)).toBe(3);
  for (const x of [a2, b, c]) x.finish();
  await Promise.all([holders[1], ...waiting]);
  expect(deps.local.held(dest)).toBe(0);
});
