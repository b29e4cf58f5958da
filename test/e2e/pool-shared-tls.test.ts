/**
 * Scenario: `mxq pool -n 2` shares TLS sessions through its TLS owner (Postfix tlsproxy): the
 * supervisor runs the TLS handshake on the raw socket a child passes after 220 to STARTTLS, and
 * the child talks plaintext to it over a local link that any child may take from the host cache.
 * Messages sent one after another to one STARTTLS server ride on one TCP connection and one TLS
 * handshake, in the owner (no child ever holds two sessions of the server, so none runs its own
 * TLS: see pool-tls-busy.test.ts for that); certificate checks still hold (an untrusted certificate at level verify defers); a
 * TLS session never serves another TLS policy.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../../src/queue/mail-queue.ts';
import { makeTestPki } from '../support/certs.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { allocateLoopbackBlock } from '../support/loopback.ts';
import { type RedisHandle, startRedis } from '../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../support/smtp-peer.ts';
import { until, writeConfig } from './helpers.ts';
import { type PoolProcess, poolReady, poolStatus, spawnPool, stopPool } from './pool-helpers.ts';

const block = allocateLoopbackBlock();
const prefix = '{e2epooltls}';
let server: RedisHandle;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let peer: SmtpPeer;
let mq: MailQueue;
let pool: PoolProcess;

beforeAll(async () => {
  server = await startRedis();
  const pki = await makeTestPki('mx.tls.test');
  peer = await startSmtpPeer({ host: block.addr(1), tls: pki.valid, script: { ehloName: 'mx.tls.test' } });
  const zone: Record<string, { MX?: Array<[number, string]>; A?: string[] }> = {
    'mx.tls.test': { A: [block.addr(1)] },
  };
  for (const d of ['may.test', 'verify.test', 'untrusted.test']) zone[d] = { MX: [[10, 'mx.tls.test']] };
  dns = await startDnsServer(zone);
  const options = {
    myhostname: 'mta.test',
    dnsServers: [dns.server],
    smtpTcpPort: String(peer.port),
    smtpConnectionCacheTimeLimit: '10s', // a loaded machine's pauses between sends keep sessions
    smtpTlsSecurityLevel: 'may' as const,
    smtpTlsPolicyMaps: {
      'verify.test': { level: 'verify' as const, match: ['hostname'], tafile: [pki.caCert] },
      'untrusted.test': { level: 'verify' as const, match: ['hostname'] },
    },
    minimalBackoffTime: 60,
  };
  const config = await writeConfig(options);
  mq = createMailQueue({ redis: server.url, prefix, options });
  pool = spawnPool({ config, redis: server.url, prefix, processes: 2, extra: ['--concurrency', '2'] });
  await poolReady(pool, 2);
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
  const outcome = await mq.waitForOutcome(queueId, { timeoutMs: 30_000 });
  return outcome.map((o) => o.status);
}

it('a TLS session opened by one process is reused by the other: one connection, one handshake', async () => {
  const before = peer.connections;
  const handshakesBefore = (await poolStatus(pool)).tlsOwner?.handshakes ?? 0;
  for (let i = 0; i < 10; i++) expect(await send(`u${i}@may.test`)).toEqual(['sent']);
  expect(peer.connections - before).toBe(1);
  const status = await poolStatus(pool);
  expect((status.tlsOwner?.handshakes ?? 0) - handshakesBefore).toBe(1);
  const hostHits = status.children.map(
    (c) => (c.cache?.hitsHostDest ?? 0) + (c.cache?.hitsHostEndpoint ?? 0),
  );
  expect(hostHits.filter((h) => h > 0).length).toBe(2);
  // one message at a time: no process ever held a second session, so no handshake ran in a child
  expect(status.children.map((c) => c.cache?.tlsLocal ?? 0)).toEqual([0, 0]);
  // nothing but the greeting, EHLO and STARTTLS went in plaintext
  const plain = peer.commands.filter((c) => !c.tls).map((c) => c.line.split(' ')[0]);
  expect(new Set(plain)).toEqual(new Set(['EHLO', 'STARTTLS']));
  expect(pool.output()).toContain('conn_use=10');
}, 90_000);

it('the TLS owner applies the policy checks: verify with the right trust anchor is sent, without it deferred', async () => {
  expect(await send('v@verify.test')).toEqual(['sent']);
  const { queueId } = await mq.send({
    from: 'app@src.test',
    to: ['x@untrusted.test'],
    message: 'Subject: u\r\n\r\nx\r\n',
  });
  await until(
    'deferred line',
    async () => (pool.output().includes(`${queueId}: to=<x@untrusted.test>`) ? true : undefined),
    30_000,
  );
  const line =
    pool
      .output()
      .split('\n')
      .find((l) => l.includes(`${queueId}: to=<x@untrusted.test>`)) ?? '';
  expect(line).toContain('status=deferred');
  expect(line).toContain('certificate');
}, 60_000);

it('never hands a TLS session to another TLS policy', async () => {
  const connOf = (rcpt: string) =>
    peer.commands.filter((c) => c.line.startsWith(`RCPT TO:<${rcpt}>`)).at(-1)?.conn;
  expect(await send('a@may.test')).toEqual(['sent']);
  expect(await send('b@verify.test')).toEqual(['sent']); // level verify: never the may session
  expect(await send('c@may.test')).toEqual(['sent']); // level may: never the verify session
  expect(connOf('b@verify.test')).toBeDefined();
  expect(connOf('b@verify.test')).not.toBe(connOf('a@may.test'));
  expect(connOf('c@may.test')).not.toBe(connOf('b@verify.test'));
}, 60_000);
