/**
 * The Postfix-style queue tools as processes on real Redis: mxq queue filters, hold / release,
 * show, qshape; and a job that keeps throwing (corrupt data) held by a real worker after a bounded
 * number of tries, visible in mxq queue and mxq show, then released and delivered to a real peer.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldKey } from '../../../src/queue/hold.ts';
import { queueKeys } from '../../../src/queue/keys.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';

const MAIN = resolve(import.meta.dirname, '../../../src/cli/main.ts');
const PREFIX = '{tools}';
const keys = queueKeys(PREFIX);
const LONG = 180_000;
const block = allocateLoopbackBlock();
let redis: RedisHandle;
let admin: Redis;
let peer: SmtpPeer;
let dir: string;

function mxq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { ...process.env, REDIS_URL: redis.url, MXQ_PREFIX: PREFIX }, cwd: dir, timeout: 90_000 },
      (err, stdout, stderr) =>
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

async function send(from: string, to: string[]): Promise<string> {
  const r = await mxq([
    'send',
    '--config',
    'mxq.json',
    '--from',
    from,
    ...to.flatMap((t) => ['--to', t]),
    '--file',
    'm.eml',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function until(what: () => Promise<boolean> | boolean, ms = 90_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  peer = await startSmtpPeer({ host: block.addr(1) });
  dir = await mkdtemp(join(tmpdir(), 'mxq-tools-'));
  await writeFile(
    join(dir, 'mxq.json'),
    JSON.stringify({
      relayhost: `[${block.addr(1)}]:${peer.port}`,
      myhostname: 'mxq.test',
      smtpTlsSecurityLevel: 'none',
      minimalBackoffTime: '1s',
      maximalBackoffTime: '2s',
    }),
  );
  await writeFile(join(dir, 'm.eml'), 'Subject: tools\nFrom: a@x.test\n\nhello\n');
}, LONG);
afterAll(async () => {
  admin.disconnect();
  await peer.stop();
  await redis.stop();
  block.release();
  await rm(dir, { recursive: true, force: true });
});

describe('without a worker', () => {
  it(
    'queue filters, hold / release, show, qshape',
    async () => {
      const m1 = await send('a@x.test', ['b@one.test', 'c@two.test']);
      const m2 = await send('other@y.test', ['d@sub.two.test']);
      const ids = async (args: string[]) =>
        (JSON.parse((await mxq(['queue', '--json', ...args])).stdout) as Array<{ queueId: string }>).map(
          (e) => e.queueId,
        );
      expect(await ids([])).toEqual([m1, m2]);
      expect(await ids(['--destination', 'two.test'])).toEqual([m1, m2]);
      expect(await ids(['--destination', 'one.test'])).toEqual([m1]);
      expect(await ids(['--sender', 'other@y.test'])).toEqual([m2]);
      expect(await ids(['--older-than', '1h'])).toEqual([]);
      expect(await ids(['--state', 'held'])).toEqual([]);
      expect((await mxq(['queue', '--state', 'bogus'])).code).toBe(64);

      const held = await mxq(['hold', m1]);
      expect(held.code).toBe(0);
      expect(held.stdout).toBe('mxq hold: Placed on hold: 1 message\n');
      expect(await ids(['--state', 'held'])).toEqual([m1]);
      expect((await mxq(['queue'])).stdout).toMatch(new RegExp(`^${m1}! `, 'm'));
      const missing = await mxq(['hold', '0000000000NONE']);
      expect(missing.code).toBe(66);

      const shown = await mxq(['show', m1]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain('*** ENVELOPE RECORDS ***');
      expect(shown.stdout).toContain('sender: a@x.test');
      expect(shown.stdout).toContain('recipient: c@two.test');
      expect(shown.stdout).toContain(
        '*** HEADER RECORDS ***\nSubject: tools\nFrom: a@x.test\n*** RECIPIENT HISTORY ***',
      );
      expect(shown.stdout).not.toContain('hello');
      expect(shown.stdout).toContain('b@one.test: held (held by operator)');
      expect((await mxq(['show', '0000000000NONE'])).code).toBe(66);

      const shape = await mxq(['qshape']);
      expect(shape.code).toBe(0);
      expect(shape.stdout).toMatch(/^ +TOTAL +3 +3 /m);
      expect(shape.stdout).toMatch(/^ +two\.test +1 +1 /m);
      expect(shape.stdout).toMatch(/^ *sub\.two\.test +1 +1 /m);
      const shapeJson = JSON.parse((await mxq(['qshape', '--json', '--top', '1'])).stdout) as {
        rows: Array<{ domain: string; total: number }>;
      };
      expect(shapeJson.rows.map((r) => r.total)).toEqual([3, 1]);

      const released = await mxq(['release', '--json', 'ALL']);
      expect(JSON.parse(released.stdout)).toEqual({ released: 1, missing: [] });
      expect(await ids(['--state', 'held'])).toEqual([]);
      expect(await ids(['--state', 'queued'])).toEqual([m1, m2]);
      expect((await mxq(['delete', 'ALL'])).code).toBe(0);
      expect(await admin.hlen(heldKey(keys))).toBe(0);
    },
    LONG,
  );
});

describe('a job that keeps throwing', () => {
  it(
    'is held with its error after a bounded number of tries; release delivers it; nothing lost',
    async () => {
      const queueId = await send('a@x.test', ['poison@z.test']);
      // Corrupt data: the message's pass set is a string, so every run of its job throws WRONGTYPE.
      await admin.set(keys.messagePass(queueId), 'not-a-set');
      const worker: ChildProcess = spawn(
        process.execPath,
        [MAIN, 'worker', '--config', 'mxq.json', '--drain-timeout', '5'],
        {
          env: { ...process.env, REDIS_URL: redis.url, MXQ_PREFIX: PREFIX },
          cwd: dir,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      worker.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<void>((done) => worker.once('exit', () => done()));
      try {
        expect(await until(async () => (await admin.hlen(heldKey(keys))) === 1)).toBe(true);
        const listed = JSON.parse((await mxq(['queue', '--json', '--state', 'held'])).stdout) as Array<{
          queueId: string;
          recipients: Array<{ status: string; reason: string }>;
        }>;
        expect(listed.map((e) => e.queueId)).toEqual([queueId]);
        expect(listed[0]?.recipients[0]?.reason).toContain('WRONGTYPE');
        const shown = (await mxq(['show', queueId])).stdout;
        expect(shown).toMatch(/held: job \S+ since \S+ after 5 errors: .*WRONGTYPE/);
        expect(out).toContain('"job-held"');
        expect(peer.messages).toEqual([]);
        // Repair, release: delivered once.
        await admin.del(keys.messagePass(queueId));
        expect((await mxq(['release', queueId])).stdout).toBe('mxq release: Released from hold: 1 message\n');
        expect(await until(() => peer.messages.some((m) => m.to.includes('poison@z.test')))).toBe(true);
        expect(
          await until(async () => (await admin.hget(keys.journal(queueId), 'poison@z.test')) !== null),
        ).toBe(true);
        expect(JSON.parse((await admin.hget(keys.journal(queueId), 'poison@z.test')) ?? '{}')).toMatchObject({
          status: 'sent',
        });
        expect(peer.messages.filter((m) => m.to.includes('poison@z.test'))).toHaveLength(1);
      } finally {
        worker.kill('SIGTERM');
        await exited;
      }
    },
    LONG,
  );
});
