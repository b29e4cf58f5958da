/**
 * run-store.ts against a real redis-server: one script joins the pass and loads body, meta and
 * journal; leaving the pass says whether a failure report may be owed (conservatively); a
 * terminal run's finish releases the message unless a report may be owed first.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { queueKeys } from '../../../src/queue/keys.ts';
import { finishRun, leavePassForReport, loadRun } from '../../../src/workers/run-store.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

const keys = queueKeys('{rs}');
let server: RedisHandle;
let redis: Redis;

const entry = (recipient: string, status: string) =>
  JSON.stringify({ recipient, status, dsn: '2.0.0', relay: 'r', diagnostic: 'd', at: 1, jobId: 'Q.1' });

async function seedMessage(queueId: string, jobs: string[]): Promise<void> {
  const meta = { queueId, sender: 's@x.test', recipients: [{ address: 'a@x.test' }], jobIds: jobs };
  const body = Buffer.from([0x41, 0x00, 0xff, 0x0d, 0x0a]); // binary-safe bytes
  await redis.hset(keys.message(queueId), 'body', body, 'meta', JSON.stringify(meta));
  await redis.set(keys.messageJobs(queueId), String(jobs.length));
  await redis.zadd(keys.messageIndex, 1, queueId);
}

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { enableAutoPipelining: true });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

it('loads body bytes, meta and journal and joins the pass in one call', async () => {
  await seedMessage('Q1', ['Q1.1']);
  await redis.hset(keys.journal('Q1'), 'a@x.test', entry('a@x.test', 'sent'));
  const run = await loadRun(redis, keys, 'Q1', 'Q1.1');
  expect(run?.stored.body.equals(Buffer.from([0x41, 0x00, 0xff, 0x0d, 0x0a]))).toBe(true);
  expect(run?.stored.meta.queueId).toBe('Q1');
  expect(run?.journal.get('a@x.test')?.status).toBe('sent');
  expect(await redis.smembers(keys.messagePass('Q1'))).toEqual(['Q1.1']);
});

it('a gone message loads as undefined and leaves no pass entry behind', async () => {
  expect(await loadRun(redis, keys, 'GONE', 'GONE.1')).toBeUndefined();
  expect(await redis.exists(keys.messagePass('GONE'))).toBe(0);
});

it('leaving the pass: open while others are in it, report when an unreported failure exists', async () => {
  await seedMessage('Q2', ['Q2.1', 'Q2.2']);
  await redis.sadd(keys.messagePass('Q2'), 'Q2.1', 'Q2.2');
  await redis.hset(
    keys.journal('Q2'),
    'a@x.test',
    entry('a@x.test', 'sent'),
    'b@x.test',
    entry('b@x.test', 'bounced'),
  );
  expect(await leavePassForReport(redis, keys, 'Q2', 'Q2.1')).toBe('open');
  expect(await leavePassForReport(redis, keys, 'Q2', 'Q2.2')).toBe('report');
  await redis.sadd(keys.messageReported('Q2'), 'b@x.test');
  expect(await leavePassForReport(redis, keys, 'Q2', 'Q2.2')).toBe('closed');
});

it('an entry it cannot read as sent counts as a possible failure', async () => {
  await seedMessage('Q3', ['Q3.1']);
  await redis.hset(keys.journal('Q3'), 'a@x.test', 'not json');
  expect(await leavePassForReport(redis, keys, 'Q3', 'Q3.1')).toBe('report');
});

it('finishRun releases an all-sent message in one call, and stops before release when a report may be owed', async () => {
  await seedMessage('Q4', ['Q4.1']);
  await redis.sadd(keys.messagePass('Q4'), 'Q4.1');
  await redis.hset(keys.journal('Q4'), 'a@x.test', entry('a@x.test', 'sent'));
  expect(await finishRun(redis, keys, { queueId: 'Q4', jobId: 'Q4.1', journalTtlSec: 60 })).toEqual({
    report: false,
    left: 0,
  });
  expect(await redis.exists(keys.message('Q4'), keys.messageJobs('Q4'), keys.messagePass('Q4'))).toBe(0);
  expect(await redis.zscore(keys.messageIndex, 'Q4')).toBeNull();
  expect(await redis.ttl(keys.journal('Q4'))).toBeGreaterThan(0);

  await seedMessage('Q5', ['Q5.1']);
  await redis.sadd(keys.messagePass('Q5'), 'Q5.1');
  await redis.hset(keys.journal('Q5'), 'a@x.test', entry('a@x.test', 'expired'));
  expect(await finishRun(redis, keys, { queueId: 'Q5', jobId: 'Q5.1' })).toEqual({ report: true });
  expect(await redis.exists(keys.message('Q5'))).toBe(1);
  expect(await redis.get(keys.messageJobs('Q5'))).toBe('1');
  // the run left the pass, and its job is not counted yet (release() counts it after the report)
  expect(await redis.scard(keys.messagePass('Q5'))).toBe(0);
  expect(await redis.sismember(`${keys.message('Q5')}:done`, 'Q5.1')).toBe(0);
});

it('finishRun of a message with two jobs: the first leaves the pass open, the last one releases', async () => {
  await seedMessage('Q6', ['Q6.1', 'Q6.2']);
  await redis.sadd(keys.messagePass('Q6'), 'Q6.1', 'Q6.2');
  await redis.hset(keys.journal('Q6'), 'a@x.test', entry('a@x.test', 'bounced'));
  expect(await finishRun(redis, keys, { queueId: 'Q6', jobId: 'Q6.1' })).toEqual({ report: false, left: 1 });
  expect(await redis.smembers(keys.messagePass('Q6'))).toEqual(['Q6.2']);
  // counted once only: a re-run of Q6.1 after a crash changes nothing
  expect(await finishRun(redis, keys, { queueId: 'Q6', jobId: 'Q6.1' })).toEqual({ report: false, left: -1 });
  expect(await redis.get(keys.messageJobs('Q6'))).toBe('1');
  // the last job closes the pass; the bounced recipient is owed a report: nothing released yet
  expect(await finishRun(redis, keys, { queueId: 'Q6', jobId: 'Q6.2' })).toEqual({ report: true });
  expect(await redis.get(keys.messageJobs('Q6'))).toBe('1');
  expect(await redis.scard(keys.messagePass('Q6'))).toBe(0);
  await redis.sadd(keys.messageReported('Q6'), 'a@x.test');
  expect(await finishRun(redis, keys, { queueId: 'Q6', jobId: 'Q6.2' })).toEqual({ report: false, left: 0 });
  expect(await redis.exists(keys.message('Q6'), keys.messageJobs('Q6'), keys.messageReported('Q6'))).toBe(0);
});

it('finishRun with `recorded` changes nothing while an entry is missing, and finishes once all are there', async () => {
  await seedMessage('Q7', ['Q7.1']);
  await redis.sadd(keys.messagePass('Q7'), 'Q7.1');
  await redis.hset(keys.journal('Q7'), 'a@x.test', entry('a@x.test', 'sent'));
  const p = { queueId: 'Q7', jobId: 'Q7.1', journalTtlSec: 60, recorded: ['a@x.test', 'b@x.test'] };
  expect(await finishRun(redis, keys, p)).toBe('unrecorded');
  expect(await redis.exists(keys.message('Q7'))).toBe(1);
  expect(await redis.get(keys.messageJobs('Q7'))).toBe('1');
  expect(await redis.smembers(keys.messagePass('Q7'))).toEqual(['Q7.1']);
  expect(await redis.exists(`${keys.message('Q7')}:done`)).toBe(0);
  expect(await redis.ttl(keys.journal('Q7'))).toBe(-1);
  await redis.hset(keys.journal('Q7'), 'b@x.test', entry('b@x.test', 'sent'));
  expect(await finishRun(redis, keys, p)).toEqual({ report: false, left: 0 });
  expect(await redis.exists(keys.message('Q7'), keys.messagePass('Q7'))).toBe(0);
  expect(await redis.ttl(keys.journal('Q7'))).toBeGreaterThan(0);
});
