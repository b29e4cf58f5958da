/**
 * The pool's /metrics server (startPoolMetrics) with real forked children and a real redis-server:
 * one child answers, one hangs (never answers): the scrape still completes, holds the answering
 * child's deliveries and the supervisor's counters, and counts the silent child as a miss.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type PoolSnapshot, startPoolMetrics } from '../../../src/metrics/pool-metrics.ts';
import type { MetricsServer } from '../../../src/metrics/server.ts';
import { queueKeys } from '../../../src/queue/keys.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { sampleValue } from './prom-text.ts';

const CHILD = resolve(import.meta.dirname, 'metrics-child.fixture.ts');
const children: ChildProcess[] = [];
let server: RedisHandle;
let redis: Redis;
let queue: Queue;
let metrics: MetricsServer | undefined;

function start(args: string[]): Promise<ChildProcess> {
  const child = fork(CHILD, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`child exited ${code}`)));
    child.on('message', (m) => {
      if (typeof m === 'object' && m !== null && 'type' in m && m.type === 'ready') done(child);
    });
  });
}

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const keys = queueKeys('{poolmetrics}');
  queue = new Queue(keys.deliverQueue, { connection: redis, prefix: keys.bullPrefix });
  await Promise.all([start(['5', 'a.test']), start(['7', 'b.test', 'silent'])]);
}, 60_000);

afterAll(async () => {
  await metrics?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await queue?.close();
  redis?.disconnect();
  await server?.stop();
});

it('a child that does not answer is left out and counted; the scrape completes', async () => {
  const snapshot: PoolSnapshot = {
    childrenByState: { running: 2 },
    restarts: 3,
    hostCache: {
      idle: 1,
      stores: 4,
      hitsDest: 2,
      hitsEndpoint: 1,
      misses: 5,
      expiries: 0,
      discards: 0,
      handovers: 6,
    },
    tlsOwner: { handshakes: 2, failures: 1, linksOpen: 1 },
  };
  metrics = await startPoolMetrics({
    listen: '127.0.0.1:0',
    childTimeoutMs: 500,
    source: {
      snapshot: () => snapshot,
      children: () => children,
      queue,
      redis,
      keys: queueKeys('{poolmetrics}'),
    },
  });
  const first = await (await fetch(metrics.url)).text();
  expect(sampleValue(first, 'mxq_pool_children_scraped', {})).toBe(1);
  expect(sampleValue(first, 'mxq_deliveries_total', { status: 'sent', dsn_class: '2' })).toBe(5);
  expect(sampleValue(first, 'mxq_pool_children', { state: 'running' })).toBe(2);
  expect(sampleValue(first, 'mxq_pool_children', { state: 'exited' })).toBe(0);
  expect(sampleValue(first, 'mxq_pool_child_restarts_total', {})).toBe(3);
  expect(sampleValue(first, 'mxq_host_session_cache_idle', {})).toBe(1);
  expect(sampleValue(first, 'mxq_host_session_cache_hits_total', { label_kind: 'dest' })).toBe(2);
  expect(sampleValue(first, 'mxq_host_session_cache_handovers_total', {})).toBe(6);
  expect(sampleValue(first, 'mxq_tls_owner_handshakes_total', { result: 'failed' })).toBe(1);
  expect(sampleValue(first, 'mxq_redis_up', {})).toBe(1);
  const second = await (await fetch(metrics.url)).text();
  expect(sampleValue(second, 'mxq_pool_scrape_misses_total', {})).toBe(1);
  // the supervisor's totals are read, not added up, at every scrape
  expect(sampleValue(second, 'mxq_pool_child_restarts_total', {})).toBe(3);
}, 60_000);
