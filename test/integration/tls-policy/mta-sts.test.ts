/**
 * MTA-STS (RFC 8461) end to end on loopback: a real DNS server publishing `_mta-sts` TXT and the
 * policy host's address, a real HTTPS policy host on port 443 of that address (test CA), and real
 * SMTP peers. Covers enforce (verified TLS, MX mismatch, no STARTTLS, bad certificate), testing,
 * absent and malformed records and policies, the fetch limits (stall, huge body, redirect,
 * content type) and the cache (max_age, id change, Redis shared by two processes' sources).
 */

import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createDnsResolver } from '../../../src/dns/resolver.ts';
import { createMtaStsSource } from '../../../src/mta-sts/source.ts';
import { createMemoryStsStore, createRedisStsStore } from '../../../src/mta-sts/store.ts';
import { makeTestPki, type TestPki } from '../../support/certs.ts';
import { fakeClock, memoryLogger } from '../../support/fakes.ts';
import type { HttpsReply, TestHttpsServer } from '../../support/https-server.ts';
import { startHttpsServer } from '../../support/https-server.ts';
import { startRedis } from '../../support/redis.ts';
import type { Scene } from '../attempt/harness.ts';
import { rcpt, request, scene } from '../attempt/harness.ts';

const POLICY_ENFORCE = 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 86400\r\n';

const zone = (txt: string[]) => (addr: (n: number) => string) => ({
  'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
  'mx1.example.test': { A: [addr(1)] },
  '_mta-sts.example.test': { TXT: txt },
  'mta-sts.example.test': { A: [addr(9)] },
});

let s: Scene | undefined;
let web: TestHttpsServer | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await web?.stop();
  web = undefined;
  await s?.close();
  s = undefined;
  for (const c of cleanups.splice(0)) await c();
});

interface Setup {
  mxPki: TestPki;
  ca: string[];
}

async function setup(txt: string[], reply: (path: string) => HttpsReply): Promise<Setup> {
  const mxPki = await makeTestPki('mx1.example.test');
  const stsPki = await makeTestPki('mta-sts.example.test');
  s = await scene(zone(txt));
  web = await startHttpsServer({ host: s.addr(9), tls: stsPki.valid, respond: (r) => reply(r.url) });
  return { mxPki, ca: [mxPki.caCert, stsPki.caCert] };
}

const policy = (body: string): HttpsReply => ({
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});
const agentOpts = (ca: string[], extra = {}) => ({
  smtpTlsSecurityLevel: 'may' as const,
  smtpTlsCAfile: ca,
  mtaStsEnable: true,
  mtaStsFetchTimeout: '2s',
  ...extra,
});
const mailTls = (peer: { commands: Array<{ line: string; tls: boolean }> }) =>
  peer.commands.filter((c) => c.line.startsWith('MAIL FROM')).map((c) => c.tls);

describe('MTA-STS enforce', () => {
  it('a valid enforce policy delivers over verified TLS (level may raised to verify)', async () => {
    const { mxPki, ca } = await setup(['v=STSv1; id=20260101'], () => policy(POLICY_ENFORCE));
    const peer = await s?.peer(1, { tls: mxPki.valid });
    const { agent, logs } = s?.agent(agentOpts(ca)) ?? expect.fail('no scene');
    const r = await agent.deliver(request({ recipients: [{ address: 'a@example.test' }] }));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(mailTls(peer ?? expect.fail())).toEqual([true]);
    expect(logs().find((l) => l.includes('to=<a@example.test>'))).toContain('tls=verify');
    expect(web?.requests.map((q) => [q.url, q.host])).toEqual([
      ['/.well-known/mta-sts.txt', 'mta-sts.example.test'],
    ]);
  });

  it('an MX the policy does not list is not tried: deferred 4.7.5 naming domain and host', async () => {
    const { mxPki, ca } = await setup(['v=STSv1; id=1'], () =>
      policy('version: STSv1\nmode: enforce\nmx: *.other.test\nmx: mail.example.test\nmax_age: 600\n'),
    );
    const peer = await s?.peer(1, { tls: mxPki.valid });
    const r = await (s?.agent(agentOpts(ca)).agent ?? expect.fail()).deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.5',
      diagnostic: 'MTA-STS policy for example.test does not list MX host mx1.example.test',
    });
    expect(peer?.connections).toBe(0);
  });

  it('no mail in plaintext: a server without STARTTLS or with an untrusted certificate gets no MAIL', async () => {
    const { mxPki, ca } = await setup(['v=STSv1; id=1'], () => policy(POLICY_ENFORCE));
    const plain = await s?.peer(1);
    const { agent } = s?.agent(agentOpts(ca)) ?? expect.fail();
    const r = await agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({ status: 'deferred', dsn: '4.7.4' });
    expect(plain?.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
    await plain?.stop();
    s?.peers.splice(0);
    const bad = await s?.peer(1, { tls: mxPki.untrustedCa });
    const r2 = await agent.deliver(request({ arrivalTime: Date.now() - 3_600_000 }));
    expect(rcpt(r2, 0)).toMatchObject({ status: 'deferred', diagnostic: 'Server certificate not verified' });
    expect(bad?.commands.some((c) => c.line.startsWith('MAIL'))).toBe(false);
  });

  it('TLS-Required: no skips the policy', async () => {
    const { ca } = await setup(['v=STSv1; id=1'], () => policy(POLICY_ENFORCE));
    const plain = await s?.peer(1);
    const msg = Buffer.from('From: s@client.test\r\nTLS-Required: no\r\n\r\nhi\r\n');
    const r = await (s?.agent(agentOpts(ca)).agent ?? expect.fail()).deliver(
      request({ message: msg, size: msg.length }),
    );
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(plain?.messages).toHaveLength(1);
    expect(web?.requests).toHaveLength(0);
  });
});

describe('MTA-STS testing, absent and malformed', () => {
  it('testing mode delivers (plaintext, unlisted MX) and logs the mismatch', async () => {
    const { ca } = await setup(['v=STSv1; id=1'], () =>
      policy('version: STSv1\nmode: testing\nmx: other.example.test\nmax_age: 600\n'),
    );
    const plain = await s?.peer(1);
    const { agent, logs } = s?.agent(agentOpts(ca)) ?? expect.fail();
    const r = await agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(plain?.messages).toHaveLength(1);
    expect(logs()).toContainEqual(
      'QID1: MTA-STS policy (testing) for example.test does not list MX host mx1.example.test; delivering anyway',
    );
  });

  const ignored: Array<[string, string[], HttpsReply, string]> = [
    ['no TXT record', [], policy(POLICY_ENFORCE), ''],
    [
      'a malformed TXT id',
      ['v=STSv1; id=not-alnum!'],
      policy(POLICY_ENFORCE),
      'MTA-STS example.test: bad TXT record: bad id "not-alnum!"',
    ],
    [
      'two STSv1 TXT records',
      ['v=STSv1; id=1', 'v=STSv1; id=2'],
      policy(POLICY_ENFORCE),
      'MTA-STS example.test: bad TXT record: 2 TXT records starting with v=STSv1',
    ],
    [
      'a malformed policy',
      ['v=STSv1; id=1'],
      policy('version: STSv1\nmode: bogus\nmx: mx1.example.test\nmax_age: 60\n'),
      'MTA-STS example.test: bad policy: bad mode "bogus"',
    ],
    [
      'a policy with max_age over a year',
      ['v=STSv1; id=1'],
      policy('version: STSv1\nmode: enforce\nmx: x.test\nmax_age: 99999999\n'),
      'MTA-STS example.test: bad policy: bad max_age "99999999"',
    ],
    [
      'a redirect',
      ['v=STSv1; id=1'],
      { status: 301, headers: { location: 'https://elsewhere.test/' } },
      'MTA-STS example.test: policy not fetched: redirect (HTTP 301) not followed',
    ],
    [
      'a 404',
      ['v=STSv1; id=1'],
      { status: 404 },
      'MTA-STS example.test: policy not fetched: HTTP status 404',
    ],
    [
      'a wrong content type',
      ['v=STSv1; id=1'],
      { headers: { 'content-type': 'text/html' }, body: POLICY_ENFORCE },
      'MTA-STS example.test: policy not fetched: content type "text/html" is not text/plain',
    ],
    [
      'a body over 64 KiB',
      ['v=STSv1; id=1'],
      { huge: 10 * 1024 * 1024 },
      'MTA-STS example.test: policy not fetched: policy larger than 65536 bytes',
    ],
    [
      'a stalled policy host',
      ['v=STSv1; id=1'],
      'stall',
      'MTA-STS example.test: policy not fetched: no complete answer within 2000 ms',
    ],
  ];
  for (const [what, txt, reply, line] of ignored) {
    it(`${what}: no policy, delivered as configured${line ? ', with a log line' : ''}`, async () => {
      const { ca } = await setup(txt, () => reply);
      const plain = await s?.peer(1);
      const { agent, logs } = s?.agent(agentOpts(ca)) ?? expect.fail();
      const r = await agent.deliver(request());
      expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
      expect(plain?.messages).toHaveLength(1);
      if (line !== '') expect(logs()).toContainEqual(line);
      else expect(logs().filter((l) => l.startsWith('MTA-STS'))).toEqual([]);
    });
  }

  it('a policy host whose certificate is for another name is not trusted', async () => {
    const mxPki = await makeTestPki('mx1.example.test');
    s = await scene(zone(['v=STSv1; id=1']));
    web = await startHttpsServer({
      host: s.addr(9),
      tls: mxPki.valid,
      respond: () => policy(POLICY_ENFORCE),
    });
    const plain = await s.peer(1);
    const { agent, logs } = s.agent(agentOpts([mxPki.caCert]));
    expect(rcpt(await agent.deliver(request()), 0)).toMatchObject({ status: 'sent' });
    expect(plain.messages).toHaveLength(1);
    expect(
      logs().some((l) => l.startsWith('MTA-STS example.test: policy not fetched: HTTPS fetch failed')),
    ).toBe(true);
  });
});

describe('MTA-STS policy cache', () => {
  it('kept for max_age and used while the host is down; refetched when the TXT id changes; dropped when expired', async () => {
    const { ca } = await setup(['v=STSv1; id=1'], () =>
      policy('version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 60\n'),
    );
    const dnsServer = s?.dns ?? expect.fail();
    const clock = fakeClock(1_000_000);
    const source = createMtaStsSource({
      dns: createDnsResolver({ servers: [dnsServer.server], timeoutMs: 2000, tries: 1 }),
      store: createMemoryStsStore(() => clock.now()),
      clock,
      logger: memoryLogger(),
      ca,
      fetchTimeoutMs: 2000,
    });
    expect((await source.policyFor('example.test'))?.mode).toBe('enforce');
    web?.setRespond(() => ({ status: 500 }));
    clock.advance(59_000);
    expect((await source.policyFor('example.test'))?.mode).toBe('enforce');
    expect(web?.requests).toHaveLength(1);
    // A new id is refetched; the fetch fails, so the cached policy stays in force.
    dnsServer.setZone(zone(['v=STSv1; id=2'])((n) => `${s?.addr(n)}`));
    expect((await source.policyFor('example.test'))?.mode).toBe('enforce');
    expect(web?.requests).toHaveLength(2);
    web?.setRespond(() => policy('version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 60\n'));
    expect((await source.policyFor('example.test'))?.mode).toBe('testing');
    // Past max_age with the host down: no policy.
    web?.setRespond(() => ({ status: 500 }));
    clock.advance(61_000);
    expect(await source.policyFor('example.test')).toBeUndefined();
  });

  it('the Redis store is shared: a second source finds the policy without fetching', async () => {
    const { ca } = await setup(['v=STSv1; id=7'], () => policy(POLICY_ENFORCE));
    const redis = await startRedis();
    const clients = [new Redis(redis.url), new Redis(redis.url)];
    cleanups.push(async () => {
      for (const c of clients) c.disconnect();
      await redis.stop();
    });
    const dnsServer = s?.dns ?? expect.fail();
    const mk = (c: Redis) =>
      createMtaStsSource({
        dns: createDnsResolver({ servers: [dnsServer.server], timeoutMs: 2000, tries: 1 }),
        store: createRedisStsStore(c, 'mxqtest', Date.now),
        clock: { now: Date.now },
        logger: memoryLogger(),
        ca,
        fetchTimeoutMs: 2000,
      });
    const [a, b] = clients.map(mk);
    expect((await a?.policyFor('example.test'))?.mx).toEqual(['mx1.example.test']);
    expect((await b?.policyFor('example.test'))?.mx).toEqual(['mx1.example.test']);
    expect(web?.requests).toHaveLength(1);
    const ttl = await clients[0]?.pttl('mxqtest:mta-sts:example.test');
    expect(ttl).toBeGreaterThan(80_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });
});
