/**
 * Postmaster transcripts with the real worker, redis-server, DNS and SMTP peers on loopback
 * (notify_classes `protocol`, Postfix smtp_chat_notify, spec §10.3): a server that answers garbage
 * and a 502 at RCPT, after AUTH with a canary password, makes the worker queue exactly one notice,
 * from the double-bounce address to errorNoticeRecipient, with "Transcript of session follows."
 * and the "Out:"/"In:" lines and no trace of the password; mail from the double-bounce address
 * itself never causes one (no loops).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../../src/queue/mail-queue.ts';
import { createWorker } from '../../../src/workers/wiring.ts';
import type { WorkerRuntime } from '../../../src/workers/worker-runtime.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type RedisHandle, startRedis } from '../../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { until } from '../../support/wait.ts';

const CANARY = 'CANARY-pw-w0rker-5Kx';
const block = allocateLoopbackBlock();
const prefix = '{pn}';
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let senderMx: SmtpPeer;
let badMx: SmtpPeer;
let runtime: WorkerRuntime;
let mq: MailQueue;
let redis: Redis;
const logger = memoryLogger();

const notices = () =>
  senderMx.messages.filter((m) => m.to.includes('pm@src.test') && m.from === 'double-bounce@mta.test');

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  senderMx = await startSmtpPeer({ host: block.addr(1), script: { ehloName: 'mx.src.test' } });
  badMx = await startSmtpPeer({
    host: block.addr(2),
    port: senderMx.port,
    auth: { users: { alice: CANARY } },
    script: {
      ehloName: 'mx.bad.test',
      rcpt: (a) => (a.startsWith('b@') ? 'this is not smtp\r\n502 5.5.2 huh' : undefined),
    },
  });
  dns = await startDnsServer({
    'src.test': { MX: [[10, 'mx.src.test']] },
    'bad.test': { MX: [[10, 'mx.bad.test']] },
    'mx.src.test': { A: [block.addr(1)] },
    'mx.bad.test': { A: [block.addr(2)] },
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(senderMx.port),
    smtpConnectTimeout: 2,
    minimalBackoffTime: 0.3,
    maximalBackoffTime: 0.6,
    smtpTlsSecurityLevel: 'none' as const,
    smtpSaslAuthEnable: true,
    smtpSaslPasswordMaps: { 'bad.test': { username: 'alice', password: CANARY } },
    smtpSaslSecurityOptions: ['noanonymous'],
    notifyClasses: ['protocol'],
    errorNoticeRecipient: 'pm@src.test',
  };
  runtime = createWorker({ redisUrl: server.url, prefix, options, logger, concurrency: 2 });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix, options });
});

afterAll(async () => {
  await runtime?.close(true);
  await mq?.close();
  redis?.disconnect();
  await badMx?.stop();
  await senderMx?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

async function released(queueId: string): Promise<void> {
  await until('message released', async () =>
    (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
  );
}

it('garbage and 502 at RCPT after AUTH: one transcript to errorNoticeRecipient, password masked', async () => {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['a@bad.test', 'b@bad.test'],
    message: 'Subject: p\r\n\r\nx\r\n',
  });
  await until('notice delivered', async () => (notices().length > 0 ? true : undefined));
  await released(queueId);
  await new Promise((r) => setTimeout(r, 500)); // room for a second notice to show up
  expect(notices()).toHaveLength(1);
  expect(badMx.commands.some((c) => /^AUTH\b/i.test(c.line))).toBe(true);
  expect(badMx.messages.map((m) => m.to)).toEqual([['a@bad.test']]);
  const text = notices()[0]?.body.toString() ?? '';
  expect(text).toContain(
    `Subject: Postfix SMTP client: errors from mx.bad.test[${block.addr(2)}]:${senderMx.port}`,
  );
  expect(text).toContain('From: Mail Delivery System <MAILER-DAEMON@mta.test>');
  expect(text).toContain('To: Postmaster <pm@src.test>');
  expect(text).toContain('Transcript of session follows.');
  expect(text).toContain('\r\n Out: AUTH PLAIN *****\r\n');
  expect(text).toContain('\r\n Out: RCPT TO:<b@bad.test>\r\n');
  expect(text).toContain('\r\n In:  this is not smtp\r\n');
  expect(text).toContain('\r\n In:  502 5.5.2 huh\r\n');
  for (const secret of [
    CANARY,
    Buffer.from(CANARY).toString('base64'),
    Buffer.from(`\0alice\0${CANARY}`).toString('base64'),
  ]) {
    expect(text).not.toContain(secret);
    expect(JSON.stringify(logger.records)).not.toContain(secret);
  }
});

it('mail from the double-bounce address never causes a notice', async () => {
  const before = notices().length;
  const { queueId } = await mq.send({
    from: 'double-bounce@mta.test',
    to: ['b@bad.test'],
    message: 'Subject: d\r\n\r\nx\r\n',
  });
  await released(queueId);
  await new Promise((r) => setTimeout(r, 500));
  expect(notices()).toHaveLength(before);
  expect(badMx.commands.some((c) => c.line.startsWith('MAIL FROM:<double-bounce@mta.test>'))).toBe(true);
});
