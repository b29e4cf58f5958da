import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisNexthopState } from '../../../src/cache/redis-nexthop-state.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { until } from '../../support/wait.ts';

let server: RedisHandle;
let r: Redis;
beforeAll(async () => {
  server = await startRedis();
  r = new Redis(server.url);
});
afterAll(async () => {
  r.disconnect();
  await server.stop();
});

describe('Redis NexthopStateStore', () => {
  it('keeps every value under the prefix with its TTL and reads them back in one batch', async () => {
    const logger = memoryLogger();
    const s = createRedisNexthopState({
      redisUrl: server.url,
      prefix: '{tenant-a}',
      logger,
      readTimeoutMs: 15_000,
    });
    const ticket = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    s.bind('smtp:example.test', 'smtp:[127.0.0.2]:25', 60_000);
    s.markDead('smtp:[127.0.0.1]:25', 30_000);
    s.markBrokenTls('smtp:[127.0.0.2]:25', 90_000);
    s.putTicket('mx.example.test:25:abc', ticket, 120_000);
    await until('four keys', async () => ((await r.keys('{tenant-a}:nh:*')).length === 4 ? true : undefined));
    expect(await r.pttl('{tenant-a}:nh:dead:smtp:[127.0.0.1]:25')).toBeGreaterThan(20_000);
    expect(await r.pttl('{tenant-a}:nh:dead:smtp:[127.0.0.1]:25')).toBeLessThanOrEqual(30_000);
    const state = await s.read({
      binding: 'smtp:example.test',
      endpoints: ['smtp:[127.0.0.1]:25', 'smtp:[127.0.0.2]:25', 'smtp:[127.0.0.3]:25'],
      tickets: ['mx.example.test:25:abc', 'other:25:abc'],
    });
    expect(state.bound).toBe('smtp:[127.0.0.2]:25');
    expect([...state.dead]).toEqual(['smtp:[127.0.0.1]:25']);
    expect([...state.brokenTls]).toEqual(['smtp:[127.0.0.2]:25']);
    expect(state.tickets.get('mx.example.test:25:abc')?.equals(ticket)).toBe(true);
    expect(state.tickets.has('other:25:abc')).toBe(false);
    // Another prefix sees nothing.
    const other = createRedisNexthopState({
      redisUrl: server.url,
      prefix: '{tenant-b}',
      logger,
      readTimeoutMs: 15_000,
    });
    const none = await other.read({
      binding: 'smtp:example.test',
      endpoints: ['smtp:[127.0.0.1]:25'],
      tickets: [],
    });
    expect(none.bound).toBeUndefined();
    expect(none.dead.size).toBe(0);
    s.clearDead('smtp:[127.0.0.1]:25');
    await until('dead mark gone', async () =>
      (await r.exists('{tenant-a}:nh:dead:smtp:[127.0.0.1]:25')) === 0 ? true : undefined,
    );
    await s.close();
    await other.close();
  });

  it('a Redis that does not answer gives an empty state at the read deadline, and a warning', async () => {
    const logger = memoryLogger();
    const s = createRedisNexthopState({ redisUrl: server.url, prefix: '{p}', logger, readTimeoutMs: 200 });
    s.markDead('e1', 60_000);
    await until('mark written', async () => ((await r.exists('{p}:nh:dead:e1')) === 1 ? true : undefined));
    await r.client('PAUSE', 3000, 'ALL');
    const state = await s.read({ binding: 'b', endpoints: ['e1'], tickets: [] });
    expect(state.dead.size).toBe(0);
    expect(logger.records.some((x) => x.event === 'nexthop-state-read-timeout')).toBe(true);
    await r.client('UNPAUSE');
    await s.close();
  });
});
