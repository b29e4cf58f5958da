/**
 * Scenario: `mxq webhooks` (a real process) follows the events a real `mxq worker` writes and POSTs
 * them, signed, to an HTTP server on loopback that fails the first tries: retried with backoff,
 * acknowledged only after a 2xx, delivered again after a crash (at-least-once), filtered per
 * endpoint; a failing endpoint never holds up mail delivery; `mxq webhooks replay` sends a range
 * again; a bad config is refused naming the field.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { spawnWorker, stopWorker, until, type WorkerProcess, workerReady, writeConfig } from './helpers.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
const prefix = '{e2ehooks}';
const SECRET = 'webhook-secret-0123456789';
const BOUNCE_SECRET = 'bounce-secret-0123456789';

interface Hit {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
}

let server: RedisHandle;
let redis: Redis;
let peer: SmtpPeer;
let mq: MailQueue;
let worker: WorkerProcess | undefined;
let http: Server;
let hookUrl = '';
let hookConfig = '';
const hits: Hit[] = [];
const control = { failNext: 0, down: false };
const procs: Array<{ proc: ChildProcess; exited: Promise<number | null> }> = [];

function spawnMxq(args: string[]) {
  const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const add = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  };
  proc.stdout?.on('data', add);
  proc.stderr?.on('data', add);
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  const p = { proc, exited, output: () => out };
  procs.push(p);
  return p;
}

async function startWebhooks() {
  const p = spawnMxq([
    'webhooks',
    '--config',
    hookConfig,
    '--redis',
    server.url,
    '--prefix',
    prefix,
    '--backoff-base-ms',
    '100',
    '--backoff-max-ms',
    '400',
  ]);
  await until(
    'webhooks started',
    async () => (p.output().includes('"webhooks-started"') ? true : undefined),
    20_000,
  );
  return p;
}

const accepted = (path: string) => hits.filter((h) => h.path === path && h.status === 200);
const bodies = (path: string) => accepted(path).map((h) => JSON.parse(h.body) as Record<string, unknown>);

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  peer = await startSmtpPeer({
    host: '127.0.0.1',
    script: { rcpt: (a) => (a.startsWith('nobody') ? '550 5.1.1 no such user' : undefined) },
  });
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 200;
      if (control.down) status = 503;
      else if (req.url === '/all' && control.failNext > 0) {
        control.failNext--;
        status = 500;
      }
      hits.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  const addr = http.address();
  hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  hookConfig = await writeConfig({} as never);
  await writeFile(
    hookConfig,
    JSON.stringify({
      endpoints: [
        { name: 'app', url: `${hookUrl}/all`, secret: SECRET },
        { name: 'bounces', url: `${hookUrl}/bounces`, secret: BOUNCE_SECRET, events: ['bounced'] },
      ],
    }),
  );
  const options = {
    myhostname: 'mta.test',
    smtpTlsSecurityLevel: 'none' as const,
    relayhost: `[127.0.0.1]:${peer.port}`,
  };
  mq = createMailQueue({ redis: server.url, prefix, options });
  worker = spawnWorker({ config: await writeConfig(options), redis: server.url, prefix });
  await workerReady(worker);
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  if (worker) await stopWorker(worker);
  await mq?.close();
  redis?.disconnect();
  await new Promise((done) => http?.close(done));
  await peer?.stop();
  await server?.stop();
});

it('retries a failing endpoint with backoff; every event arrives signed; filters per endpoint', async () => {
  const hooks = await startWebhooks();
  control.failNext = 2;
  const { queueId } = await mq.send({
    from: '',
    to: ['a@dst.test', 'nobody@dst.test'],
    message: 'Subject: h\r\n\r\nx\r\n',
  });
  await mq.waitForOutcome(queueId, { timeoutMs: 20_000 });
  await until(
    'both events accepted',
    async () => (bodies('/all').filter((b) => b.queueId === queueId).length === 2 ? true : undefined),
    30_000,
  );
  const mine = bodies('/all').filter((b) => b.queueId === queueId);
  expect(mine.map((b) => [b.recipient, b.type, b.dsn])).toEqual([
    ['a@dst.test', 'delivery.sent', '2.0.0'],
    ['nobody@dst.test', 'delivery.bounced', '5.1.1'],
  ]);
  const firstId = String(mine[0]?.id);
  const tries = hits.filter((h) => h.path === '/all' && h.headers['x-mxq-event-id'] === firstId);
  expect(tries.map((h) => h.status)).toEqual([500, 500, 200]);
  for (const h of accepted('/all')) {
    const sig = {
      body: h.body,
      timestamp: String(h.headers['x-mxq-timestamp']),
      signature: String(h.headers['x-mxq-signature']),
    };
    expect(verifyWebhookSignature({ ...sig, secret: SECRET })).toBe(true);
    expect(verifyWebhookSignature({ ...sig, secret: BOUNCE_SECRET })).toBe(false);
    expect(verifyWebhookSignature({ ...sig, secret: SECRET, body: `${h.body} ` })).toBe(false);
  }
  await until('bounce endpoint got its event', async () =>
    bodies('/bounces').some((b) => b.queueId === queueId) ? true : undefined,
  );
  expect(bodies('/bounces').every((b) => b.event === 'bounced')).toBe(true);
  await until('nothing pending', async () => {
    const [a, b] = await Promise.all([
      redis.xpending(mq.keys.events, 'webhooks:app'),
      redis.xpending(mq.keys.events, 'webhooks:bounces'),
    ]);
    return (a as [number])[0] === 0 && (b as [number])[0] === 0 ? true : undefined;
  });
  hooks.proc.kill('SIGTERM');
  expect(await hooks.exited).toBe(0);
}, 60_000);

it('a down endpoint never holds up delivery; after a crash and restart the event still arrives', async () => {
  control.down = true;
  const hooks = await startWebhooks();
  const { queueId } = await mq.send({
    from: '',
    to: ['late@dst.test'],
    message: 'Subject: late\r\n\r\nx\r\n',
  });
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 20_000 });
  expect(outcome[0]?.status).toBe('sent');
  await until('the endpoint was tried', async () =>
    hits.some((h) => h.path === '/all' && h.status === 503 && h.body.includes(queueId)) ? true : undefined,
  );
  hooks.proc.kill('SIGKILL');
  await hooks.exited;
  expect(bodies('/all').some((b) => b.queueId === queueId)).toBe(false);
  control.down = false;
  const again = await startWebhooks();
  await until(
    'event delivered after restart',
    async () => (bodies('/all').some((b) => b.queueId === queueId) ? true : undefined),
    30_000,
  );
  again.proc.kill('SIGTERM');
  expect(await again.exited).toBe(0);
}, 60_000);

it('replay --since posts the retained events again, marked as replays', async () => {
  const before = accepted('/all').length;
  const replay = spawnMxq([
    'webhooks',
    'replay',
    '--config',
    hookConfig,
    '--redis',
    server.url,
    '--prefix',
    prefix,
    '--since',
    '10m',
    '--endpoint',
    'app',
  ]);
  expect(await replay.exited).toBe(0);
  const again = accepted('/all').slice(before);
  expect(again.length).toBe(3);
  expect(again.every((h) => h.headers['x-mxq-replay'] === '1')).toBe(true);
  expect(replay.output()).toContain('replayed: 3 sent, 0 failed');
}, 30_000);

it('a bad config is refused naming the field (exit 78, EX_CONFIG)', async () => {
  await writeFile(
    hookConfig,
    JSON.stringify({ endpoints: [{ name: 'x', url: 'ftp://127.0.0.1/', secret: SECRET }] }),
  );
  const bad = spawnMxq(['webhooks', '--config', hookConfig, '--redis', server.url]);
  expect(await bad.exited).toBe(78);
  expect(bad.output()).toContain('endpoints[0].url: must be http: or https:');
}, 30_000);
