/**
 * The Redis lease scripts against a real redis-server: pool-wide limit, slow start, shrink on a
 * failed cohort, suspension with one probe after the pause, rate delay, lease expiry (a dead
 * holder), operator suspend/resume. Times are arguments, so nothing here waits on the clock.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destinationParams } from '../../../src/core/destination.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { DestinationLeases } from '../../../src/core/ports.ts';
import {
  createLeaseStore,
  destinationKeys,
  destinationStatus,
  listDestinations,
  resumeDestination,
  suspendDestination,
} from '../../../src/destinations/lease-store.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let server: RedisHandle;
let redis: Redis;
let store: DestinationLeases;
const prefix = '{leasetest}';
const T0 = 1_800_000_000_000;
const opts = resolveOptions({
  defaultDestinationConcurrencyLimit: 4,
  initialDestinationConcurrency: 2,
  minimalBackoffTime: '60s',
  destinationLeaseTtl: '30s',
});
const p = destinationParams('smtp:a.test', opts);

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  store = createLeaseStore(redis, prefix);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const kinds = async (dest: string, ids: string[], now: number) => {
  const out: string[] = [];
  for (const id of ids) out.push((await store.acquire(dest, id, p, now)).kind);
  return out;
};

describe('destination leases in Redis', () => {
  it('starts at the initial concurrency, grows by one per success up to the limit', async () => {
    const d = 'smtp:grow.test';
    expect(await kinds(d, ['a', 'b', 'c'], T0)).toEqual(['granted', 'granted', 'busy']);
    await store.release(d, 'a', p, { kind: 'ok' }, T0);
    expect((await destinationStatus(redis, prefix, d, T0)).window).toBe(3);
    expect(await kinds(d, ['c', 'd', 'e'], T0)).toEqual(['granted', 'granted', 'busy']);
    for (const id of ['b', 'c', 'd']) await store.release(d, id, p, { kind: 'ok' }, T0);
    expect((await destinationStatus(redis, prefix, d, T0)).window).toBe(4);
    expect(await kinds(d, ['1', '2', '3', '4', '5'], T0)).toEqual([
      'granted',
      'granted',
      'granted',
      'granted',
      'busy',
    ]);
  });

  it('shrinks on failures and suspends at the cohort limit; one probe after the pause lifts it', async () => {
    const d = 'smtp:dead.test';
    const fail = {
      kind: 'fail' as const,
      status: '4.4.1',
      reason: 'connect to mx[1.2.3.4]:25: Connection refused',
    };
    expect(await kinds(d, ['a', 'b'], T0)).toEqual(['granted', 'granted']);
    await store.release(d, 'a', p, fail, T0);
    const after1 = await destinationStatus(redis, prefix, d, T0);
    expect([after1.window, after1.failCohorts, after1.suspendedUntil]).toEqual([1, 0.5, undefined]);
    await store.release(d, 'b', p, fail, T0 + 1);
    const dead = await destinationStatus(redis, prefix, d, T0 + 1);
    expect(dead.suspendedUntil).toBe(T0 + 1 + 60_000);
    expect(dead.reason).toBe(fail.reason);
    expect(await store.acquire(d, 'c', p, T0 + 2)).toEqual({
      kind: 'suspended',
      until: T0 + 1 + 60_000,
      status: '4.4.1',
      reason: fail.reason,
    });
    const later = T0 + 61_001;
    expect(await store.acquire(d, 'probe', p, later)).toEqual({ kind: 'granted', probe: true });
    expect((await store.acquire(d, 'other', p, later)).kind).toBe('suspended');
    await store.release(d, 'probe', p, { kind: 'ok' }, later + 5);
    const alive = await destinationStatus(redis, prefix, d, later + 5);
    expect([alive.suspendedUntil, alive.window]).toEqual([undefined, 2]);
    expect(await kinds(d, ['x', 'y'], later + 6)).toEqual(['granted', 'granted']);
  });

  it('a failed probe suspends again', async () => {
    const d = 'smtp:still-dead.test';
    const fail = { kind: 'fail' as const, status: '4.4.2', reason: 'lost connection' };
    await suspendDestination(redis, prefix, d, { until: T0 + 10, reason: 'by operator', now: T0 });
    expect((await store.acquire(d, 'p', p, T0 + 11)).kind).toBe('granted');
    await store.release(d, 'p', p, fail, T0 + 12);
    expect((await destinationStatus(redis, prefix, d, T0 + 13)).suspendedUntil).toBe(T0 + 12 + 60_000);
  });

  it('4xx-only attempts (no hop status) are successes; "none" feedback changes nothing', async () => {
    const d = 'smtp:greylist.test';
    await kinds(d, ['a', 'b'], T0);
    await store.release(d, 'a', p, { kind: 'none' }, T0);
    expect((await destinationStatus(redis, prefix, d, T0)).window).toBe(2);
    await store.release(d, 'b', p, { kind: 'ok' }, T0);
    expect((await destinationStatus(redis, prefix, d, T0)).window).toBe(3);
  });

  it('a lease of a dead holder expires after its TTL; a renewed one does not', async () => {
    const d = 'smtp:ttl.test';
    expect(await kinds(d, ['dead', 'alive'], T0)).toEqual(['granted', 'granted']);
    expect((await store.acquire(d, 'x', p, T0 + 20_000)).kind).toBe('busy');
    await store.renew(d, 'alive', p, T0 + 20_000);
    expect((await destinationStatus(redis, prefix, d, T0 + 30_001)).leasesInUse).toBe(1);
    expect(await kinds(d, ['x', 'y'], T0 + 30_001)).toEqual(['granted', 'busy']);
  });

  it('spaces waiting jobs by the number waiting and the average hold time (slow start: at the limit pace)', async () => {
    const d = 'smtp:crowded.test';
    expect(await kinds(d, ['a', 'b'], T0)).toEqual(['granted', 'granted']);
    await store.release(d, 'a', p, { kind: 'none' }, T0 + 1000, 1000);
    await store.acquire(d, 'a2', p, T0 + 1000);
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const g = await store.acquire(d, `w${i}`, p, T0 + 1000, `job${i}`);
      waits.push(g.kind === 'busy' ? g.retryInMs : -1);
    }
    // window 2 and growing (no failed cohort), limit 4, 1 s average hold: the n-th waiter comes
    // back after about ceil(n / 4) s (by the window it would be ceil(n / 2) s: a backlog's jobs
    // sent far away while the window grows to the limit).
    expect(waits).toEqual([1000, 1000, 1000, 1000, 2000, 2000, 2000, 2000, 3000, 3000]);
    // A waiter that asks again keeps its place; one that gets a lease leaves the list.
    expect(await store.acquire(d, 'again', p, T0 + 1000, 'job0')).toEqual({ kind: 'busy', retryInMs: 3000 });
    await store.release(d, 'b', p, { kind: 'none' }, T0 + 1500, 500);
    expect((await store.acquire(d, 'got', p, T0 + 1500, 'job0')).kind).toBe('granted');
    expect(await redis.zscore(`${prefix}:dest:${d}:waiters`, 'job0')).toBeNull();
    expect(await redis.zscore(`${prefix}:dest:${d}:waiters`, 'job1')).not.toBeNull();
  });

  it('while a failed cohort holds the window down, spaces waiting jobs by the window', async () => {
    const d = 'smtp:throttled.test';
    expect(await kinds(d, ['a', 'b'], T0)).toEqual(['granted', 'granted']);
    await store.release(
      d,
      'a',
      p,
      { kind: 'fail', status: '4.4.2', reason: 'lost connection' },
      T0 + 1000,
      1000,
    );
    await store.release(d, 'b', p, { kind: 'none' }, T0 + 1000, 1000);
    const st = await redis.hmget(`${prefix}:dest:${d}:state`, 'window', 'failCohorts');
    expect(Number(st[1])).toBeGreaterThan(0);
    const cap = Math.max(1, Math.floor(Number(st[0])));
    expect(cap).toBeLessThan(p.concurrencyLimit);
    for (let i = 0; i < cap; i++)
      expect((await store.acquire(d, `g${i}`, p, T0 + 1000)).kind).toBe('granted');
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const g = await store.acquire(d, `w${i}`, p, T0 + 1000, `job${i}`);
      waits.push(g.kind === 'busy' ? g.retryInMs : -1);
    }
    expect(waits).toEqual([1, 2, 3, 4, 5, 6].map((n) => Math.ceil(n / cap) * 1000));
  });

  it('lists destinations by last release; an index entry whose state expired is dropped', async () => {
    const [d1, d2] = ['smtp:used-first.test', 'smtp:used-last.test'];
    await kinds(d1, ['a'], T0);
    await kinds(d2, ['a'], T0 + 1);
    await store.release(d2, 'a', p, { kind: 'ok' }, T0 + 10);
    await store.release(d1, 'a', p, { kind: 'ok' }, T0 + 20);
    const mine = async () =>
      (await listDestinations(redis, prefix, T0 + 30))
        .filter((s) => s.destination === d1 || s.destination === d2)
        .map((s) => [s.destination, s.lastUsedAt]);
    expect(await mine()).toEqual([
      [d1, T0 + 20],
      [d2, T0 + 10],
    ]);
    expect(await redis.pttl(`${prefix}:dest:${d1}:state`)).toBeGreaterThan(0);
    await redis.del(`${prefix}:dest:${d1}:state`);
    expect(await mine()).toEqual([[d2, T0 + 10]]);
    expect(await redis.zscore(`${prefix}:dests`, d1)).toBeNull();
  });

  it("renews the window state's 7-day TTL at a release when it was last set over an hour ago", async () => {
    const d = 'smtp:ttl-renew.test';
    const state = `${prefix}:dest:${d}:state`;
    await kinds(d, ['a'], T0);
    await redis.pexpire(state, 100_000);
    await store.release(d, 'a', p, { kind: 'ok' }, T0 + 600_000);
    expect(await redis.pttl(state)).toBeLessThanOrEqual(100_000);
    await kinds(d, ['b'], T0 + 2 * 3_600_000);
    await store.release(d, 'b', p, { kind: 'ok' }, T0 + 2 * 3_600_000);
    expect(await redis.pttl(state)).toBeGreaterThan(6 * 86_400_000);
  });

  it('a rate delay spaces deliveries pool-wide', async () => {
    const d = 'smtp:slow.test';
    const rated = destinationParams(
      d,
      resolveOptions({ destinationOverrides: { 'slow.test': { rateDelay: '2s' } } }),
    );
    expect(rated.rateDelayMs).toBe(2000);
    expect((await store.acquire(d, 'a', rated, T0)).kind).toBe('granted');
    await store.release(d, 'a', rated, { kind: 'ok' }, T0 + 100);
    expect(await store.acquire(d, 'b', rated, T0 + 500)).toEqual({ kind: 'busy', retryInMs: 1500 });
    expect((await store.acquire(d, 'b', rated, T0 + 2000)).kind).toBe('granted');
  });

  it('a release asked to hand its freed slots on returns the earliest waiting jobs and takes them out of the list', async () => {
    const d = 'smtp:handoff.test';
    const waiting = () => redis.zrange(destinationKeys(prefix).waiters(d), 0, -1);
    expect(await kinds(d, ['a', 'b'], T0)).toEqual(['granted', 'granted']);
    for (const n of [1, 2, 3])
      expect((await store.acquire(d, `x${n}`, p, T0 + n, `job.${n}`)).kind).toBe('busy');
    expect(await waiting()).toEqual(['job.1', 'job.2', 'job.3']);
    // Not asked (in-process delivery, no job to promote): nothing handed, the list stays.
    expect(await store.release(d, 'b', p, { kind: 'none' }, T0 + 10)).toEqual({ handedTo: [] });
    expect(await waiting()).toEqual(['job.1', 'job.2', 'job.3']);
    expect((await store.acquire(d, 'b2', p, T0 + 11)).kind).toBe('granted');
    // The freed lease goes to the earliest waiter.
    expect(await store.release(d, 'a', p, { kind: 'none' }, T0 + 12, 5, { max: 1, reserved: 0 })).toEqual({
      handedTo: ['job.1'],
    });
    expect(await waiting()).toEqual(['job.2', 'job.3']);
    expect((await store.acquire(d, 'job.1', p, T0 + 13, 'job.1')).kind).toBe('granted');
    // A success grows the window 2 → 3 (two slots), one of them promised to a local waiter: one handed.
    expect(await store.release(d, 'b2', p, { kind: 'ok' }, T0 + 14, 5, { max: 2, reserved: 1 })).toEqual({
      handedTo: ['job.2'],
    });
    expect(await waiting()).toEqual(['job.3']);
    // Window 3 → 4, nothing held: as many as are waiting (one).
    expect(await store.release(d, 'job.1', p, { kind: 'ok' }, T0 + 15, 5, { max: 2, reserved: 0 })).toEqual({
      handedTo: ['job.3'],
    });
    expect(await waiting()).toEqual([]);
    // Nobody waiting: nothing handed; the release that finds the list empty clears waitedAt, so
    // the next releases do not read the list (issue 10: a release with nobody waiting costs 3).
    expect((await store.acquire(d, 'c', p, T0 + 16)).kind).toBe('granted');
    expect(await store.release(d, 'c', p, { kind: 'ok' }, T0 + 17, 5, { max: 1, reserved: 0 })).toEqual({
      handedTo: [],
    });
    expect(await redis.hget(destinationKeys(prefix).state(d), 'waitedAt')).toBe('0');
    const zranges = async () =>
      Number(/cmdstat_zrange:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const before = await zranges();
    expect((await store.acquire(d, 'e', p, T0 + 18)).kind).toBe('granted');
    expect(await store.release(d, 'e', p, { kind: 'ok' }, T0 + 19, 5, { max: 1, reserved: 0 })).toEqual({
      handedTo: [],
    });
    expect(await zranges()).toBe(before);
  });

  it('with jobs queued to run, a release hands on only what they cannot fill, and all when it leaves no lease held', async () => {
    const d = 'smtp:handoff-queued.test';
    const waiting = () => redis.zrange(destinationKeys(prefix).waiters(d), 0, -1);
    expect(await kinds(d, ['a', 'b'], T0)).toEqual(['granted', 'granted']);
    for (const n of [1, 2, 3])
      expect((await store.acquire(d, `x${n}`, p, T0 + n, `job.${n}`)).kind).toBe('busy');
    // b still held, two jobs queued: they take the two freed slots (window 2 → 3), none handed
    expect(
      await store.release(d, 'a', p, { kind: 'ok' }, T0 + 10, 5, { max: 2, reserved: 0, queued: 2 }),
    ).toEqual({ handedTo: [] });
    expect(await waiting()).toEqual(['job.1', 'job.2', 'job.3']);
    // one queued job for two slots: one handed on
    expect((await store.acquire(d, 'a2', p, T0 + 11)).kind).toBe('granted');
    expect(
      await store.release(d, 'a2', p, { kind: 'ok' }, T0 + 12, 5, { max: 2, reserved: 0, queued: 1 }),
    ).toEqual({ handedTo: ['job.1'] });
    // the last lease held comes back: the count may be stale, so every freed slot is handed on
    expect(
      await store.release(d, 'b', p, { kind: 'ok' }, T0 + 13, 5, { max: 2, reserved: 0, queued: 5 }),
    ).toEqual({ handedTo: ['job.2', 'job.3'] });
    expect(await waiting()).toEqual([]);
  });

  it('a release hands nothing on while its destination is suspended', async () => {
    const d = 'smtp:handoff-suspended.test';
    const waiting = () => redis.zrange(destinationKeys(prefix).waiters(d), 0, -1);
    expect(await kinds(d, ['a', 'b'], T0)).toEqual(['granted', 'granted']);
    expect((await store.acquire(d, 'x', p, T0 + 1, 'job.1')).kind).toBe('busy');
    await suspendDestination(redis, prefix, d, { until: T0 + 3_600_000, reason: 'by operator', now: T0 + 2 });
    expect(await store.release(d, 'a', p, { kind: 'none' }, T0 + 3, 5, { max: 1, reserved: 0 })).toEqual({
      handedTo: [],
    });
    expect(await waiting()).toEqual(['job.1']);
  });

  it('operators list, suspend and resume destinations', async () => {
    const d = 'smtp:ops.test';
    await suspendDestination(redis, prefix, d, {
      until: T0 + 3_600_000,
      reason: 'suspended by operator',
      now: T0,
    });
    expect((await store.acquire(d, 'a', p, T0 + 1)).kind).toBe('suspended');
    const listed = await listDestinations(redis, prefix, T0 + 1);
    expect(listed.find((s) => s.destination === d)).toMatchObject({
      reason: 'suspended by operator',
      suspendedUntil: T0 + 3_600_000,
    });
    expect(await resumeDestination(redis, prefix, d, 2)).toBe(true);
    expect((await store.acquire(d, 'a', p, T0 + 2)).kind).toBe('granted');
  });
});
