/**
 * Scenario: an application composes mail with the real nodemailer package through mxqTransport;
 * a real `mxq worker` process delivers it to an SMTP peer on loopback. Envelope, DSN and Bcc
 * handling, and bad input rejected with send()'s named-field errors (nothing queued).
 */
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MailQueueInputError, type MxqTransporter, mxqTransport } from '../../src/index.ts';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { spawnWorker, stopWorker, type WorkerProcess, workerReady, writeConfig } from './helpers.ts';

const prefix = '{e2enm}';
let server: RedisHandle;
let redis: Redis;
let peer: SmtpPeer;
let mq: MailQueue;
let worker: WorkerProcess | undefined;
let transporter: MxqTransporter;
let nexthop = '';

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  peer = await startSmtpPeer({ host: '127.0.0.1', script: { ehloName: 'sink.test' } });
  nexthop = `[127.0.0.1]:${peer.port}`;
  const options = { myhostname: 'mta.test', smtpTlsSecurityLevel: 'none' as const };
  mq = createMailQueue({ redis: server.url, prefix, options });
  transporter = nodemailer.createTransport(
    mxqTransport({ redis: server.url, prefix, options }),
  ) as MxqTransporter;
  worker = spawnWorker({ config: await writeConfig(options), redis: server.url, prefix });
  await workerReady(worker);
});

afterAll(async () => {
  if (worker) await stopWorker(worker);
  transporter?.close();
  await mq?.close();
  redis?.disconnect();
  await peer?.stop();
  await server?.stop();
});

it('sendMail() queues the MIME nodemailer built; the worker delivers it with the envelope and DSN', async () => {
  const info = await transporter.sendMail({
    from: 'App <app@src.test>',
    to: 'one@dst.test',
    cc: ['two@dst.test'],
    bcc: 'hidden@dst.test',
    subject: 'hello from nodemailer',
    text: 'plain body',
    attachments: [{ filename: 'a.txt', content: 'attached' }],
    dsn: { ret: 'HDRS', envid: 'env-42', notify: ['success', 'failure'] },
    mxq: { nexthop },
  } as nodemailer.SendMailOptions);
  expect(info.queueId).toMatch(/^[0-9A-Za-z]+$/);
  expect(info.accepted).toEqual(['one@dst.test', 'two@dst.test', 'hidden@dst.test']);
  expect(info.rejected).toEqual([]);
  expect(info.envelope).toEqual({
    from: 'app@src.test',
    to: ['one@dst.test', 'two@dst.test', 'hidden@dst.test'],
  });
  expect(String(info.response)).toContain(`queued as ${String(info.queueId)}`);
  const outcome = await mq.waitForOutcome(String(info.queueId), { timeoutMs: 20_000 });
  expect(outcome.map((o) => [o.recipient, o.status])).toEqual([
    ['one@dst.test', 'sent'],
    ['two@dst.test', 'sent'],
    ['hidden@dst.test', 'sent'],
  ]);
  const got = peer.messages.find((m) => m.body.toString().includes('hello from nodemailer'));
  expect(got?.from).toBe('app@src.test');
  expect(got?.to).toEqual(['one@dst.test', 'two@dst.test', 'hidden@dst.test']);
  const body = got?.body.toString() ?? '';
  expect(body).toContain(`Message-ID: ${String(info.messageId)}`);
  expect(body).toContain('filename=a.txt');
  expect(body).not.toMatch(/^Bcc:/im);
  expect(got?.mailParams).toMatchObject({ RET: 'HDRS', ENVID: 'env-42' });
  expect(got?.rcptParams[0]).toMatchObject({ NOTIFY: 'SUCCESS,FAILURE' });
}, 40_000);

it('an explicit envelope wins over the headers; nodemailer DSN spellings map too', async () => {
  const info = await transporter.sendMail({
    from: 'app@src.test',
    to: 'header-only@dst.test',
    envelope: { from: 'bounces@src.test', to: ['real@dst.test'] },
    subject: 'envelope override',
    text: 'x',
    dsn: { id: 'nm-id', return: 'full', notify: 'failure,delay', recipient: 'orig@dst.test' },
    mxq: { nexthop },
  } as nodemailer.SendMailOptions);
  expect(info.envelope).toEqual({ from: 'bounces@src.test', to: ['real@dst.test'] });
  await mq.waitForOutcome(String(info.queueId), { timeoutMs: 20_000 });
  const got = peer.messages.find((m) => m.body.toString().includes('envelope override'));
  expect(got?.from).toBe('bounces@src.test');
  expect(got?.to).toEqual(['real@dst.test']);
  expect(got?.body.toString()).toContain('To: header-only@dst.test');
  expect(got?.mailParams).toMatchObject({ RET: 'FULL', ENVID: 'nm-id' });
  expect(got?.rcptParams[0]).toMatchObject({ NOTIFY: 'FAILURE,DELAY' });
  expect(got?.rcptParams[0]?.ORCPT).toContain('orig@dst.test');
}, 40_000);

it('bad input rejects with the named-field MailQueueInputError and queues nothing', async () => {
  const before = new Set(await redis.zrange(mq.keys.messageIndex, 0, -1));
  const cases: Array<[nodemailer.SendMailOptions, string]> = [
    [{ from: 'app@src.test', to: 'bad@@dst.test', text: 'x' }, 'to[0]'],
    [{ from: 'app@src.test', text: 'no recipients' }, 'to'],
    [{ to: 'one@dst.test', text: 'no sender' }, 'from'],
    [
      { from: 'app@src.test', to: 'one@dst.test', text: 'x', dsn: { notify: ['sometimes'] } } as never,
      'dsn.notify',
    ],
    [{ from: 'app@src.test', to: 'one@dst.test', text: 'x', dsn: { ret: 'ALL' } } as never, 'dsn.ret'],
    [{ from: 'app@src.test', to: 'one@dst.test', text: 'x', mxq: { nexthop: '[bad' } } as never, 'nexthop'],
  ];
  for (const [mail, field] of cases) {
    const err = await transporter.sendMail(mail).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, field).toBeInstanceOf(MailQueueInputError);
    expect((err as MailQueueInputError).field).toBe(field);
  }
  const after = await redis.zrange(mq.keys.messageIndex, 0, -1);
  expect(after.filter((id) => !before.has(id))).toEqual([]);
});
