/**
 * Notices with the real worker, redis-server, DNS and SMTP/LMTP peers on loopback.
 * SUCCESS (RFC 3461 NOTIFY=SUCCESS, spec §10.1): a server without DSN gets the mail and the sender
 * gets one "relayed" report; a server with DSN takes the duty over (NOTIFY goes along, no local
 * notice); LMTP with lmtpAssumeFinal reports "delivered"; without NOTIFY=SUCCESS nothing is sent.
 * notify_classes (§10.2): `bounce` sends the postmaster a headers-only copy of a failure report
 * from the double-bounce address, and (implying 2bounce) a notice of a failed null-sender message.
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

const block = allocateLoopbackBlock();
const prefix = '{sn}';
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let senderMx: SmtpPeer;
const peers: SmtpPeer[] = [];
let runtime: WorkerRuntime;
let mq: MailQueue;
let redis: Redis;
const logger = memoryLogger();

const reportsFor = (queueId: string) =>
  senderMx.messages.filter((m) => m.from === '' && m.body.toString().includes(queueId));
const field = (body: Buffer, name: string) =>
  [...body.toString().matchAll(new RegExp(`^${name}: (.+)$`, 'gm'))].map((x) => x[1]?.trim());

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  senderMx = await startSmtpPeer({ host: block.addr(1), script: { ehloName: 'mx.src.test' } });
  const port = senderMx.port;
  peers.push(
    senderMx,
    await startSmtpPeer({
      host: block.addr(2),
      port,
      hideDsn: true,
      script: {
        ehloName: 'mx.nodsn.test',
        rcpt: (a) => (a.startsWith('hard') ? `550 5.1.1 <${a}>: Recipient address rejected` : undefined),
      },
    }),
    await startSmtpPeer({ host: block.addr(3), port, script: { ehloName: 'mx.dsn.test' } }),
    await startSmtpPeer({ host: block.addr(4), port: 24, lmtp: true }),
  );
  dns = await startDnsServer({
    'src.test': { MX: [[10, 'mx.src.test']] },
    'nodsn.test': { MX: [[10, 'mx.nodsn.test']] },
    'dsn.test': { MX: [[10, 'mx.dsn.test']] },
    'mx.src.test': { A: [block.addr(1)] },
    'mx.nodsn.test': { A: [block.addr(2)] },
    'mx.dsn.test': { A: [block.addr(3)] },
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(port),
    smtpConnectTimeout: 2,
    minimalBackoffTime: 0.3,
    maximalBackoffTime: 0.6,
    smtpTlsSecurityLevel: 'none' as const,
    lmtpAssumeFinal: true,
    notifyClasses: ['bounce', 'resource', 'software'],
    bounceNoticeRecipient: 'pm@src.test',
  };
  runtime = createWorker({ redisUrl: server.url, prefix, options, logger, concurrency: 2 });
  runtime.start();
  mq = createMailQueue({ redis: server.url, prefix, options });
});

afterAll(async () => {
  await runtime?.close(true);
  await mq?.close();
  redis?.disconnect();
  for (const p of peers) await p.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

async function released(queueId: string): Promise<void> {
  await until('message released', async () =>
    (await redis.exists(mq.keys.message(queueId))) === 0 ? true : undefined,
  );
}

it('NOTIFY=SUCCESS: "relayed" for the server without DSN only; the DSN server got NOTIFY', async () => {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['ok@nodsn.test', 'ok@dsn.test'],
    message: 'Subject: s\r\nTLS-Required: no\r\n\r\nx\r\n',
    dsn: { notify: ['SUCCESS', 'FAILURE'], envid: 'E1' },
  });
  await until('report delivered', async () => (reportsFor(queueId).length > 0 ? true : undefined));
  await released(queueId);
  await new Promise((r) => setTimeout(r, 800)); // room for a second report to show up
  const reports = reportsFor(queueId);
  expect(reports).toHaveLength(1);
  const body = reports[0]?.body ?? Buffer.alloc(0);
  expect(reports[0]?.to).toEqual(['app@src.test']);
  expect(body.toString()).toContain('Subject: Successful Mail Delivery Report');
  expect(field(body, 'Final-Recipient')).toEqual(['rfc822; ok@nodsn.test']);
  expect(field(body, 'Action')).toEqual(['relayed']);
  expect(field(body, 'Status')).toEqual(['2.0.0']);
  expect(field(body, 'Remote-MTA')).toEqual(['dns; mx.nodsn.test']);
  expect(field(body, 'Original-Envelope-Id')).toEqual(['E1']);
  expect(body.toString()).toContain(`<ok@nodsn.test>: delivery via mx.nodsn.test[${block.addr(2)}]:`);
  expect(body.toString()).toContain('Content-Type: text/rfc822-headers');
  expect(body.toString()).toContain('TLS-Required: no');
  const dsnPeer = peers[2];
  expect(dsnPeer?.commands.find((c) => c.line.startsWith('RCPT TO:<ok@dsn.test>'))?.line).toContain(
    'NOTIFY=SUCCESS,FAILURE',
  );
});

it('LMTP with lmtpAssumeFinal: "delivered"; without NOTIFY=SUCCESS: no notice', async () => {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['box@lmtp.test'],
    message: 'Subject: l\r\n\r\nx\r\n',
    transport: 'lmtp',
    nexthop: `inet:[${block.addr(4)}]:24`,
    dsn: { notify: ['SUCCESS'] },
  });
  await until('report delivered', async () => (reportsFor(queueId).length > 0 ? true : undefined));
  const body = reportsFor(queueId)[0]?.body ?? Buffer.alloc(0);
  expect(field(body, 'Action')).toEqual(['delivered']);
  const quiet = await mq.send({
    from: 'app@src.test',
    to: ['ok2@nodsn.test'],
    message: 'Subject: q\r\n\r\nx\r\n',
  });
  await released(quiet.queueId);
  await released(queueId);
  await new Promise((r) => setTimeout(r, 500));
  expect(reportsFor(quiet.queueId)).toHaveLength(0);
});

const toPostmaster = (queueId: string) =>
  senderMx.messages.filter((m) => m.to.includes('pm@src.test') && m.body.toString().includes(queueId));

it('notify_classes bounce: the sender gets the report, the postmaster a headers-only copy from double-bounce', async () => {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['hard@nodsn.test'],
    message: 'Subject: b\r\n\r\nsecret body\r\n',
  });
  await until('both delivered', async () =>
    reportsFor(queueId).length > 0 && toPostmaster(queueId).length > 0 ? true : undefined,
  );
  const copy = toPostmaster(queueId)[0] ?? expect.fail('no copy');
  expect(copy.from).toBe('double-bounce@mta.test');
  const text = copy.body.toString();
  expect(text).toContain('Subject: Postmaster Copy: Undelivered Mail');
  expect(text).toContain('To: pm@src.test');
  expect(text).toContain('Content-Type: text/rfc822-headers');
  expect(text).not.toContain('secret body');
  expect(field(copy.body, 'Final-Recipient')).toEqual(['rfc822; hard@nodsn.test']);
  const toSender = reportsFor(queueId).filter((m) => m.to.includes('app@src.test'));
  expect(toSender).toHaveLength(1);
  expect(toSender[0]?.body.toString()).toContain('secret body');
});

it('notify_classes bounce implies 2bounce: a failed null-sender message is noticed to the postmaster', async () => {
  const { queueId } = await mq.send({
    from: '',
    to: ['hard2@nodsn.test'],
    message: 'Subject: nb\r\n\r\nx\r\n',
  });
  await until('notice delivered', async () => (toPostmaster(queueId).length > 0 ? true : undefined));
  const notice = toPostmaster(queueId)[0] ?? expect.fail();
  expect(notice.from).toBe('double-bounce@mta.test');
  expect(field(notice.body, 'Action')).toEqual(['failed']);
});
