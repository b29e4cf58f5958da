/**
 * TLSRPT (RFC 8460) on loopback: real delivery agents count TLS sessions in a real redis-server
 * (shared store), then `sendDueReports` finds `_smtp._tls` in a real DNS server, posts the gzip
 * JSON to a real HTTPS receiver and queues the mailto: report through mxq's own queue.
 */
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import { createDnsResolver } from '../../../src/dns/resolver.ts';
import { createMailQueue } from '../../../src/queue/mail-queue.ts';
import { sendDueReports } from '../../../src/tlsrpt/send.ts';
import { createMemoryTlsRptStore, createRedisTlsRptStore } from '../../../src/tlsrpt/store.ts';
import { createDeliveryAgent } from '../../../src/workers/agent.ts';
import { makeTestPki } from '../../support/certs.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import { memoryLogger } from '../../support/fakes.ts';
import { startHttpsServer, type TestHttpsServer } from '../../support/https-server.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { startRedis } from '../../support/redis.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { request } from '../attempt/harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(txt: string[]) {
  const block = allocateLoopbackBlock();
  cleanups.push(() => block.release());
  const dns = await startDnsServer({
    'example.test': { MX: [[10, 'mx1.example.test']] },
    'mx1.example.test': { A: [block.addr(1)] },
    '_smtp._tls.example.test': { TXT: txt },
    'rpt.rep.test': { A: [block.addr(9)] },
    'rep.test': { MX: [[10, 'mx.rep.test']] },
  });
  cleanups.push(() => dns.stop());
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url);
  cleanups.push(async () => {
    redis.disconnect();
    await redisServer.stop();
  });
  const pki = await makeTestPki('rpt.rep.test');
  const posts: TestHttpsServer = await startHttpsServer({
    host: block.addr(9),
    tls: pki.valid,
    respond: () => ({ status: 202 }),
  });
  cleanups.push(() => posts.stop());
  const store = createRedisTlsRptStore(redis, '{t}');
  const logger = memoryLogger();
  const agentFor = () => {
    const a = createDeliveryAgent(
      resolveOptions({
        dnsServers: [dns.server],
        inetProtocols: 'ipv4',
        smtpTlsSecurityLevel: 'encrypt',
        myhostname: 'mta.test',
        smtpTlsrptEnable: true,
      }),
      { logger, tlsRptStore: store },
    );
    cleanups.push(() => a.close());
    return a;
  };
  const peer = async (tls: boolean): Promise<SmtpPeer> => {
    const mx = await makeTestPki('mx1.example.test');
    const p = await startSmtpPeer({ host: block.addr(1), port: 25, ...(tls ? { tls: mx.valid } : {}) });
    return p;
  };
  const mq = createMailQueue({ redis: redisServer.url, prefix: '{t}' });
  cleanups.push(() => mq.close());
  const send = (now: number) =>
    sendDueReports({
      store,
      dns: createDnsResolver({ servers: [dns.server], timeoutMs: 2000, tries: 1 }),
      clock: { now: () => now },
      logger,
      mail: mq,
      myhostname: 'mta.test',
      organization: 'Example Org',
      contact: 'postmaster@mta.test',
      sender: 'noreply-smtp-tls-reporting@mta.test',
      ca: [pki.caCert],
      timeoutMs: 5000,
    });
  return { block, redis, store, posts, agentFor, peer, send, mq, logger };
}

const tomorrow = () => Date.now() + 86_400_000;

describe('TLSRPT', () => {
  it('counts a failure (no STARTTLS) and a success, then reports by HTTPS and mail, and forgets them', async () => {
    const w = await world(['v=TLSRPTv1; rua=https://rpt.rep.test/v1/tlsrpt,mailto:tls@rep.test']);
    const agent = w.agentFor();
    const plain = await w.peer(false);
    expect((await agent.deliver(request())).recipients[0]?.status).toBe('deferred');
    await plain.stop();
    const secure = await w.peer(true);
    cleanups.push(() => secure.stop());
    expect((await agent.deliver(request())).recipients[0]?.status).toBe('sent');
    // nothing is due today
    expect(await w.send(Date.now())).toBe(0);
    expect(await w.send(tomorrow())).toBe(1);
    const post = w.posts.requests[0] ?? expect.fail('no POST');
    expect([post.method, post.url, post.headers['content-type']]).toEqual([
      'POST',
      '/v1/tlsrpt',
      'application/tlsrpt+gzip',
    ]);
    const report = JSON.parse(gunzipSync(post.body).toString());
    expect(report['organization-name']).toBe('Example Org');
    expect(report['date-range']['start-datetime']).toMatch(/T00:00:00Z$/);
    expect(report.policies).toEqual([
      {
        policy: { 'policy-type': 'no-policy-found', 'policy-domain': 'example.test' },
        summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 1 },
        'failure-details': [
          {
            'result-type': 'starttls-not-supported',
            'receiving-mx-hostname': 'mx1.example.test',
            'receiving-ip': w.block.addr(1),
            'failed-session-count': 1,
          },
        ],
      },
    ]);
    const queued = await w.mq.list();
    expect(queued).toHaveLength(1);
    const id = queued[0]?.queueId ?? expect.fail();
    const body = (await w.redis.hgetBuffer(w.mq.keys.message(id), 'body'))?.toString() ?? '';
    expect(body).toContain('TLS-Report-Domain: example.test');
    expect(body).toContain('TLS-Required: no');
    expect(body).toContain('Content-Type: multipart/report; report-type="tlsrpt"');
    expect(body).toContain('Content-Type: application/tlsrpt+gzip');
    expect(await w.store.pending()).toEqual([]);
  });

  it('a failed upload keeps the counts for the next run', async () => {
    const w = await world(['v=TLSRPTv1; rua=https://rpt.rep.test/r']);
    const secure = await w.peer(true);
    cleanups.push(() => secure.stop());
    await w.agentFor().deliver(request());
    w.posts.setRespond(() => ({ status: 500 }));
    expect(await w.send(tomorrow())).toBe(0);
    expect(await w.store.pending()).toHaveLength(1);
    w.posts.setRespond(() => ({ status: 200 }));
    expect(await w.send(tomorrow())).toBe(1);
    expect(w.posts.requests).toHaveLength(2);
  });

  it('a domain without a valid TLSRPT record: dropped with a log line naming it and the defect', async () => {
    const w = await world(['v=TLSRPTv1; rua=ftp://nowhere']);
    const secure = await w.peer(true);
    cleanups.push(() => secure.stop());
    await w.agentFor().deliver(request());
    expect(await w.send(tomorrow())).toBe(0);
    expect(await w.store.pending()).toEqual([]);
    expect(w.logger.records.map((r) => String(r.msg))).toContainEqual(
      expect.stringMatching(/^TLSRPT example\.test: no report sent for \d{4}-\d\d-\d\d: no usable rua URI$/),
    );
  });
});

describe('TLSRPT and MTA-STS policy failures', () => {
  it('a published policy that cannot be fetched is counted as sts-policy-fetch-error', async () => {
    const block = allocateLoopbackBlock();
    cleanups.push(() => block.release());
    const pki = await makeTestPki('mta-sts.example.test');
    const web = await startHttpsServer({
      host: block.addr(9),
      tls: pki.valid,
      respond: () => ({ status: 503 }),
    });
    cleanups.push(() => web.stop());
    const dns = await startDnsServer({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [block.addr(1)] },
      '_mta-sts.example.test': { TXT: ['v=STSv1; id=1'] },
      'mta-sts.example.test': { A: [block.addr(9)] },
    });
    cleanups.push(() => dns.stop());
    const peer = await startSmtpPeer({ host: block.addr(1), port: 25 });
    cleanups.push(() => peer.stop());
    const store = createMemoryTlsRptStore();
    const agent = createDeliveryAgent(
      resolveOptions({
        dnsServers: [dns.server],
        inetProtocols: 'ipv4',
        myhostname: 'mta.test',
        smtpTlsCAfile: [pki.caCert],
        mtaStsEnable: true,
        smtpTlsrptEnable: true,
      }),
      { logger: memoryLogger(), tlsRptStore: store },
    );
    cleanups.push(() => agent.close());
    expect((await agent.deliver(request())).recipients[0]?.status).toBe('sent');
    const [entry] = await store.pending();
    const counts = await store.read(entry?.day ?? '', 'example.test');
    expect(counts).toContainEqual({
      policy: { type: 'sts', strings: [], mxPatterns: [] },
      success: 0,
      failures: [{ resultType: 'sts-policy-fetch-error', mxHost: '', ip: '', count: 1 }],
    });
  });
});

describe('TLSRPT certificate result types', () => {
  it('a trusted certificate for another name counts as certificate-host-mismatch, an untrusted one as certificate-not-trusted', async () => {
    const block = allocateLoopbackBlock();
    cleanups.push(() => block.release());
    const dns = await startDnsServer({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [block.addr(1)] },
    });
    cleanups.push(() => dns.stop());
    const other = await makeTestPki('other.test');
    const store = createMemoryTlsRptStore();
    const deliverWith = async (ca: string) => {
      const agent = createDeliveryAgent(
        resolveOptions({
          dnsServers: [dns.server],
          inetProtocols: 'ipv4',
          myhostname: 'mta.test',
          smtpTlsSecurityLevel: 'verify',
          smtpTlsCAfile: [ca],
          smtpTlsrptEnable: true,
        }),
        { logger: memoryLogger(), tlsRptStore: store },
      );
      try {
        return (await agent.deliver(request())).recipients[0]?.status;
      } finally {
        await agent.close();
      }
    };
    const peer = await startSmtpPeer({ host: block.addr(1), port: 25, tls: other.valid });
    cleanups.push(() => peer.stop());
    expect(await deliverWith(other.caCert)).toBe('deferred');
    const unrelated = await makeTestPki('mx1.example.test');
    expect(await deliverWith(unrelated.caCert)).toBe('deferred');
    const [entry] = await store.pending();
    const counts = await store.read(entry?.day ?? '', 'example.test');
    const failures = counts.flatMap((c) => c.failures).map((f) => [f.resultType, f.mxHost, f.count]);
    expect(failures).toEqual(
      expect.arrayContaining([
        ['certificate-host-mismatch', 'mx1.example.test', 1],
        ['certificate-not-trusted', 'mx1.example.test', 1],
      ]),
    );
    expect(failures).toHaveLength(2);
    expect(peer.messages).toEqual([]);
  });
});
