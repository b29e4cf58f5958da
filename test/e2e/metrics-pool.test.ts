/**
 * Scenario: `mxq pool -n 2 --metrics 127.0.0.1:0` serves one /metrics for the whole pool: the
 * deliveries of both worker processes summed (asked over IPC at scrape time), the pool's children
 * by state, the host session cache and the session-cache lookups by tier; queue depth read once
 * by the supervisor; a non-loopback bind without a token is refused (exit 64) before any child.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { sampleValue } from '../integration/metrics/prom-text.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { until, writeConfig } from './helpers.ts';
import { type PoolProcess, poolReady, poolStatus, spawnPool, stopPool } from './pool-helpers.ts';

const prefix = '{e2emetricspool}';
const MESSAGES = 8;
let server: RedisHandle;
let peer: SmtpPeer;
let mq: MailQueue;
let config = '';
const pools: PoolProcess[] = [];

beforeAll(async () => {
  server = await startRedis();
  // a short pause at the end of DATA keeps one process busy, so the other takes jobs too
  peer = await startSmtpPeer({ host: '127.0.0.1', script: { delayMs: { dot: 300 } } });
  const options = {
    myhostname: 'mta.test',
    smtpTlsSecurityLevel: 'none' as const,
    relayhost: `[127.0.0.1]:${peer.port}`,
  };
  config = await writeConfig(options);
  mq = createMailQueue({ redis: server.url, prefix, options });
});

afterAll(async () => {
  for (const p of pools) await stopPool(p);
  await mq?.close();
  await peer?.stop();
  await server?.stop();
});

it('one scrape sums both children and shows the pool and its host cache', async () => {
  const pool = spawnPool({
    config,
    redis: server.url,
    prefix,
    processes: 2,
    extra: ['--concurrency', '1', '--metrics', '127.0.0.1:0'],
  });
  pools.push(pool);
  await poolReady(pool, 2);
  const url = await until(
    'metrics url',
    async () => /metrics on (http:\/\/\S+)/.exec(pool.output())?.[1],
    15_000,
  );
  const sent = await Promise.all(
    Array.from({ length: MESSAGES }, (_, i) =>
      mq.send({ from: 'app@src.test', to: [`u${i}@dst.test`], message: `Subject: ${i}\r\n\r\nx\r\n` }),
    ),
  );
  for (const { queueId } of sent) {
    const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 60_000 });
    expect(outcome.map((o) => o.status)).toEqual(['sent']);
  }
  // each process delivered some of them (its session cache was asked)
  const status = await poolStatus(pool);
  for (const c of status.children) {
    const lookups = Object.entries(c.cache ?? {})
      .filter(([k]) => k.startsWith('hits') || k === 'misses')
      .reduce((n, [, v]) => n + v, 0);
    expect(lookups, `child ${c.index}`).toBeGreaterThan(0);
  }
  const text = await until(
    'a scrape with every delivery',
    async () => {
      const t = await (await fetch(url)).text();
      return sampleValue(t, 'mxq_deliveries_total', { status: 'sent', dsn_class: '2' }) === MESSAGES
        ? t
        : undefined;
    },
    30_000,
  );
  expect(sampleValue(text, 'mxq_pool_children_scraped', {})).toBe(2);
  expect(sampleValue(text, 'mxq_pool_children', { state: 'running' })).toBe(2);
  expect(sampleValue(text, 'mxq_pool_children', { state: 'restarting' })).toBe(0);
  expect(sampleValue(text, 'mxq_pool_child_restarts_total', {})).toBe(0);
  expect(
    sampleValue(text, 'mxq_attempt_duration_seconds_count', { transport: 'smtp', outcome: 'sent' }),
  ).toBe(MESSAGES);
  // plaintext sessions go to the host tier: stored there, and every lookup counted by tier
  expect(sampleValue(text, 'mxq_host_session_cache_stores_total', {})).toBeGreaterThanOrEqual(1);
  expect(sampleValue(text, 'mxq_host_session_cache_idle', {})).toBeGreaterThanOrEqual(0);
  const tier = (t: string, result: string) =>
    sampleValue(text, 'mxq_session_cache_lookups_total', { tier: t, result }) ?? 0;
  // an attempt may look up more than one label (next-hop, then endpoint)
  expect(tier('local', 'hit') + tier('local', 'miss')).toBeGreaterThanOrEqual(MESSAGES);
  expect(tier('host', 'hit') + tier('host', 'miss')).toBe(tier('local', 'miss'));
  expect(sampleValue(text, 'mxq_host_session_cache_misses_total', {})).toBe(tier('host', 'miss'));
  expect(sampleValue(text, 'mxq_queue_jobs', { state: 'waiting' })).toBe(0);
  expect(sampleValue(text, 'mxq_redis_up', {})).toBe(1);
  expect(await stopPool(pool)).toBe(0);
}, 240_000);

it('refuses a non-loopback --metrics without a token: exit 64, no child started', async () => {
  const pool = spawnPool({
    config,
    redis: server.url,
    prefix,
    processes: 2,
    extra: ['--metrics', '0.0.0.0:9464'],
  });
  pools.push(pool);
  expect(await pool.exited).toBe(64);
  expect(pool.output()).toContain(
    '--metrics: refusing to listen on non-loopback 0.0.0.0 without authentication',
  );
  expect(pool.output()).not.toContain('pool-child-state');
}, 60_000);
