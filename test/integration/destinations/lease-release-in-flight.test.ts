/**
 * destination-gate.ts with a release tracker (GateDeps.releases, as the delivery agent passes):
 * the attempt's result comes back as the release is sent, before its reply; the release still
 * reaches the real Redis lease store, and the tracker holds it until its reply has come. Without a
 * tracker the result waits for the reply, as before. Orders are asserted, never durations.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import type { DestinationLeases } from '../../../src/core/ports.ts';
import type { AttemptRequest } from '../../../src/core/types.ts';
import { createLeaseStore, destinationKeys } from '../../../src/destinations/lease-store.ts';
import { runUnderLease } from '../../../src/workers/destination-gate.ts';
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

const request = (n: number): AttemptRequest => attemptRequest(n, '[127.0.0.1]:2525');

const sent = sentResult;

/** The real store, with each release's reply held back until `let()` (the release is sent at once). */
function heldReleases(store: DestinationLeases, events: string[]) {
  const waiting: Array<() => void> = [];
  const leases: DestinationLeases = {
    ...store,
    release(...args) {
      events.push('release sent');
      const reply = store.release(...args);
      return new Promise((resolve, reject) => {
        waiting.push(() => {
          events.push('release reply');
          reply.then(resolve, reject);
        });
      });
    },
  };
  return {
    leases,
    let: () => {
      for (const f of waiting.splice(0)) f();
    },
  };
}

it('with a tracker, the result comes before the release reply, and the tracker holds the release until it', async () => {
  const events: string[] = [];
  const prefix = '{t1}';
  const held = heldReleases(createLeaseStore(redis, prefix), events);
  const releases = new Set<Promise<void>>();
  const opts = resolveOptions({});
  const deps = { leases: held.leases, opts, clock, logger: quiet, releases };
  await runUnderLease(deps, request(1), async () => sent(request(1)));
  events.push('result');
  expect(releases.size).toBe(1);
  held.let();
  await Promise.all(releases);
  expect(releases.size).toBe(0);
  expect(events).toEqual(['release sent', 'result', 'release reply']);
  // The lease went back to Redis.
  expect(await redis.zcard(destinationKeys(prefix).leases('[127.0.0.1]:2525'))).toBe(0);
});

it('without a tracker, the result waits for the release reply', async () => {
  const events: string[] = [];
  const held = heldReleases(createLeaseStore(redis, '{t2}'), events);
  const deps = { leases: held.leases, opts: resolveOptions({}), clock, logger: quiet };
  const done = runUnderLease(deps, request(2), async () => sent(request(2))).then(() =>
    events.push('result'),
  );
  for (let i = 0; i < 2000 && !events.includes('release sent'); i++)
    await new Promise((r) => setTimeout(r, 5));
  held.let();
  await done;
  expect(events).toEqual(['release sent', 'release reply', 'result']);
});
