/**
 * destination-gate.ts reservations (reserveLease, as the processor uses them through the agent's
 * `reserve`) against the real Redis lease scripts: the acquire is sent before the attempt's
 * request exists, and `run` uses that grant; a reservation cancelled after or before its grant
 * gives the lease back at once, with no feedback and no hold time (the window stays as it was); a
 * busy answer to a cancelled reservation is neither released nor counted; cancelling ends an
 * in-place wait. Orders and states are asserted, never durations.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { destinationParams } from '../../../src/core/destination.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { DestinationLeases } from '../../../src/core/ports.ts';
import type { AttemptRequest } from '../../../src/core/types.ts';
import { createLeaseStore, destinationKeys } from '../../../src/destinations/lease-store.ts';
import { DestinationBusyError, reserveLease, runUnderLease } from '../../../src/workers/destination-gate.ts';
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

/** The real store, with every answered acquire and every release (feedback, hold time) noted. */
function recording(store: DestinationLeases) {
  const calls: string[] = [];
  const leases: DestinationLeases = {
    ...store,
    async acquire(...args) {
      const grant = await store.acquire(...args);
      calls.push(`acquire ${grant.kind}`);
      return grant;
    },
    async release(dest, leaseId, p, fb, now, heldMs) {
      calls.push(`release ${fb.kind} ${heldMs !== undefined && heldMs >= 0 ? 'held' : 'no-hold'}`);
      return store.release(dest, leaseId, p, fb, now, heldMs);
    },
  };
  return { calls, leases };
}

/** Polls `cond` every 5 ms, at most 2,000 times (a bounded wait; it asserts no duration). */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 5));
  expect(await cond()).toBe(true);
}

function setup(prefix: string, o: { limit?: number; wait?: string } = {}) {
  const opts = resolveOptions({
    defaultDestinationConcurrencyLimit: o.limit ?? 5,
    initialDestinationConcurrency: Math.min(2, o.limit ?? 5),
    destinationLeaseWait: o.wait ?? '0.2s',
  });
  const rec = recording(createLeaseStore(redis, prefix));
  const busy: string[] = [];
  const meter = { acquired: () => undefined, released: () => undefined, busy: (d: string) => busy.push(d) };
  const local = createLocalLeaseQueue();
  const releases = new Set<Promise<void>>();
  const deps = { leases: rec.leases, opts, clock, logger: quiet, local, meter, releases };
  const k = destinationKeys(prefix);
  const inUse = (dest: string) => redis.zcard(k.leases(dest));
  const state = (dest: string) => redis.hmget(k.state(dest), 'window', 'failCohorts', 'holdMs');
  return { deps, calls: rec.calls, busy, local, releases, inUse, state, opts };
}

it('sends the acquire before the attempt exists; run uses that grant and releases with feedback', async () => {
  const t = setup('{resv1}');
  const dest = 'smtp:[127.0.0.1]:2531';
  const req = request(1, 2531);
  const r = reserveLease(t.deps, req);
  await until(async () => (await t.inUse(dest)) === 1);
  expect(t.calls).toEqual(['acquire granted']);
  expect(t.local.held(dest)).toBe(1);
  const result = await r.run(req, async () => sent(req));
  expect(result.recipients[0]?.status).toBe('sent');
  await Promise.all(t.releases);
  expect(t.calls).toEqual(['acquire granted', 'release ok held']);
  expect(await t.inUse(dest)).toBe(0);
  // the success grew the window (2 → 3) and the hold time was recorded
  const [window, , holdMs] = await t.state(dest);
  expect(window).toBe('3');
  expect(holdMs).not.toBeNull();
  // cancel after run does nothing
  r.cancel();
  await Promise.all(t.releases);
  expect(t.calls).toEqual(['acquire granted', 'release ok held']);
});

it('cancel after the grant gives the lease back at once, without feedback or hold time', async () => {
  const t = setup('{resv2}');
  const dest = 'smtp:[127.0.0.1]:2532';
  const req = request(2, 2532);
  const r = reserveLease(t.deps, req);
  await until(async () => (await t.inUse(dest)) === 1);
  r.cancel();
  await until(() => t.calls.includes('release none no-hold'));
  await Promise.all(t.releases);
  expect(t.calls).toEqual(['acquire granted', 'release none no-hold']);
  expect(await t.inUse(dest)).toBe(0);
  expect(t.local.held(dest)).toBe(0);
  expect(await t.state(dest)).toEqual(['2', null, null]);
  await expect(r.run(req, async () => sent(req))).rejects.toThrow(/already cancelled/);
  expect(t.calls).toHaveLength(2);
});

it('cancel before the answer: the grant that comes later goes back', async () => {
  const t = setup('{resv3}');
  const dest = 'smtp:[127.0.0.1]:2533';
  const r = reserveLease(t.deps, request(3, 2533));
  r.cancel();
  await until(() => t.calls.includes('release none no-hold'));
  await Promise.all(t.releases);
  expect(t.calls).toEqual(['acquire granted', 'release none no-hold']);
  expect(await t.inUse(dest)).toBe(0);
  expect(t.local.held(dest)).toBe(0);
  expect(await t.state(dest)).toEqual(['2', null, null]);
});

it('a busy answer to a cancelled reservation is not counted; run on a busy one throws', async () => {
  const t = setup('{resv4}', { limit: 1 });
  const dest = 'smtp:[127.0.0.1]:2534';
  const p = destinationParams(dest, t.opts);
  // another process holds the only lease
  const store = createLeaseStore(redis, '{resv4}');
  expect((await store.acquire(dest, 'other', p, Date.now())).kind).toBe('granted');
  const cancelled = reserveLease(t.deps, request(4, 2534));
  cancelled.cancel();
  await until(() => t.calls.includes('acquire busy'));
  const refused = reserveLease(t.deps, request(5, 2534));
  await expect(refused.run(request(5, 2534), async () => sent(request(5, 2534)))).rejects.toBeInstanceOf(
    DestinationBusyError,
  );
  // only the run counted a busy answer; nothing was released (no lease was granted)
  expect(t.busy).toEqual([dest]);
  expect(t.calls).toEqual(['acquire busy', 'acquire busy']);
  expect(await redis.zrange(destinationKeys('{resv4}').leases(dest), 0, -1)).toEqual(['other']);
  await store.release(dest, 'other', p, { kind: 'none' }, Date.now());
});

it('cancel ends an in-place wait, and that reservation never takes the lease', async () => {
  const t = setup('{resv5}', { limit: 1, wait: '60s' });
  const dest = 'smtp:[127.0.0.1]:2535';
  let finish: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    finish = r;
  });
  const holder = runUnderLease(t.deps, request(6, 2535), async () => {
    await gate;
    return sent(request(6, 2535));
  });
  await until(() => t.local.held(dest) === 1);
  const waiter = reserveLease(t.deps, request(7, 2535));
  await until(() => t.local.waiting(dest) === 1);
  waiter.cancel();
  await until(() => t.local.waiting(dest) === 0);
  finish();
  await holder;
  await Promise.all(t.releases);
  expect(t.calls).toEqual(['acquire granted', 'acquire busy', 'release ok held']);
  expect(await t.inUse(dest)).toBe(0);
  expect(t.local.held(dest)).toBe(0);
});

it('an attempt that throws still gives its lease back (no feedback)', async () => {
  const t = setup('{resv6}');
  const dest = 'smtp:[127.0.0.1]:2536';
  const req = request(8, 2536);
  const r = reserveLease(t.deps, req);
  await expect(
    r.run(req, async () => {
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  await Promise.all(t.releases);
  expect(t.calls).toEqual(['acquire granted', 'release none held']);
  expect(await t.inUse(dest)).toBe(0);
});
