import { describe, expect, it } from 'vitest';
import { createLocalSessionCache } from '../../../src/cache/local-session-cache.ts';
import { runAttempt } from '../../../src/core/attempt.ts';
import type { DeliveryOptionsInput } from '../../../src/core/options.ts';
import { resolveOptions } from '../../../src/core/options.ts';
import type { SessionCache } from '../../../src/core/ports.ts';
import type { AttemptRequest, DeliveryFailure } from '../../../src/core/types.ts';
import { fakeClock, memoryLogger, seededRandom } from '../../support/fakes.ts';
import type { ServerScript, Zone } from './attempt-fakes.ts';
import { fakeDns, fakeWorld, lostFailure, saidFailure, siteFailure } from './attempt-fakes.ts';

const BASE: DeliveryOptionsInput = {
  inetProtocols: 'ipv4',
  smtpRandomizeAddresses: false,
  smtpTlsSecurityLevel: 'none',
  myhostname: 'client.test',
};

const MX2: Zone = {
  'example.test': {
    MX: [
      [10, 'mx1.example.test'],
      [20, 'mx2.example.test'],
    ],
  },
  'mx1.example.test': { A: ['127.0.2.1'] },
  'mx2.example.test': { A: ['127.0.2.2'] },
  'fb.test': { A: ['127.0.2.50'] },
};

function request(over: Partial<AttemptRequest> = {}): AttemptRequest {
  return {
    queueId: 'Q1',
    sender: 's@client.test',
    recipients: [{ address: 'a@example.test' }, { address: 'b@example.test' }],
    nexthop: 'example.test',
    protocol: 'smtp',
    message: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
    size: 20,
    arrivalTime: fakeClock().now(),
    ...over,
  };
}

async function attempt(
  zone: Zone,
  scripts: Record<string, ServerScript>,
  opts: DeliveryOptionsInput = {},
  req: Partial<AttemptRequest> = {},
  cache: SessionCache = createLocalSessionCache(),
) {
  const clock = fakeClock();
  const world = fakeWorld(scripts, clock.now);
  const logger = memoryLogger();
  const result = await runAttempt(
    request(req),
    { dns: fakeDns(zone), connector: world.connector, cache, clock, random: seededRandom(1), logger },
    resolveOptions({ ...BASE, ...opts }),
  );
  const rcpt = (i: number) => result.recipients[i] ?? expect.fail(`no result #${i}`);
  return { result, world, logger, rcpt, msgs: logger.records.map((r) => r.msg ?? '') };
}

const refuse: ServerScript = { refuse: true };

describe('runAttempt: server order and limits', () => {
  it('delivers via the first MX', async () => {
    const { result, world, rcpt, msgs } = await attempt(MX2, {});
    expect(world.connects).toEqual(['127.0.2.1']);
    expect(rcpt(0)).toMatchObject({ status: 'sent', dsn: '2.0.0', relay: 'mx1.example.test[127.0.2.1]:25' });
    expect(result.servers).toEqual([
      { host: 'mx1.example.test', addr: '127.0.2.1', port: 25, outcome: 'delivered' },
    ]);
    expect(result.hopStatus).toBeUndefined();
    expect(
      msgs.some((m) => m.startsWith('Q1: to=<a@example.test>, relay=mx1.example.test[127.0.2.1]:25')),
    ).toBe(true);
  });

  it('skips a refusing MX and logs the connect failure without a queue id', async () => {
    const { world, rcpt, msgs, result } = await attempt(MX2, { '127.0.2.1': refuse });
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.2']);
    expect(rcpt(1)).toMatchObject({ status: 'sent', relay: 'mx2.example.test[127.0.2.2]:25' });
    expect(msgs).toContain('connect to mx1.example.test[127.0.2.1]:25: Connection refused');
    expect(result.servers.map((s) => s.outcome)).toEqual(['connect-failed', 'delivered']);
  });

  it('defers with the last connect error, relay=none, and a hop status when all refuse', async () => {
    const { rcpt, result } = await attempt(MX2, { '127.0.2.1': refuse, '127.0.2.2': refuse });
    expect(rcpt(0)).toMatchObject({
      status: 'deferred',
      dsn: '4.4.1',
      relay: 'none',
      diagnostic: 'connect to mx2.example.test[127.0.2.2]:25: Connection refused',
    });
    expect(result.hopStatus?.status).toBe('4.4.1');
  });

  it('tries at most smtpMxAddressLimit addresses', async () => {
    const zone: Zone = {
      'example.test': {
        MX: [1, 2, 3, 4, 5, 6].map((n) => [n * 10, `mx${n}.example.test`] as [number, string]),
      },
    };
    const scripts: Record<string, ServerScript> = {};
    for (const n of [1, 2, 3, 4, 5, 6]) {
      zone[`mx${n}.example.test`] = { A: [`127.0.2.${n}`] };
      scripts[`127.0.2.${n}`] = refuse;
    }
    const { world, rcpt } = await attempt(zone, scripts);
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.2', '127.0.2.3', '127.0.2.4', '127.0.2.5']);
    expect(rcpt(0).diagnostic).toBe('connect to mx5.example.test[127.0.2.5]:25: Connection refused');
  });

  it('stops after smtpMxSessionLimit sessions; soft RCPT replies defer at the last one without throttling', async () => {
    const zone: Zone = {
      'example.test': {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
          [30, 'mx3.example.test'],
        ],
      },
      'mx1.example.test': { A: ['127.0.2.1'] },
      'mx2.example.test': { A: ['127.0.2.2'] },
      'mx3.example.test': { A: ['127.0.2.3'] },
    };
    const later: ServerScript = { rcpt: (_a, ep) => saidFailure(ep, '451 4.7.1 later', 'RCPT TO') };
    const { world, rcpt, result, msgs } = await attempt(zone, {
      '127.0.2.1': later,
      '127.0.2.2': later,
      '127.0.2.3': later,
    });
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.2']);
    expect(rcpt(0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.1',
      relay: 'mx2.example.test[127.0.2.2]:25',
      diagnostic: 'host mx2.example.test[127.0.2.2] said: 451 4.7.1 later (in reply to RCPT TO command)',
    });
    expect(result.hopStatus).toBeUndefined();
    expect(msgs).toContain(
      'Q1: host mx1.example.test[127.0.2.1] said: 451 4.7.1 later (in reply to RCPT TO command)',
    );
  });

  it('handshake failures do not count toward the session limit', async () => {
    const zone: Zone = {
      'example.test': {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
          [30, 'mx3.example.test'],
        ],
      },
      'mx1.example.test': { A: ['127.0.2.1'] },
      'mx2.example.test': { A: ['127.0.2.2'] },
      'mx3.example.test': { A: ['127.0.2.3'] },
    };
    const greet: ServerScript = { handshake: (ep) => siteFailure(ep, '421 4.3.2 busy') };
    const { world, rcpt } = await attempt(zone, { '127.0.2.1': greet, '127.0.2.2': greet });
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.2', '127.0.2.3']);
    expect(rcpt(0).status).toBe('sent');
  });
});

describe('runAttempt: classification per server', () => {
  it('bounces one recipient on 5xx RCPT and sends the other; the second MX is never tried', async () => {
    const { world, rcpt } = await attempt(MX2, {
      '127.0.2.1': {
        rcpt: (a, ep) => (a.startsWith('a@') ? saidFailure(ep, '550 5.1.1 unknown', 'RCPT TO') : undefined),
      },
    });
    expect(world.connects).toEqual(['127.0.2.1']);
    expect(rcpt(0)).toMatchObject({ status: 'bounced', dsn: '5.1.1' });
    expect(rcpt(1)).toMatchObject({ status: 'sent' });
  });

  it('bounces at once on a hard handshake failure', async () => {
    const { world, rcpt, result } = await attempt(MX2, {
      '127.0.2.1': { handshake: (ep) => siteFailure(ep, '550 denied') },
    });
    expect(world.connects).toEqual(['127.0.2.1']);
    expect(rcpt(0)).toMatchObject({
      status: 'bounced',
      dsn: '5.0.0',
      relay: 'mx1.example.test[127.0.2.1]:25',
    });
    expect(result.hopStatus).toBeUndefined();
  });

  it('defers at the final server on a lost connection and throttles', async () => {
    const { rcpt, result } = await attempt(MX2, {
      '127.0.2.1': { bulk: (ep) => lostFailure(ep, 'sending message body') },
      '127.0.2.2': { bulk: (ep) => lostFailure(ep, 'sending message body') },
    });
    expect(rcpt(0)).toMatchObject({
      status: 'deferred',
      dsn: '4.4.2',
      relay: 'mx2.example.test[127.0.2.2]:25',
    });
    expect(result.hopStatus?.status).toBe('4.4.2');
  });

  it('soft_bounce: a hard RCPT reply at the final server is deferred as 4.x.x SOFTBOUNCE', async () => {
    const zone: Zone = {
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: ['127.0.2.1'] },
    };
    const { rcpt, msgs } = await attempt(
      zone,
      { '127.0.2.1': { rcpt: (_a, ep) => saidFailure(ep, '550 5.1.1 unknown', 'RCPT TO') } },
      { softBounce: true },
    );
    expect(rcpt(0)).toMatchObject({ status: 'deferred', dsn: '4.1.1', softBounce: true });
    expect(msgs.some((m) => m.includes('status=SOFTBOUNCE'))).toBe(true);
  });

  it('SOFT_NON_FINAL: SMTPUTF8 missing at mx1 tries mx2', async () => {
    const utf8 = (ep: { host: string; address: string }) => ({
      handler: 'misc' as const,
      status: '5.6.7',
      text: `message requires SMTPUTF8, but no server was found that supports SMTPUTF8. The last attempted server was ${ep.host}[${ep.address}]`,
      throttle: false,
      softNonFinal: true,
      dontCache: true,
    });
    const { world, rcpt } = await attempt(
      MX2,
      { '127.0.2.1': { handshake: (ep, p) => (p.smtputf8Required ? utf8(ep) : undefined) } },
      {},
      { smtputf8: true, recipients: [{ address: 'ü@example.test' }] },
    );
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.2']);
    expect(world.handshakes[0]?.smtputf8Required).toBe(true);
    expect(rcpt(0)).toMatchObject({ status: 'sent', relay: 'mx2.example.test[127.0.2.2]:25' });
  });

  it('SMTPUTF8 is not required for ASCII envelopes and headers', async () => {
    const { world } = await attempt(MX2, {}, {}, { smtputf8: true });
    expect(world.handshakes[0]?.smtputf8Required).toBe(false);
    const h = await attempt(
      MX2,
      {},
      {},
      { smtputf8: true, message: Buffer.from('Subject: héllo\r\n\r\nbody\r\n') },
    );
    expect(h.world.handshakes[0]?.smtputf8Required).toBe(true);
  });
});

describe('runAttempt: sites, fallback relays and left-overs', () => {
  it('goes on to a fallback relay when the primary is unreachable', async () => {
    const zone: Zone = { ...MX2, 'example.test': { MX: [[10, 'mx1.example.test']] } };
    const { world, rcpt } = await attempt(
      zone,
      { '127.0.2.1': refuse },
      { smtpFallbackRelay: ['[fb.test]'] },
    );
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.50']);
    expect(rcpt(0)).toMatchObject({ status: 'sent', relay: 'fb.test[127.0.2.50]:25' });
  });

  it('a hard DNS error on the fallback relay becomes 4.3.5 with a warning', async () => {
    const zone: Zone = {
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: ['127.0.2.1'] },
    };
    const { rcpt, logger } = await attempt(
      zone,
      { '127.0.2.1': refuse },
      { smtpFallbackRelay: ['[nofb.test]'] },
    );
    expect(rcpt(0)).toMatchObject({ status: 'deferred', dsn: '4.3.5', relay: 'none' });
    expect(rcpt(0).diagnostic).toContain('name=nofb.test type=A: Host not found');
    expect(
      logger.records.some((r) => r.level === 'warn' && r.msg === 'smtp_fallback_relay configuration problem'),
    ).toBe(true);
  });

  it('a hard DNS error on the relayhost becomes 4.3.5 with a warning', async () => {
    const { rcpt, logger } = await attempt(
      {},
      {},
      { relayhost: '[relay.test]' },
      { nexthop: '[relay.test]' },
    );
    expect(rcpt(0)).toMatchObject({ status: 'deferred', dsn: '4.3.5', relay: 'none' });
    expect(logger.records.some((r) => r.msg === 'relayhost configuration problem')).toBe(true);
  });

  it('bounces NXDOMAIN with relay=none and no hop status', async () => {
    const { rcpt, result } = await attempt({}, {});
    expect(rcpt(0)).toMatchObject({
      status: 'bounced',
      dsn: '5.4.4',
      relay: 'none',
      diagnostic:
        'Host or domain name not found. Name service error for name=example.test type=A: Host not found',
    });
    expect(result.hopStatus).toBeUndefined();
  });

  it('defers a DNS temporary failure with a hop status', async () => {
    const { rcpt, result } = await attempt({ 'example.test': { fail: 'RETRY' } }, {});
    expect(rcpt(0)).toMatchObject({ status: 'deferred', dsn: '4.4.3', relay: 'none' });
    expect(result.hopStatus?.status).toBe('4.4.3');
  });

  it('a malformed next-hop defers every recipient 4.3.5 and logs why', async () => {
    const { rcpt, logger, world } = await attempt(MX2, {}, {}, { nexthop: '[mx1.example.test' });
    expect(world.connects).toEqual([]);
    expect(rcpt(0)).toMatchObject({ status: 'deferred', dsn: '4.3.5', relay: 'none' });
    expect(rcpt(1).status).toBe('deferred');
    expect(logger.records.some((r) => r.level === 'error' && String(r.msg).includes('missing "]"'))).toBe(
      true,
    );
  });

  it('a loop to myself bounces 5.4.6, or is handed to best_mx_transport', async () => {
    const zone: Zone = { 'example.test': { MX: [[10, 'self.test']] }, 'self.test': { A: ['127.0.2.99'] } };
    const a = await attempt(zone, {}, { proxyInterfaces: ['127.0.2.99'] });
    expect(a.rcpt(0)).toMatchObject({
      status: 'bounced',
      dsn: '5.4.6',
      diagnostic: 'mail for example.test loops back to myself',
    });
    const b = await attempt(zone, {}, { proxyInterfaces: ['127.0.2.99'], bestMxTransport: 'local' });
    expect(b.result.handoff?.transport).toBe('local');
    expect(b.result.handoff?.recipients.map((r) => r.address)).toEqual(['a@example.test', 'b@example.test']);
    expect(b.rcpt(0).status).toBe('deferred');
  });

  it('LMTP unix: is always the final server; relay is myhostname[path]', async () => {
    const r = await attempt(
      {},
      {},
      { lmtpFallbackRelay: ['[fb.test]'] },
      { protocol: 'lmtp', nexthop: 'unix:/run/lmtp' },
    );
    expect(r.world.connects).toEqual(['/run/lmtp']);
    expect(r.rcpt(0)).toMatchObject({ status: 'sent', relay: 'client.test[/run/lmtp]' });
    expect(r.logger.records.some((x) => String(x.msg).startsWith('ignoring "lmtp_fallback_relay'))).toBe(
      true,
    );
    const s = await attempt(
      {},
      { '/run/lmtp': { handshake: (ep) => siteFailure(ep, '421 4.3.2 busy') } },
      {},
      { protocol: 'lmtp', nexthop: 'unix:/run/lmtp' },
    );
    expect(s.rcpt(0)).toMatchObject({ status: 'deferred', relay: 'client.test[/run/lmtp]' });
  });
});

describe('runAttempt: plaintext retry (§7.4)', () => {
  const zone: Zone = {
    'example.test': { MX: [[10, 'mx1.example.test']] },
    'mx1.example.test': { A: ['127.0.2.1'] },
  };
  const tlsFails: ServerScript = {
    handshake: (_ep, p) =>
      p.tls.level === 'may'
        ? {
            handler: 'misc',
            status: '4.7.5',
            text: 'Cannot start TLS: handshake failure',
            throttle: false,
            ...(p.plaintextRetryAllowed ? { retryAsPlaintext: true } : {}),
          }
        : undefined,
  };

  it('a fresh message is deferred 4.7.5 without a hop status', async () => {
    const { world, rcpt, result } = await attempt(
      zone,
      { '127.0.2.1': tlsFails },
      { smtpTlsSecurityLevel: 'may' },
    );
    expect(world.connects).toEqual(['127.0.2.1']);
    expect(world.handshakes[0]?.plaintextRetryAllowed).toBe(false);
    expect(rcpt(0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.5',
      relay: 'mx1.example.test[127.0.2.1]:25',
    });
    expect(result.hopStatus).toBeUndefined();
  });

  it('an old message retries the same address in plaintext, without counting', async () => {
    const old = fakeClock().now() - 400_000;
    const { world, rcpt, result } = await attempt(
      zone,
      { '127.0.2.1': tlsFails },
      { smtpTlsSecurityLevel: 'may', smtpMxAddressLimit: 1 },
      { arrivalTime: old },
    );
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.1']);
    expect(world.handshakes.map((h) => h.tls.level)).toEqual(['may', 'none']);
    expect(rcpt(0)).toMatchObject({ status: 'sent' });
    expect(result.servers.map((s) => s.outcome)).toEqual(['tls-failed-retry-plaintext', 'delivered']);
  });
});

describe('runAttempt: connection reuse', () => {
  const zone: Zone = {
    'example.test': { MX: [[10, 'mx1.example.test']] },
    'mx1.example.test': { A: ['127.0.2.1'] },
  };
  const opts: DeliveryOptionsInput = { smtpConnectionCacheDestinations: ['example.test'] };

  it('a second attempt reuses the stored session after an RSET probe, with conn_use=2', async () => {
    const cache = createLocalSessionCache();
    const clock = fakeClock();
    const world = fakeWorld({}, clock.now);
    const logger = memoryLogger();
    const deps = {
      dns: fakeDns(zone),
      connector: world.connector,
      cache,
      clock,
      random: seededRandom(1),
      logger,
    };
    const o = resolveOptions({ ...BASE, ...opts });
    await runAttempt(request(), deps, o);
    expect(cache.size()).toBe(1);
    const second = await runAttempt(request({ queueId: 'Q2' }), deps, o);
    expect(world.connects).toEqual(['127.0.2.1']);
    expect(world.resets).toBe(1);
    expect(second.recipients[0]).toMatchObject({ status: 'sent', connUse: 2 });
    expect(second.servers[0]?.outcome).toBe('reused-delivered');
    expect(
      logger.records.some(
        (r) => String(r.msg).startsWith('Q2: to=<a@example.test>') && String(r.msg).includes('conn_use=2'),
      ),
    ).toBe(true);
    await cache.close();
  });

  it('a failed RSET probe silently discards the session and connects anew', async () => {
    const cache = createLocalSessionCache();
    const scripts: Record<string, ServerScript> = {};
    const clock = fakeClock();
    const world = fakeWorld(scripts, clock.now);
    const deps = {
      dns: fakeDns(zone),
      connector: world.connector,
      cache,
      clock,
      random: seededRandom(1),
      logger: memoryLogger(),
    };
    const o = resolveOptions({ ...BASE, ...opts });
    await runAttempt(request(), deps, o);
    world.setScript('127.0.2.1', { rsetFails: true });
    const second = await runAttempt(request({ queueId: 'Q2' }), deps, o);
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.1']);
    expect(second.recipients.map((r) => r.status)).toEqual(['sent', 'sent']);
    expect(second.recipients[0]?.connUse).toBeUndefined();
    await cache.close();
  });

  it('never stores without a cache policy, nor after a failed transaction', async () => {
    const cache = createLocalSessionCache();
    await attempt(zone, {}, {}, {}, cache);
    expect(cache.size()).toBe(0);
    await attempt(
      zone,
      { '127.0.2.1': { bulk: (ep) => lostFailure(ep, 'sending RCPT TO') } },
      opts,
      {},
      cache,
    );
    expect(cache.size()).toBe(0);
    await attempt(zone, {}, {}, { cacheHint: 'load+store' }, cache);
    expect(cache.size()).toBe(1);
    await cache.close();
  });
});

describe('runAttempt: connection reuse limits (§6.3 expiry)', () => {
  const zone: Zone = {
    'example.test': { MX: [[10, 'mx1.example.test']] },
    'mx1.example.test': { A: ['127.0.2.1'] },
  };

  function reuseWorld(opts: DeliveryOptionsInput) {
    const cache = createLocalSessionCache();
    const clock = fakeClock();
    const world = fakeWorld({}, clock.now);
    const logger = memoryLogger();
    const deps = {
      dns: fakeDns(zone),
      connector: world.connector,
      cache,
      clock,
      random: seededRandom(1),
      logger,
    };
    const o = resolveOptions({ ...BASE, smtpConnectionCacheDestinations: ['example.test'], ...opts });
    let n = 0;
    const send = () => runAttempt(request({ queueId: `Q${++n}`, arrivalTime: clock.now() }), deps, o);
    return { cache, clock, world, send };
  }

  it('smtpConnectionReuseCountLimit=1: one reuse, then QUIT instead of storing', async () => {
    const { cache, world, send } = reuseWorld({ smtpConnectionReuseCountLimit: 1 });
    const first = await send();
    expect(first.recipients[0]?.connUse).toBeUndefined();
    expect(cache.size()).toBe(1);
    const second = await send();
    expect(second.recipients.map((r) => [r.status, r.connUse])).toEqual([
      ['sent', 2],
      ['sent', 2],
    ]);
    expect(cache.size()).toBe(0);
    const third = await send();
    expect(third.recipients[0]?.connUse).toBeUndefined();
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.1']);
    // §5.3: the transaction that will not be stored asks for QUIT right behind the final dot
    expect(world.transactions.map((t) => t.req.quitAfterData)).toEqual([false, true, false]);
    await cache.close();
  });

  it('without caching, every transaction asks for QUIT right behind the final dot', async () => {
    const { cache, world, send } = reuseWorld({ smtpConnectionCacheDestinations: [] });
    await send();
    expect(world.transactions.map((t) => t.req.quitAfterData)).toEqual([true]);
    expect(cache.size()).toBe(0);
    await cache.close();
  });

  it('smtpConnectionReuseCountLimit=0 means no limit', async () => {
    const { cache, world, send } = reuseWorld({ smtpConnectionReuseCountLimit: 0 });
    for (let i = 0; i < 4; i++) await send();
    const fifth = await send();
    expect(fifth.recipients[0]?.connUse).toBe(5);
    expect(world.connects).toEqual(['127.0.2.1']);
    expect(cache.size()).toBe(1);
    await cache.close();
  });

  it('smtpConnectionReuseTimeLimit: stored up to the limit after connect, not after it', async () => {
    const { cache, clock, world, send } = reuseWorld({ smtpConnectionReuseTimeLimit: '300s' });
    await send();
    clock.advance(300_000);
    const atLimit = await send();
    expect(atLimit.recipients[0]?.connUse).toBe(2);
    expect(cache.size()).toBe(1);
    clock.advance(1);
    const past = await send();
    // A stored session is still reused once; it is closed instead of stored afterwards.
    expect(past.recipients[0]?.connUse).toBe(3);
    expect(cache.size()).toBe(0);
    const fresh = await send();
    expect(fresh.recipients[0]?.connUse).toBeUndefined();
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.1']);
    await cache.close();
  });
});

describe('runAttempt: the dest label after a non-throttled handshake failure (§4.6 step 4)', () => {
  it('a session that failed without throttling still clears the request next-hop: mx2 is cached by endpoint only', async () => {
    const cache = createLocalSessionCache();
    const clock = fakeClock();
    const tlsFailed = (ep: { host: string }): DeliveryFailure => ({
      handler: 'misc',
      status: '4.7.5',
      text: `Cannot start TLS: handshake failure`,
      remoteMta: ep.host,
      throttle: false,
    });
    const world = fakeWorld({ '127.0.2.1': { handshake: tlsFailed } }, clock.now);
    const deps = {
      dns: fakeDns(MX2),
      connector: world.connector,
      cache,
      clock,
      random: seededRandom(1),
      logger: memoryLogger(),
    };
    const o = resolveOptions({ ...BASE, smtpConnectionCacheDestinations: ['example.test'] });
    const first = await runAttempt(request(), deps, o);
    expect(first.recipients.map((r) => [r.status, r.relay])).toEqual([
      ['sent', 'mx2.example.test[127.0.2.2]:25'],
      ['sent', 'mx2.example.test[127.0.2.2]:25'],
    ]);
    expect(cache.size()).toBe(1);
    const second = await runAttempt(request({ queueId: 'Q2' }), deps, o);
    // Postfix tries the better MX again first; mx2 comes from the cache by its endpoint label.
    expect(world.connects).toEqual(['127.0.2.1', '127.0.2.2', '127.0.2.1']);
    expect(second.servers.map((s) => `${s.addr} ${s.outcome}`)).toEqual([
      '127.0.2.1 handshake-failed',
      '127.0.2.2 reused-delivered',
    ]);
    expect(second.recipients[0]).toMatchObject({ status: 'sent', connUse: 2 });
    await cache.close();
  });
});
