import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer, type ZoneFixture } from '../../support/dns-server.ts';

const zone: ZoneFixture = {
  'example.test': {
    MX: [
      [10, 'mx1.example.test'],
      [20, 'mx2.example.test'],
    ],
    TXT: ['v=spf1 -all'],
  },
  'mx1.example.test': { A: ['127.0.0.10'], AAAA: ['::1'] },
  'alias.example.test': { CNAME: 'mx1.example.test' },
  'chain.example.test': { CNAME: 'alias.example.test' },
  '_submission._tcp.example.test': { SRV: [[0, 5, 587, 'mx1.example.test']] },
  'broken.example.test': { rcode: 'SERVFAIL' },
  'refused.example.test': { rcode: 'REFUSED' },
  'formerr.example.test': { rcode: 'FORMERR' },
  'notimp.example.test': { rcode: 'NOTIMP' },
  'mixed.example.test': { A: ['127.0.0.11'], byType: { MX: 'DROP', AAAA: 'SERVFAIL', TXT: 'NXDOMAIN' } },
  'long.example.test': { TXT: ['x'.repeat(300)] },
};

let dns: DnsServer;
const resolver = (): Resolver => {
  const r = new Resolver({ timeout: 300, tries: 1 });
  r.setServers([dns.server]);
  return r;
};

beforeAll(async () => {
  dns = await startDnsServer(zone);
});
afterAll(async () => {
  await dns.stop();
});

describe('dns-server over UDP (node:dns Resolver)', () => {
  it('answers MX, A, AAAA, SRV and TXT', async () => {
    const r = resolver();
    const mx = await r.resolveMx('example.test');
    expect(
      mx.map(({ priority, exchange }) => ({ priority, exchange })).sort((a, b) => a.priority - b.priority),
    ).toEqual([
      { priority: 10, exchange: 'mx1.example.test' },
      { priority: 20, exchange: 'mx2.example.test' },
    ]);
    expect(await r.resolve4('mx1.example.test')).toEqual(['127.0.0.10']);
    expect(await r.resolve6('MX1.Example.TEST')).toEqual(['::1']);
    expect(await r.resolveSrv('_submission._tcp.example.test')).toMatchObject([
      { priority: 0, weight: 5, port: 587, name: 'mx1.example.test' },
    ]);
    expect(await r.resolveTxt('example.test')).toEqual([['v=spf1 -all']]);
    expect((await r.resolveTxt('long.example.test'))[0]?.join('')).toBe('x'.repeat(300));
    expect(dns.queries).toContainEqual({ name: 'mx1.example.test', type: 'AAAA' });
  });

  it('follows CNAME chains to the target records', async () => {
    const r = resolver();
    expect(await r.resolve4('alias.example.test')).toEqual(['127.0.0.10']);
    expect(await r.resolve4('chain.example.test')).toEqual(['127.0.0.10']);
    expect(await r.resolveCname('alias.example.test')).toEqual(['mx1.example.test']);
  });

  it('gives NXDOMAIN, NODATA, SERVFAIL, REFUSED and timeouts', async () => {
    const r = resolver();
    await expect(r.resolveMx('nowhere.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r.resolve4('example.test')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(r.resolveMx('broken.example.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    await expect(r.resolve4('refused.example.test')).rejects.toMatchObject({ code: 'EREFUSED' });
    await expect(r.resolve4('formerr.example.test')).rejects.toMatchObject({ code: 'EFORMERR' });
    await expect(r.resolve4('notimp.example.test')).rejects.toMatchObject({ code: 'ENOTIMP' });
    expect(await r.resolve4('mixed.example.test')).toEqual(['127.0.0.11']);
    await expect(r.resolve6('mixed.example.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    await expect(r.resolveTxt('mixed.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r.resolveMx('mixed.example.test')).rejects.toMatchObject({ code: 'ETIMEOUT' });
  });

  it('setZone replaces the zone', async () => {
    dns.setZone({ 'new.example.test': { A: ['127.0.0.99'] } });
    try {
      const r = resolver();
      expect(await r.resolve4('new.example.test')).toEqual(['127.0.0.99']);
      await expect(r.resolveMx('example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    } finally {
      dns.setZone(zone);
    }
  });
});

describe('dns-server over TCP', () => {
  it('answers a length-prefixed query, several on one connection', async () => {
    const q = (id: number, name: string, type: 'MX' | 'A') =>
      dnsPacket.streamEncode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type, name }],
      });
    const replies = await new Promise<dnsPacket.Packet[]>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: dns.port });
      let buf = Buffer.alloc(0);
      const out: dnsPacket.Packet[] = [];
      s.on('error', reject);
      s.on('connect', () =>
        s.write(Buffer.concat([q(1, 'example.test', 'MX'), q(2, 'nope.example.test', 'A')])),
      );
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          out.push(dnsPacket.decode(buf.subarray(2, 2 + len)));
          buf = buf.subarray(2 + len);
        }
        if (out.length === 2) {
          s.destroy();
          resolve(out);
        }
      });
    });
    const [mx, nx] = replies;
    expect(mx?.id).toBe(1);
    expect((mx?.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER).toBeTruthy();
    expect((mx?.flags ?? -1) & 0xf).toBe(0);
    expect(mx?.answers?.map((a) => (a.type === 'MX' ? a.data.exchange : ''))).toEqual([
      'mx1.example.test',
      'mx2.example.test',
    ]);
    expect(nx?.id).toBe(2);
    expect((nx?.flags ?? 0) & 0xf).toBe(3);
  });
});
