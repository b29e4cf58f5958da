/**
 * Destination lease and suspension metrics, fed by destination-gate.ts through lease-meter.ts,
 * against the real Redis lease scripts: a granted lease counts and shows in use while the attempt
 * runs; a job that finds no free lease counts a busy wait; the release that suspends a destination
 * counts one suspension and sets its gauge; the probe whose success lifts it drops the gauge.
 * Times are the clock's (an argument), so nothing waits.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { destinationParams } from '../../../src/core/destination.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { AttemptRequest, AttemptResult } from '../../../src/core/types.ts';
import { createLeaseStore } from '../../../src/destinations/lease-store.ts';
import { createLeaseMeter } from '../../../src/metrics/lease-meter.ts';
import { createMetrics } from '../../../src/metrics/registry.ts';
import { DestinationBusyError, runUnderLease } from '../../../src/workers/destination-gate.ts';
import { quietLogger } from '../../support/attempt-fixtures.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { sampleValue } from './prom-text.ts';

let server: RedisHandle;
let redis: Redis;
const T0 = 1_800_000_000_000;
let t = T0;
const opts = resolveOptions({
  defaultDestinationConcurrencyLimit: 2,
  initialDestinationConcurrency: 1,
  minimalBackoffTime: '60s',
});
const quiet = quietLogger();
const DEST = 'smtp:[127.0.0.1]:2525';

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

function request(n: number): AttemptRequest {
  return {
    queueId: `Q${n}`,
    sender: '',
    recipients: [{ address: `u${n}@dst.test` }],
    nexthop: '[127.0.0.1]:2525',
    protocol: 'smtp',
    message: Buffer.from('x\r\n'),
    size: 3,
    arrivalTime: T0,
  };
}

function result(req: AttemptRequest, fail: boolean): AttemptResult {
  const failure = {
    handler: 'sess' as const,
    status: '4.4.1',
    text: 'connect to 127.0.0.1: refused',
    throttle: true,
  };
  return {
    recipients: req.recipients.map((r) =>
      fail ? { recipient: r, status: 'deferred', failure } : { recipient: r, status: 'sent' },
    ) as AttemptResult['recipients'],
    servers: [],
    ...(fail ? { hopStatus: failure } : {}),
  };
}

it('counts leases, busy waits and suspensions, and shows leases in use and suspended destinations', async () => {
  const { registry, recorder } = createMetrics({ processMetrics: false });
  const leases = createLeaseStore(redis, '{leasemetrics}');
  const deps = { leases, opts, clock: { now: () => t }, logger: quiet, meter: createLeaseMeter(recorder) };
  const value = async (name: string) => sampleValue(await registry.metrics(), name, { destination: DEST });

  let inUse: number | undefined;
  await runUnderLease(deps, request(1), async () => {
    inUse = await value('mxq_destination_leases');
    return result(request(1), false);
  });
  expect(inUse).toBe(1);
  expect(await value('mxq_destination_leases')).toBeUndefined();
  expect(await value('mxq_destination_leases_acquired_total')).toBe(1);

  // window 2 after one success: two other holders leave none free
  const params = destinationParams(DEST, opts);
  expect((await leases.acquire(DEST, 'x', params, t)).kind).toBe('granted');
  expect((await leases.acquire(DEST, 'y', params, t)).kind).toBe('granted');
  await expect(runUnderLease(deps, request(2), async () => result(request(2), false))).rejects.toBeInstanceOf(
    DestinationBusyError,
  );
  expect(await value('mxq_destination_lease_busy_total')).toBe(1);
  await leases.release(DEST, 'x', params, { kind: 'none' }, t);
  await leases.release(DEST, 'y', params, { kind: 'none' }, t);

  // failed cohorts until the destination is suspended
  let n = 3;
  while ((await value('mxq_destination_suspended')) === undefined && n < 10) {
    await runUnderLease(deps, request(n), async () => result(request(n), true));
    n++;
  }
  expect(await value('mxq_destination_suspended')).toBe(1);
  expect(await value('mxq_destination_suspensions_total')).toBe(1);
  const deferred = await runUnderLease(deps, request(20), async () => result(request(20), false));
  expect(deferred.recipients[0]?.status).toBe('deferred');
  expect(await value('mxq_destination_suspensions_total')).toBe(1);

  // after the pause, one probe; its success lifts the suspension
  t += 61_000;
  await runUnderLease(deps, request(21), async () => result(request(21), false));
  expect(await value('mxq_destination_suspended')).toBeUndefined();
  expect(await value('mxq_destination_suspensions_total')).toBe(1);
  expect(await value('mxq_destination_leases')).toBeUndefined();
}, 30_000);
