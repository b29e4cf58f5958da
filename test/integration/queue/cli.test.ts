/**
 * mxq send / queue / flush / delete as processes against a real redis-server (REDIS_URL, MXQ_PREFIX).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDeliveryEvent, type RecipientJournalEntry } from '../../../src/queue/job-schema.ts';
import { queueKeys } from '../../../src/queue/keys.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');
let redis: RedisHandle;
let admin: Redis;
let dir: string;
const keys = queueKeys('{cli}');

function mxq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { ...process.env, REDIS_URL: redis.url, MXQ_PREFIX: '{cli}' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  admin = new Redis(redis.url);
  dir = await mkdtemp(join(tmpdir(), 'mxq-cli-'));
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('mxq queue commands', () => {
  it('send prints a queue id; queue lists it mailq-style; delete removes it', async () => {
    const file = join(dir, 'm.eml');
    await writeFile(file, 'Subject: cli\n\nhello\n');
    const sent = await mxq([
      'send',
      '--from',
      'a@x.test',
      '--to',
      'b@y.test',
      '--to',
      'c@z.test',
      '--file',
      file,
    ]);
    expect(sent.code).toBe(0);
    const queueId = sent.stdout.trim();
    expect(queueId).toMatch(/^[0-9A-Za-z]{14}$/);
    const listed = await mxq(['queue']);
    expect(listed.stdout).toContain('-Queue ID-');
    expect(listed.stdout).toMatch(new RegExp(`^${queueId} +\\d+ .+  a@x\\.test$`, 'm'));
    expect(listed.stdout).toMatch(/^ +c@z\.test$/m);
    const json = JSON.parse((await mxq(['queue', '--json'])).stdout) as Array<{ queueId: string }>;
    expect(json.map((e) => e.queueId)).toEqual([queueId]);
    expect((await mxq(['flush'])).stdout).toContain('0 deferred jobs made due');
    const del = await mxq(['delete', queueId]);
    expect(del.stdout).toContain('Deleted: 1 message');
    expect((await mxq(['queue'])).stdout).toBe('Mail queue is empty\n');
  }, 120_000);

  it('refuses bad input with exit 65 and writes nothing; usage errors exit 64', async () => {
    const file = join(dir, 'bad.eml');
    await writeFile(file, 'x\n');
    const before = await admin.dbsize();
    const bad = await mxq(['send', '--from', 'a@x.test', '--to', 'b\r@y.test', '--file', file]);
    const bad2 = await mxq(['send', '--from', 'a@x.test', '--to', 'b@[1.2.3]', '--file', file]);
    expect(bad2.code).toBe(65);
    // The flag the user typed, not the API field (to[0]).
    expect(bad2.stderr).toContain('--to #1: bad recipient address');
    expect(bad.code).toBe(65);
    expect(await admin.dbsize()).toBe(before);
    expect((await mxq(['send', '--to', 'b@y.test', '--file', file])).code).toBe(64);
    expect((await mxq(['delete'])).code).toBe(64);
  }, 120_000);

  it('send --wait --json prints the outcome written to the journal', async () => {
    const file = join(dir, 'w.eml');
    await writeFile(file, 'x\n');
    const running = mxq([
      'send',
      '--from',
      '',
      '--to',
      'b@y.test',
      '--file',
      file,
      '--wait',
      '--json',
      '--timeout',
      '15',
    ]);
    let ids: string[] = [];
    for (let i = 0; i < 100 && ids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ids = await admin.zrange(keys.messageIndex, 0, -1);
    }
    const queueId = ids[0] ?? '';
    const entry: RecipientJournalEntry = {
      recipient: 'b@y.test',
      status: 'bounced',
      dsn: '5.1.1',
      relay: 'mx[127.0.0.1]:25',
      diagnostic: 'host mx[127.0.0.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)',
      at: 1,
      jobId: `${queueId}.1`,
    };
    await admin.hset(keys.journal(queueId), 'b@y.test', JSON.stringify(entry));
    await admin.xadd(keys.events, '*', ...encodeDeliveryEvent({ ...entry, queueId, event: 'bounced' }));
    const done = await running;
    expect(done.code).toBe(69);
    expect(JSON.parse(done.stdout)).toMatchObject({
      queueId,
      outcome: [{ recipient: 'b@y.test', status: 'bounced' }],
    });
  }, 120_000);
});
