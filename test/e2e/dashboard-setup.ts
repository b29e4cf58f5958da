/**
 * Shared set-up of the dashboard scenarios: Redis, an SMTP peer, a real `mxq worker` process, one
 * delivered message and one left queued (its next-hop refuses connections), and a real
 * `mxq dashboard` process with --allow-actions and a token.
 *
 * Decides: nothing about the system under test; every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { freePort } from '../support/net-util.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import {
  eventsOf,
  spawnWorker,
  stopWorker,
  until,
  type WorkerProcess,
  workerReady,
  writeConfig,
} from './helpers.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
export const DASHBOARD_TOKEN = 'dashboard-token-0123456789abcdef';

export interface DashboardScene {
  url: string;
  redisUrl: string;
  delivered: string;
  queued: string;
  mq: MailQueue;
  output(): string;
  stop(): Promise<void>;
}

export function spawnDashboard(args: string[]): {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
} {
  const proc = spawn(process.execPath, [MAIN, 'dashboard', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const add = (d: Buffer) => {
    out = (out + d.toString()).slice(-100_000);
  };
  proc.stdout?.on('data', add);
  proc.stderr?.on('data', add);
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  return { proc, output: () => out, exited };
}

export async function startDashboardScene(prefix: string): Promise<DashboardScene> {
  const server: RedisHandle = await startRedis();
  const peer: SmtpPeer = await startSmtpPeer({ host: '127.0.0.1' });
  const closedPort = await freePort('127.0.0.1');
  const options = { myhostname: 'mta.test', smtpTlsSecurityLevel: 'none' as const };
  const mq = createMailQueue({ redis: server.url, prefix, options });
  const worker: WorkerProcess = spawnWorker({
    config: await writeConfig(options),
    redis: server.url,
    prefix,
  });
  await workerReady(worker);
  const delivered = (
    await mq.send({
      from: 'app@src.test',
      to: ['alice@dst.test'],
      message: 'Subject: delivered one\r\n\r\nx\r\n',
      nexthop: `[127.0.0.1]:${peer.port}`,
    })
  ).queueId;
  await mq.waitForOutcome(delivered, { timeoutMs: 20_000 });
  const queued = (
    await mq.send({
      from: 'app@src.test',
      to: ['bob@down.test'],
      message: 'Subject: queued one\r\n\r\nx\r\n',
      nexthop: `[127.0.0.1]:${closedPort}`,
    })
  ).queueId;
  const redis = new Redis(server.url);
  await until(
    'the queued message deferred',
    async () =>
      (await eventsOf(redis, mq.keys.events, queued)).some((e) => e.event === 'deferred') ? true : undefined,
    20_000,
  );
  redis.disconnect();
  const dash = spawnDashboard([
    '--listen',
    '127.0.0.1:0',
    '--redis',
    server.url,
    '--prefix',
    prefix,
    '--token',
    DASHBOARD_TOKEN,
    '--allow-actions',
  ]);
  const url = await until(
    'dashboard url',
    async () => /serving (http:\/\/\S+)/.exec(dash.output())?.[1],
    20_000,
  );
  return {
    url: url.replace(/\/$/, ''),
    redisUrl: server.url,
    delivered,
    queued,
    mq,
    output: dash.output,
    async stop() {
      dash.proc.kill('SIGTERM');
      await dash.exited;
      await stopWorker(worker);
      await mq.close();
      await peer.stop();
      await server.stop();
    },
  };
}
