/**
 * mxq destinations / suspend / resume as processes against a real redis-server, and a worker's
 * lease store seeing the operator's suspension.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { destinationParams } from '../../../src/core/destination.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import { createLeaseStore } from '../../../src/destinations/lease-store.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');
const prefix = '{destcli}';
let server: RedisHandle;
let redis: Redis;

function mxq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { ...process.env, REDIS_URL: server.url, MXQ_PREFIX: prefix }, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  server = await startRedis({ appendonly: false });
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

it('lists leases, suspends and resumes a destination', async () => {
  const store = createLeaseStore(redis, prefix);
  const p = destinationParams('smtp:busy.test', resolveOptions({}));
  expect((await store.acquire('smtp:busy.test', 'l1', p, Date.now())).kind).toBe('granted');

  const listed = await mxq(['destinations', '--json']);
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.stdout)).toEqual([
    expect.objectContaining({
      destination: 'smtp:busy.test',
      leasesInUse: 1,
      limit: 20,
      window: 5,
      suspendedUntil: null,
    }),
  ]);

  const s = await mxq(['suspend', 'Busy.test', '--for', '10m', '--reason', 'maintenance window']);
  expect(s.code).toBe(0);
  expect(s.stdout).toContain('smtp:busy.test suspended until');
  expect(await store.acquire('smtp:busy.test', 'l2', p, Date.now())).toMatchObject({
    kind: 'suspended',
    reason: 'maintenance window',
  });
  const table = await mxq(['destinations']);
  expect(table.stdout).toMatch(
    /^DESTINATION\s+LEASES\s+LIMIT\s+WINDOW\s+RATE-DELAY\s+SUSPENDED-UNTIL\s+REASON$/m,
  );
  expect(table.stdout).toMatch(/smtp:busy\.test\s+1\s+20\s+5\s+0s\s+\S+Z\s+maintenance window/);

  const r = await mxq(['resume', 'smtp:busy.test']);
  expect([r.code, r.stdout.trim()]).toEqual([0, 'mxq resume: smtp:busy.test resumed']);
  expect((await store.acquire('smtp:busy.test', 'l3', p, Date.now())).kind).toBe('granted');
  expect((await mxq(['resume', 'smtp:busy.test'])).stdout).toContain('was not suspended');
}, 300_000);

it('refuses bad usage with exit 64', async () => {
  expect((await mxq(['suspend'])).code).toBe(64);
  expect((await mxq(['suspend', 'x.test', '--for', 'soon'])).code).toBe(64);
  expect((await mxq(['resume', 'a', 'b'])).code).toBe(64);
  expect((await mxq(['destinations', '--bogus'])).code).toBe(64);
}, 300_000);
