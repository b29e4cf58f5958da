/**
 * Scenario: in `mxq pool --sharing shared`, a process already holding a TLS session of a server
 * runs the handshake of a further concurrent session to it itself (cache/tls-placement.ts), since
 * that session would stay in the process anyway (a busy destination): only the first goes through
 * the TLS owner and may be handed over. One child, two job slots, a server that holds its reply
 * to the final dot until both messages arrived (two overlapping sessions): one handshake in the
 * owner, one in the child; the child's session is never offered to the host tier, and the next
 * message reuses it from the child's local tier.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { makeTestPki } from '../support/certs.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { writeConfig } from './helpers.ts';
import { type PoolProcess, poolReady, poolStatus, spawnPool, stopPool } from './pool-helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2epooltlsbusy}';
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peer: SmtpPeer;
let mq: MailQueue;
let pool: PoolProcess;

beforeAll(async () => {
  server = await startRedis();
  const pki = await makeTestPki('mx.busy.test');
  peer = await startSmtpPeer({ host: block.addr(1), tls: pki.valid, script: { ehloName: 'mx.busy.test' } });
  dns = await startDnsServer({
    'mx.busy.test': { A: [block.addr(1)] },
    'busy.test': { MX: [[10, 'mx.busy.test']] },
  });
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpConnectionCacheTimeLimit: '30s', // a loaded machine's pauses between sends keep sessions
    smtpTlsSecurityLevel: 'may' as const,
    minimalBackoffTime: 60,
  };
  const config = await writeConfig(options);
  mq = createMailQueue({ redis: server.url, prefix, options });
  pool = spawnPool({ config, redis: server.url, prefix, processes: 1, extra: ['--concurrency', '2'] });
  await poolReady(pool, 1);
}, 180_000);

afterAll(async () => {
  if (pool !== undefined) await stopPool(pool);
  await mq?.close();
  await peer?.stop();
  await dns?.stop();
  await server?.stop();
  block.release();
});

async function send(to: string): Promise<string[]> {
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: [to],
    message: `Subject: ${to}\r\n\r\nx\r\n`,
  });
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 60_000 });
  return outcome.map((o) => o.status);
}

it('a second concurrent TLS session to a server runs its handshake in the child and stays there', async () => {
  let open = (): void => undefined;
  const bothArrived = new Promise<void>((resolve) => {
    open = resolve;
  });
  peer.setScript({
    ehloName: 'mx.busy.test',
    holdDot: () => {
      if (peer.messages.length >= 2) open();
      return bothArrived;
    },
  });
  expect(await Promise.all([send('a@busy.test'), send('b@busy.test')])).toEqual([['sent'], ['sent']]);
  expect(peer.connections).toBe(2);
  expect(new Set(peer.messages.map((m) => m.conn)).size).toBe(2);
  expect(peer.messages.every((m) => m.tls)).toBe(true);

  const s1 = await poolStatus(pool);
  const child = s1.children[0]?.cache ?? {};
  expect(s1.tlsOwner?.handshakes).toBe(1);
  expect(child.tlsProxied).toBe(1);
  expect(child.tlsLocal).toBe(1);
  expect(child.tlsLocalBusy).toBe(1);
  // the owner's session went to the host tier; the child's own TLS session was never offered
  expect(child.storesHost).toBe(1);
  expect(child.storesLocal).toBe(1);
  expect(s1.hostCache.stores).toBe(1);

  // the next message takes the child's own TLS session from its local tier: no new handshake
  peer.setScript({ ehloName: 'mx.busy.test' });
  expect(await send('c@busy.test')).toEqual(['sent']);
  const s2 = await poolStatus(pool);
  const after = s2.children[0]?.cache ?? {};
  expect(peer.connections).toBe(2);
  expect(after.hitsLocalDest).toBe(1);
  expect(after.tlsLocal).toBe(1);
  expect(after.tlsProxied).toBe(1);
  expect(s2.tlsOwner?.handshakes).toBe(1);
  const connOf = (rcpt: string) => peer.messages.find((m) => m.to.includes(rcpt))?.conn;
  expect([connOf('a@busy.test'), connOf('b@busy.test')]).toContain(connOf('c@busy.test'));
}, 120_000);
