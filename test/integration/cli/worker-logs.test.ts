/**
 * The worker's log lines as a process writes them, delivering real mail to a real SMTP peer on
 * real Redis: JSON with ISO times, Postfix field names and no key twice in a line; with
 * --log-format postfix, syslog-style text lines in Postfix's recipient format.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';

const MAIN = resolve(import.meta.dirname, '../../../src/cli/main.ts');
const block = allocateLoopbackBlock();
let redis: RedisHandle;
let peer: SmtpPeer;
let dir: string;
let config: string;

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url, MXQ_PREFIX: '{logs}' };
  delete e.MXQ_LOG_FORMAT;
  return e;
}

function send(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [MAIN, 'send', '--config', 'mxq.json', ...args],
      { env: env(), cwd: dir, timeout: 90_000 },
      (err, stdout, stderr) =>
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

async function withWorker(extra: string[], body: (out: () => string) => Promise<void>): Promise<string> {
  const w: ChildProcess = spawn(
    process.execPath,
    [MAIN, 'worker', '--config', config, '--drain-timeout', '5', ...extra],
    {
      env: env(),
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  w.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((done) => w.once('exit', () => done()));
  try {
    const end = Date.now() + 60_000;
    while (!/worker started/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    await body(() => out);
  } finally {
    w.kill('SIGTERM');
    await exited;
  }
  return out;
}

async function until(what: () => boolean): Promise<void> {
  const end = Date.now() + 60_000;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

beforeAll(async () => {
  redis = await startRedis();
  peer = await startSmtpPeer({
    host: block.addr(1),
    script: {
      ehloName: 'mx.b.test',
      rcpt: (a) => (a.startsWith('bad') ? '550 5.1.1 No such user here' : undefined),
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'mxq-logs-'));
  config = join(dir, 'mxq.json');
  await writeFile(
    config,
    JSON.stringify({
      relayhost: `[${block.addr(1)}]:${peer.port}`,
      myhostname: 'mxq.test',
      smtpTlsSecurityLevel: 'none',
      minimalBackoffTime: '1s',
      maximalBackoffTime: '2s',
    }),
  );
  await writeFile(join(dir, 'm.eml'), 'Subject: logs\n\nhello\n');
}, 120_000);
afterAll(async () => {
  await peer.stop();
  await redis.stop();
  block.release();
  await rm(dir, { recursive: true, force: true });
});

it('JSON lines: ISO time, Postfix field names, one line per event, no key twice (bounce-sent)', async () => {
  let queueId = '';
  const out = await withWorker([], async (lines) => {
    const r = await send([
      '--from',
      'app@src.test',
      '--to',
      'bad@b.test',
      '--file',
      'm.eml',
      '--wait',
      '--timeout',
      '60',
    ]);
    expect(r.code).toBe(69);
    queueId = r.stdout.split('\n')[0] ?? '';
    await until(() => lines().includes('"bounce-sent"'));
  });
  const records = out
    .trim()
    .split('\n')
    .map((l) => {
      // A key written twice (e.g. a child logger's queueId again in the record) is a broken record.
      const keys = [...l.matchAll(/"([A-Za-z_]+)":/g)].map((m) => m[1]);
      expect(new Set(keys).size, l).toBe(keys.length);
      return JSON.parse(l) as Record<string, unknown>;
    });
  for (const r of records) expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const rcpt = records.find((r) => r.event === 'recipient' && r.queueId === queueId);
  expect(rcpt).toMatchObject({ to: 'bad@b.test', dsn: '5.1.1', status: 'bounced' });
  expect(String(rcpt?.delays)).toMatch(/^[\d.]+\/[\d.]+\/[\d.]+\/[\d.]+$/);
  expect(records.find((r) => r.event === 'bounce-sent')).toMatchObject({ queueId });
});

it('--log-format postfix: syslog-style lines in Postfix recipient format', async () => {
  let queueId = '';
  const out = await withWorker(['--log-format', 'postfix'], async (lines) => {
    const r = await send([
      '--from',
      'app@src.test',
      '--to',
      'bad@b.test',
      '--file',
      'm.eml',
      '--wait',
      '--timeout',
      '60',
    ]);
    expect(r.code).toBe(69);
    queueId = r.stdout.split('\n')[0] ?? '';
    await until(() => lines().includes('sender non-delivery notification'));
  });
  const lines = out.trim().split('\n');
  for (const l of lines) expect(l, l).toMatch(/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ mxq\/\w+\[\d+\]: /);
  const hop = `${block.addr(1)}[${block.addr(1)}]:${peer.port}`;
  const rcpt = lines.find((l) => l.includes(`${queueId}: to=<bad@b.test>`)) ?? '';
  expect(rcpt).toMatch(
    new RegExp(
      `mxq/smtp\\[\\d+\\]: ${queueId}: to=<bad@b\\.test>, relay=${hop.replace(/[.[\]]/g, '\\$&')}, delay=[\\d.]+, delays=[\\d.]+/[\\d.]+/[\\d.]+/[\\d.]+, dsn=5\\.1\\.1, status=bounced \\(host .+ said: 550 5\\.1\\.1 No such user here \\(in reply to RCPT TO command\\)\\)$`,
    ),
  );
  expect(lines.some((l) => l.includes(`${queueId}: sender non-delivery notification: `))).toBe(true);
});
