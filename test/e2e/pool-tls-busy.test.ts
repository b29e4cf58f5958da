/**
 * Scenario: in `mxq pool --sharing shared`, a process already holding two TLS sessions of a
 * server runs the handshake of a further concurrent session to it itself
 * (cache/tls-placement.ts), since that session would stay in the process anyway (a busy
 * destination): only the first two go through the TLS owner and may be handed over. One child,
 * three job slots, a server that holds its reply to the final dot until all three messages
 * arrived (three overlapping sessions): two handshakes in the owner, one in the child; the
 * child's session is never offered to the host tier, and the next message reuses it from the
 * child's local tier (local first).
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
  pool = spawnPool({ config, redis: server.url, prefix, processes: 1, extra: ['--concurrency', '3'] });
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

it('a third concurrent TLS session to a server runs its handshake in the child and stays there', async () => {
  let open = (): void => undefined;
  const allArrived = new Promise<void>((resolve) => {
    open = resolve;
  });
  peer.setScript({
    ehloName: 'mx.busy.test',
    holdDot: () => {
      if (peer.messages.length >= 3) open();
      return allArrived;
    },
  });
  const three = await Promise.all([send('a@busy.test'), send('b@busy.test'), send('c@busy.test')]);
  expect(three).toEqual([['sent'], ['sent'], ['sent']]);
  expect(peer.connections).toBe(3);
  expect(new Set(peer.messages.map((m) => m.conn)).size).toBe(3);
  expect(peer.messages.every((m) => m.tls)).toBe(true);

  const s1 = await poolStatus(pool);
  const child = s1.children[0]?.cache ?? {};
  expect(s1.tlsOwner?.handshakes).toBe(2);
  expect(child.tlsProxied).toBe(2);
  expect(child.tlsLocal).toBe(1);
  expect(child.tlsLocalBusy).toBe(1);
  // the owner's sessions went to the host tier; the child's own TLS session was never offered
  expect(child.storesHost).toBe(2);
  expect(child.storesLocal).toBe(1);
  expect(s1.hostCache.stores).toBe(2);

  // the next message takes the child's own TLS session from its local tier: no new handshake
  peer.setScript({ ehloName: 'mx.busy.test' });
  expect(await send('d@busy.test')).toEqual(['sent']);
  const s2 = await poolStatus(pool);
  const after = s2.children[0]?.cache ?? {};
  expect(peer.connections).toBe(3);
  expect(after.hitsLocalDest).toBe(1);
  expect(after.hitsHostDest ?? 0).toBe(0);
  expect(after.tlsLocal).toBe(1);
  expect(after.tlsProxied).toBe(2);
  expect(s2.tlsOwner?.handshakes).toBe(2);
}, 120_000);
