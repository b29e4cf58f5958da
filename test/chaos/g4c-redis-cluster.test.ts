/**
 * Redis Cluster: three primaries on loopback (AOF on), the queue client and a real `mxq worker`
 * given a redis-cluster:// URL. 20 messages are sent and delivered to the fault peer; the checker
 * reconciles every recipient (sent once, 0 lost). Every key mxq and BullMQ wrote hashes to the one
 * slot of the `{mxq}` tag, so one primary holds all of them and the other two hold none. Then the
 * worker stops and an `mxq pool -n 2` on the same URL delivers 20 more. The start-up safety check
 * reads every primary (one turned unsafe is named).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisClient } from '../../src/queue/connection.ts';
import { checkRedisSafety } from '../../src/workers/redis-safety.ts';
import { stopWorker } from '../e2e/helpers.ts';
import { poolReady, spawnPool, stopPool } from '../e2e/pool-helpers.ts';
import type { SentMessage } from './checker.ts';
import { type ChaosEnv, chaosEnv } from './env.ts';
import { type RedisClusterSet, startRedisCluster } from './redis-cluster.ts';

let set: RedisClusterSet;
let env: ChaosEnv;

beforeAll(async () => {
  set = await startRedisCluster();
  env = await chaosEnv({ name: 'mxq', redisUrl: set.url });
  await env.spawn();
}, 120_000);
afterAll(async () => {
  await env?.close();
  await set?.stop();
});

it('Redis Cluster: a worker delivers 20 messages through three primaries; one slot; 0 lost', async () => {
  expect(env.prefix).toBe('{mxq}');
  const sent: SentMessage[] = await env.load(20);
  const r = await env.settle(sent, 120_000);
  env.report('Redis Cluster (3 primaries, redis-cluster:// URL)', r);
  expect(r.problems).toEqual([]);
  expect(r.lost).toBe(0);
  expect(r.duplicates).toBe(0);
  expect(r.sent).toBe(r.recipients);
  expect(env.live()).toHaveLength(1);

  const id = sent[0]?.queueId ?? '';
  const names = [
    env.mq.keys.message(id),
    env.mq.keys.messagePass(id),
    env.mq.keys.journal(id),
    env.mq.keys.messageIndex,
    `${env.mq.keys.bullPrefix}:${env.mq.keys.deliverQueue}:completed`,
  ];
  const probe = set.node(0);
  const sizes: number[] = [];
  try {
    const slots = await Promise.all(names.map((k) => probe.call('CLUSTER', 'KEYSLOT', k)));
    expect(new Set(slots).size).toBe(1);
  } finally {
    probe.disconnect();
  }
  for (let i = 0; i < set.nodes.length; i++) {
    const c = set.node(i);
    try {
      sizes.push(await c.dbsize());
    } finally {
      c.disconnect();
    }
  }
  // all of mxq on one primary: Cluster gives failover, not sharding
  expect(sizes.filter((n) => n > 0)).toHaveLength(1);
}, 180_000);

it('Redis Cluster: an mxq pool of 2 delivers 20 more through it; 0 lost', async () => {
  for (const w of env.workers) await stopWorker(w);
  const pool = spawnPool({ config: env.config, redis: set.url, prefix: env.prefix, processes: 2 });
  try {
    await poolReady(pool, 2);
    const sent = await env.load(20, (i, j) => `p${i}x${j}`, 2);
    const r = await env.settle(sent, 120_000);
    env.report('Redis Cluster via mxq pool -n 2', r);
    expect(r.problems).toEqual([]);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.sent).toBe(r.recipients);
  } finally {
    expect(await stopPool(pool)).toBe(0);
  }
}, 240_000);

it('Redis Cluster: the safety check reads every primary and names an unsafe one', async () => {
  const client = createRedisClient(set.url, { maxRetriesPerRequest: 2, lazyConnect: true });
  const third = set.node(2);
  try {
    await client.connect();
    expect(await checkRedisSafety(client)).toEqual({ safe: true, problems: [] });
    await third.config('SET', 'appendonly', 'no');
    const v = await checkRedisSafety(client);
    expect(v.safe).toBe(false);
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toContain(`primary 127.0.0.1:${set.nodes[2]?.port}: no persistence`);
  } finally {
    await third.config('SET', 'appendonly', 'yes').catch(() => undefined);
    third.disconnect();
    client.disconnect();
  }
}, 60_000);
