import { describe, expect, it } from 'vitest';
import type { DnsAnswer, DnsType } from '../../../src/core/ports.ts';
import { cacheLifetimeMs, createDnsCache } from '../../../src/dns/dns-cache.ts';
import type { TtlAnswer, TtlDnsPort } from '../../../src/dns/resolver.ts';
import { fakeClock } from '../../support/fakes.ts';

function fakeResolver(answers: Record<string, TtlAnswer>) {
  const calls: string[] = [];
  const gates: Array<() => void> = [];
  let hold = false;
  const port: TtlDnsPort = {
    async lookupWithTtl(name: string, type: DnsType) {
      calls.push(`${type} ${name}`);
      if (hold) await new Promise<void>((r) => gates.push(r));
      return answers[`${type} ${name}`] ?? { answer: { class: 'RETRY', type, text: 'try again' } };
    },
    async lookup(name, type) {
      return (await port.lookupWithTtl(name, type)).answer;
    },
  };
  return {
    port,
    calls,
    hold: (on: boolean) => {
      hold = on;
    },
    release: () => {
      for (const g of gates.splice(0)) g();
    },
  };
}

const mx: DnsAnswer = { class: 'OK', type: 'MX', records: [{ preference: 10, exchange: 'mx.example.test' }] };
const a: DnsAnswer = { class: 'OK', type: 'A', addresses: ['127.0.0.1'] };
const nx: DnsAnswer = { class: 'NOTFOUND', type: 'A', text: 'Host not found' };
const opts = { maxTtlMs: 3_600_000, negativeTtlMs: 60_000, unknownTtlMs: 300_000 };

describe('cacheLifetimeMs', () => {
  it('uses the TTL, the unknown or negative lifetime, capped; never caches RETRY/FAIL/POLICY', () => {
    expect(cacheLifetimeMs({ answer: a, ttlSec: 30 }, opts)).toBe(30_000);
    expect(cacheLifetimeMs({ answer: a, ttlSec: 86_400 }, opts)).toBe(3_600_000);
    expect(cacheLifetimeMs({ answer: mx }, opts)).toBe(300_000);
    expect(cacheLifetimeMs({ answer: nx }, opts)).toBe(60_000);
    expect(cacheLifetimeMs({ answer: nx }, { ...opts, maxTtlMs: 10_000 })).toBe(10_000);
    for (const cls of ['RETRY', 'FAIL', 'POLICY'] as const) {
      expect(cacheLifetimeMs({ answer: { class: cls, type: 'A', text: 'x' } }, opts)).toBe(0);
    }
  });
});

describe('DNS cache', () => {
  it('answers from the cache until the TTL runs out', async () => {
    const clock = fakeClock();
    const r = fakeResolver({ 'A mx.example.test': { answer: a, ttlSec: 30 } });
    const dns = createDnsCache(r.port, { ...opts, clock });
    expect(await dns.lookup('mx.example.test', 'A')).toEqual(a);
    expect(await dns.lookup('MX.example.test.', 'A')).toEqual(a);
    clock.advance(29_999);
    await dns.lookup('mx.example.test', 'A');
    expect(r.calls).toHaveLength(1);
    clock.advance(1);
    await dns.lookup('mx.example.test', 'A');
    expect(r.calls).toHaveLength(2);
    expect(dns.stats()).toMatchObject({ queries: 2, hits: 2 });
  });
  it('caches negative answers for the negative lifetime, temporary failures not at all', async () => {
    const clock = fakeClock();
    const r = fakeResolver({ 'A nx.example.test': { answer: nx } });
    const dns = createDnsCache(r.port, { ...opts, clock });
    await dns.lookup('nx.example.test', 'A');
    await dns.lookup('nx.example.test', 'A');
    clock.advance(60_000);
    await dns.lookup('nx.example.test', 'A');
    expect(r.calls).toHaveLength(2);
    await dns.lookup('down.example.test', 'A');
    await dns.lookup('down.example.test', 'A');
    expect(r.calls).toHaveLength(4);
  });
  it('coalesces identical lookups in flight; an aborted caller does not cancel the others', async () => {
    const r = fakeResolver({ 'MX example.test': { answer: mx } });
    const dns = createDnsCache(r.port, { ...opts, clock: fakeClock() });
    r.hold(true);
    const ac = new AbortController();
    const p1 = dns.lookup('example.test', 'MX', ac.signal);
    const p2 = dns.lookup('example.test', 'MX');
    ac.abort(new Error('gone'));
    await expect(p1).rejects.toThrow('gone');
    r.release();
    expect(await p2).toEqual(mx);
    expect(r.calls).toHaveLength(1);
    expect(dns.stats()).toMatchObject({ queries: 1, coalesced: 1 });
  });
  it('with dnsCacheMaxTtl 0 every lookup is a query', async () => {
    const r = fakeResolver({ 'A mx.example.test': { answer: a, ttlSec: 30 } });
    const dns = createDnsCache(r.port, { ...opts, maxTtlMs: 0, clock: fakeClock() });
    await dns.lookup('mx.example.test', 'A');
    await dns.lookup('mx.example.test', 'A');
    expect(r.calls).toHaveLength(2);
    expect(dns.stats().queries).toBe(2);
  });
});
