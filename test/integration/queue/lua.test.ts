/**
 * lua.ts against a real redis-server: a script runs by digest (EVALSHA) once the server knows
 * it, falls back to EVAL after SCRIPT FLUSH (as after a Redis restart), keeps binary replies as
 * Buffers when asked, and passes other script errors through; a connection's scriptRunner sends
 * each script's first call by text, so calls keep their order even on a fresh server.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { luaScript, runScript, scriptRunner } from '../../../src/queue/lua.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

let server: RedisHandle;
let redis: Redis;

async function calls(name: string): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}

beforeAll(async () => {
  server = await startRedis({ appendonly: false });
  redis = new Redis(server.url, { enableAutoPipelining: true });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

it('runs by digest, and by text only when the server does not know the script', async () => {
  const incr = luaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  await redis.script('FLUSH');
  const eval0 = await calls('eval');
  expect(await runScript(redis, incr, ['{lua}:n'], [2])).toBe(2);
  expect(await calls('eval')).toBe(eval0 + 1);
  const sha0 = await calls('evalsha');
  expect(await runScript(redis, incr, ['{lua}:n'], [3])).toBe(5);
  expect(await calls('eval')).toBe(eval0 + 1);
  expect(await calls('evalsha')).toBe(sha0 + 1);
  await redis.script('FLUSH');
  expect(await runScript(redis, incr, ['{lua}:n'], [1])).toBe(6);
  expect(await calls('eval')).toBe(eval0 + 2);
});

it('scriptRunner: the first call by text, then by digest; a flushed script is sent again', async () => {
  const run = scriptRunner(redis);
  const append = luaScript("return redis.call('RPUSH', KEYS[1], ARGV[1])");
  await redis.script('FLUSH');
  const [eval0, sha0] = [await calls('eval'), await calls('evalsha')];
  // Three calls made in a row: all reach Redis in that order (no NOSCRIPT retry overtaken).
  await Promise.all([
    run(append, ['{lua}:l'], ['a']),
    redis.rpush('{lua}:l', 'b'),
    run(append, ['{lua}:l'], ['c']),
  ]);
  expect(await redis.lrange('{lua}:l', 0, -1)).toEqual(['a', 'b', 'c']);
  expect(await calls('eval')).toBe(eval0 + 1);
  expect(await calls('evalsha')).toBe(sha0 + 1);
  await redis.script('FLUSH');
  expect(await run(append, ['{lua}:l'], ['d'])).toBe(4);
});

it('returns bulk replies as Buffers when asked, strings otherwise', async () => {
  const get = luaScript("return redis.call('GET', KEYS[1])");
  const bytes = Buffer.from([0x00, 0xff, 0x0d, 0x0a]);
  await redis.set('{lua}:b', bytes);
  expect(await runScript(redis, get, ['{lua}:b'], [], true)).toEqual(bytes);
  await redis.set('{lua}:s', 'text');
  expect(await runScript(redis, get, ['{lua}:s'], [])).toBe('text');
});

it('passes script errors other than NOSCRIPT through', async () => {
  const bad = luaScript("return redis.call('INCR', KEYS[1])");
  await redis.set('{lua}:x', 'not a number');
  await expect(runScript(redis, bad, ['{lua}:x'], [])).rejects.toThrow(/not an integer/);
});
