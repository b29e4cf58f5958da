import { afterEach, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../src/core/options.ts';
import { createDnsCache } from '../../../src/dns/dns-cache.ts';
import { createDnsResolver } from '../../../src/dns/resolver.ts';
import { createDeliveryAgent } from '../../../src/workers/agent.ts';
import { type DnsServer, startDnsServer } from '../../support/dns-server.ts';
import { fakeClock, memoryLogger } from '../../support/fakes.ts';
import { allocateLoopbackBlock } from '../../support/loopback.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';

let dns: DnsServer | undefined;
let peer: SmtpPeer | undefined;
afterEach(async () => {
  await peer?.stop();
  await dns?.stop();
  peer = undefined;
  dns = undefined;
});

const count = (d: DnsServer, name: string, type: string): number =>
  d.queries.filter((q) => q.name === name && q.type === type).length;

describe('per-process DNS cache against a real DNS server', () => {
  it('honours record TTLs, caps them, caches negative answers and never temporary failures', async () => {
    const d = await startDnsServer({
      'short.test': { A: ['127.0.0.1'], ttl: 5 },
      'long.test': { A: ['127.0.0.2'], ttl: 86_400 },
      'mx.test': { MX: [[10, 'short.test']], ttl: 5 },
      'fail.test': { rcode: 'SERVFAIL' },
    });
    dns = d;
    const clock = fakeClock();
    const cache = createDnsCache(createDnsResolver({ servers: [d.server], timeoutMs: 2000, tries: 1 }), {
      maxTtlMs: 600_000,
      negativeTtlMs: 30_000,
      unknownTtlMs: 60_000,
      clock,
    });
    const look = async (name: string, type: 'A' | 'MX') => (await cache.lookup(name, type)).class;
    expect(await look('short.test', 'A')).toBe('OK');
    expect(await look('long.test', 'A')).toBe('OK');
    expect(await look('mx.test', 'MX')).toBe('OK');
    expect(await look('nx.test', 'A')).toBe('NOTFOUND');
    expect(await look('fail.test', 'A')).toBe('RETRY');
    clock.advance(4_999);
    for (const [n, t] of [
      ['short.test', 'A'],
      ['long.test', 'A'],
      ['mx.test', 'MX'],
      ['nx.test', 'A'],
      ['fail.test', 'A'],
    ] as const) {
      await look(n, t);
    }
    expect([count(d, 'short.test', 'A'), count(d, 'long.test', 'A'), count(d, 'mx.test', 'MX')]).toEqual([
      1, 1, 1,
    ]);
    expect(count(d, 'nx.test', 'A')).toBe(1);
    expect(count(d, 'fail.test', 'A')).toBe(2);
    // The A record's own 5 s TTL ran out; MX (TTL not reported by node:dns) lives 60 s.
    clock.advance(1);
    await look('short.test', 'A');
    await look('mx.test', 'MX');
    expect(count(d, 'short.test', 'A')).toBe(2);
    expect(count(d, 'mx.test', 'MX')).toBe(1);
    // Negative answers: 30 s.
    clock.advance(25_000);
    await look('nx.test', 'A');
    expect(count(d, 'nx.test', 'A')).toBe(2);
    // A one-day TTL is capped at dnsCacheMaxTtl (600 s).
    clock.advance(600_000);
    await look('long.test', 'A');
    expect(count(d, 'long.test', 'A')).toBe(2);
    expect(cache.stats().queries).toBe(d.queries.length);
  });

  it('a steady stream to one domain makes at most 0.01 DNS queries per delivered message', async () => {
    const block = allocateLoopbackBlock();
    try {
      const d = await startDnsServer({
        'example.test': { MX: [[10, 'mx1.example.test']] },
        'mx1.example.test': { A: [block.addr(1)] },
      });
      dns = d;
      peer = await startSmtpPeer({ host: block.addr(1), port: 25 });
      const agent = createDeliveryAgent(
        resolveOptions({
          dnsServers: [d.server],
          inetProtocols: 'ipv4',
          smtpTlsSecurityLevel: 'none',
          myhostname: 'client.test',
        }),
        { logger: memoryLogger() },
      );
      const body = Buffer.from('Subject: t\r\n\r\nhello\r\n');
      const messages = 200;
      let delivered = 0;
      // 10 jobs at a time, as a worker with concurrency 10 would run them.
      for (let batch = 0; batch < messages / 10; batch++) {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            agent.deliver({
              queueId: `Q${batch}x${i}`,
              sender: 's@client.test',
              recipients: [{ address: `r${i}@example.test` }],
              nexthop: 'example.test',
              protocol: 'smtp',
              message: body,
              size: body.length,
              arrivalTime: Date.now(),
            }),
          ),
        );
        delivered += results.filter((r) => r.recipients[0]?.status === 'sent').length;
      }
      await agent.close();
      expect(delivered).toBe(messages);
      expect(peer.messages).toHaveLength(messages);
      expect(agent.dnsStats().queries).toBe(d.queries.length);
      expect(d.queries.length / delivered).toBeLessThanOrEqual(0.01);
    } finally {
      block.release();
    }
  });
});
