/**
 * Scenario: `mxq worker --metrics 127.0.0.1:0` serves Prometheus metrics while it delivers: one
 * recipient sent, one bounced (550); queue depth and Redis RTT read at scrape time; process
 * metrics; a bearer token when given; a non-loopback bind without a token is refused (exit 64).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { sampleValue } from '../integration/metrics/prom-text.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, workerReady, writeConfig } from './helpers.ts';

const prefix = '{e2emetrics}';
const TOKEN = 'metrics-token-0123456789';
let server: RedisHandle;
let peer: SmtpPeer;
let mq: MailQueue;
let config = '';
const workers: WorkerProcess[] = [];

function metricsUrl(w: WorkerProcess): Promise<string> {
  return until('metrics url', async () => /metrics on (http:\/\/\S+)/.exec(w.output())?.[1], 15_000);
}

beforeAll(async () => {
  server = await startRedis();
  peer = await startSmtpPeer({
    host: '127.0.0.1',
    script: { rcpt: (a) => (a.startsWith('nobody') ? '550 5.1.1 no such user' : undefined) },
  });
  const options = {
    myhostname: 'mta.test',
    smtpTlsSecurityLevel: 'none' as const,
    relayhost: `[127.0.0.1]:${peer.port}`,
  };
  config = await writeConfig(options);
  mq = createMailQueue({ redis: server.url, prefix, options });
});

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await mq?.close();
  await peer?.stop();
  await server?.stop();
});

it('serves deliveries by status and DSN class, attempt latency, queue depth, Redis RTT', async () => {
  const w = spawnWorker({ config, redis: server.url, prefix, extra: ['--metrics', '127.0.0.1:0'] });
  workers.push(w);
  await workerReady(w);
  const url = await metricsUrl(w);
  const { queueId } = await mq.send({
    from: '',
    to: ['someone@dst.test', 'nobody@dst.test'],
    message: 'Subject: m\r\n\r\nx\r\n',
  });
  await mq.waitForOutcome(queueId, { timeoutMs: 20_000 });
  const text = await until('metrics with the deliveries', async () => {
    const t = await (await fetch(url)).text();
    // The counters move when the attempt is recorded; the job completes (and, completed, is
    // deleted: jobRetention) a moment later.
    const done =
      sampleValue(t, 'mxq_deliveries_total', { status: 'bounced', dsn_class: '5' }) === 1 &&
      sampleValue(t, 'mxq_queue_jobs', { state: 'active' }) === 0;
    return done ? t : undefined;
  });
  expect(sampleValue(text, 'mxq_deliveries_total', { status: 'sent', dsn_class: '2' })).toBe(1);
  expect(
    sampleValue(text, 'mxq_attempt_duration_seconds_count', { transport: 'smtp', outcome: 'mixed' }),
  ).toBe(1);
  expect(sampleValue(text, 'mxq_queue_jobs', { state: 'waiting' })).toBe(0);
  expect(sampleValue(text, 'mxq_queue_jobs', { state: 'completed' })).toBe(0);
  expect(sampleValue(text, 'mxq_queue_messages', {})).toBe(0);
  expect(sampleValue(text, 'mxq_redis_up', {})).toBe(1);
  expect(sampleValue(text, 'mxq_redis_rtt_seconds_count', {})).toBeGreaterThanOrEqual(1);
  expect(text).toContain('process_resident_memory_bytes');
  expect(
    sampleValue(text, 'mxq_session_cache_lookups_total', { tier: 'local', result: 'miss' }),
  ).toBeGreaterThanOrEqual(1);
  const other = await fetch(url.replace('/metrics', '/'));
  expect(other.status).toBe(404);
}, 60_000);

it('with a token, /metrics needs the bearer token', async () => {
  const w = spawnWorker({
    config,
    redis: server.url,
    prefix,
    extra: ['--metrics', '127.0.0.1:0', '--metrics-token', TOKEN],
  });
  workers.push(w);
  const url = await metricsUrl(w);
  expect((await fetch(url)).status).toBe(401);
  expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(
    401,
  );
  const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain('mxq_deliveries_total');
}, 60_000);

it('refuses a non-loopback bind without a token: exit 64, nothing started', async () => {
  const w = spawnWorker({ config, redis: server.url, prefix, extra: ['--metrics', '0.0.0.0:9464'] });
  workers.push(w);
  expect(await w.exited).toBe(64);
  expect(w.output()).toContain(
    '--metrics: refusing to listen on non-loopback 0.0.0.0 without authentication',
  );
  expect(w.output()).not.toContain('worker-started');
}, 30_000);
