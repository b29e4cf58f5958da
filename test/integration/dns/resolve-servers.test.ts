import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNexthop } from '../../../src/core/nexthop.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../../../src/core/options.ts';
import { type ResolvedServers, resolveServers } from '../../../src/core/resolve.ts';
import { createDnsResolver } from '../../../src/dns/resolver.ts';
import { type DnsServer, startDnsServer } from '../../support/dns-server.ts';
import { seededRandom } from '../../support/fakes.ts';

const nse = (name: string, type: string, what: string) =>
  `Host or domain name not found. Name service error for name=${name} type=${type}: ${what}`;

describe('resolveServers with the node:dns adapter (spec §14 DNS rows)', () => {
  let server: DnsServer;
  beforeAll(async () => {
    server = await startDnsServer({
      'mx.test': {
        MX: [
          [20, 'mx2.mx.test'],
          [10, 'mx1.mx.test'],
        ],
      },
      'mx1.mx.test': { A: ['127.0.2.1'] },
      'mx2.mx.test': { A: ['127.0.2.2'] },
      'nomx.test': { A: ['127.0.2.7'] },
      'servfail.test': { byType: { MX: 'SERVFAIL' }, A: ['127.0.2.7'] },
      'null.test': { MX: [[0, '.']] },
      'self.test': { MX: [[10, 'me.self.test']] },
      'me.self.test': { A: ['127.0.2.99'] },
      'cname.test': { MX: [[10, 'mx1.cname.test']] },
      'mx1.cname.test': { CNAME: 'real.test' },
      'real.test': { A: ['127.0.2.9'] },
      'numeric.test': { MX: [[10, '127.0.2.5']] },
      'deadmx.test': {
        MX: [
          [10, 'mx1.deadmx.test'],
          [20, 'mx2.deadmx.test'],
        ],
      },
      'drop.test': { byType: { MX: 'DROP' } },
      'srv.test': { MX: [[10, 'mx1.mx.test']] },
      '_submission._tcp.srv.test': {
        SRV: [
          [10, 50, 587, 's1.srv.test'],
          [10, 0, 587, 's2.srv.test'],
          [20, 0, 587, 's3.srv.test'],
        ],
      },
      's1.srv.test': { A: ['127.0.2.11'] },
      's2.srv.test': { A: ['127.0.2.12'] },
      's3.srv.test': { A: ['127.0.2.13'] },
      'nosrv.test': { MX: [[10, 'mx1.mx.test']] },
      'xn--exmple-cua.test': { A: ['127.0.2.30'] },
      'dual.test': { MX: [[10, 'mx1.dual.test']] },
      'mx1.dual.test': { A: ['127.0.2.40'], AAAA: ['::1'] },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function resolve(
    nexthop: string,
    input: DeliveryOptionsInput = {},
    seed = 1,
  ): Promise<ResolvedServers> {
    const opts = resolveOptions({
      inetProtocols: 'ipv4',
      smtpRandomizeAddresses: false,
      dnsServers: [server.server],
      ...input,
    });
    const parsed = parseNexthop(nexthop, 'smtp', opts);
    if (!parsed.ok) throw new Error(parsed.error);
    const dns = createDnsResolver({ servers: opts.dnsServers, timeoutMs: 300, tries: 1 });
    return resolveServers(parsed.target, { dns, random: seededRandom(seed), opts });
  }
  const relays = (r: ResolvedServers) => r.endpoints.map((e) => `${e.host}[${e.address}]:${e.port}`);

  it('row 1: MX in preference order', async () => {
    expect(relays(await resolve('mx.test'))).toEqual([
      'mx1.mx.test[127.0.2.1]:25',
      'mx2.mx.test[127.0.2.2]:25',
    ]);
  });

  it('row 2: no MX, A fallback named by the domain', async () => {
    expect(relays(await resolve('nomx.test'))).toEqual(['nomx.test[127.0.2.7]:25']);
  });

  it('row 3: NXDOMAIN → 5.4.4 type=A', async () => {
    const r = await resolve('nowhere.test');
    expect(r.failure).toEqual({
      handler: 'sess',
      status: '5.4.4',
      text: nse('nowhere.test', 'A', 'Host not found'),
      throttle: false,
    });
  });

  it('row 4: MX SERVFAIL → 4.4.3 with throttle', async () => {
    const r = await resolve('servfail.test');
    expect(r.failure).toEqual({
      handler: 'sess',
      status: '4.4.3',
      text: nse('servfail.test', 'MX', 'Host not found, try again'),
      throttle: true,
    });
  });

  it('row 5: null MX → 5.1.0', async () => {
    expect((await resolve('null.test')).failure).toMatchObject({
      status: '5.1.0',
      text: 'Domain null.test does not accept mail (nullMX)',
    });
  });

  it('row 24: MX to myself → 5.4.6', async () => {
    const r = await resolve('self.test', { proxyInterfaces: ['127.0.2.99'] });
    expect(r.failure).toMatchObject({ status: '5.4.6', text: 'mail for self.test loops back to myself' });
    expect(r.iAmMx).toBe(true);
  });

  it('row 30: CNAMEd MX keeps the MX target name', async () => {
    expect(relays(await resolve('cname.test'))).toEqual(['mx1.cname.test[127.0.2.9]:25']);
  });

  it('row 31: numeric MX target with a warning', async () => {
    const r = await resolve('numeric.test');
    expect(relays(r)).toEqual(['127.0.2.5[127.0.2.5]:25']);
    expect(r.warnings).toContain(
      'numeric domain name in resource data of MX record for numeric.test: 127.0.2.5',
    );
  });

  it('row 32: both exchangers NXDOMAIN', async () => {
    const r = await resolve('deadmx.test');
    expect(r.failure).toMatchObject({ status: '5.4.4', text: nse('mx2.deadmx.test', 'A', 'Host not found') });
    expect(r.warnings).toContain('no MX host for deadmx.test has a valid address record');
    const soft = await resolve('deadmx.test', { smtpDeferIfNoMxAddressFound: true });
    expect(soft.failure).toMatchObject({ status: '4.4.4', throttle: true });
  });

  it('a dropped MX query times out: 4.4.3', async () => {
    expect((await resolve('drop.test')).failure).toMatchObject({
      status: '4.4.3',
      text: nse('drop.test', 'MX', 'Host not found, try again'),
    });
  });

  it('row 35: A and AAAA per inetProtocols and smtpAddressPreference', async () => {
    expect(
      relays(await resolve('dual.test', { inetProtocols: 'all', smtpAddressPreference: 'ipv6' })),
    ).toEqual(['mx1.dual.test[::1]:25', 'mx1.dual.test[127.0.2.40]:25']);
    expect(relays(await resolve('dual.test', { inetProtocols: 'ipv4' }))).toEqual([
      'mx1.dual.test[127.0.2.40]:25',
    ]);
    expect(relays(await resolve('dual.test', { inetProtocols: 'ipv6' }))).toEqual(['mx1.dual.test[::1]:25']);
  });

  it('row 48: SRV with weights, SRV port, no loop check', async () => {
    let s1First = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = await resolve(
        'srv.test:submission',
        { useSrvLookup: ['submission'], proxyInterfaces: ['127.0.2.11'] },
        seed,
      );
      expect(r.endpoints).toHaveLength(3);
      expect(relays(r)[2]).toBe('s3.srv.test[127.0.2.13]:587');
      if (r.endpoints[0]?.host === 's1.srv.test') s1First++;
    }
    expect(s1First).toBeGreaterThanOrEqual(36);
  });

  it('row 49: no SRV records → 5.4.4 type=SRV; fallback to MX when allowed', async () => {
    const r = await resolve('nosrv.test:submission', { useSrvLookup: ['submission'] });
    expect(r.failure).toMatchObject({
      status: '5.4.4',
      text: nse('_submission._tcp.nosrv.test', 'SRV', 'Host not found'),
    });
    const fb = await resolve('nosrv.test:submission', {
      useSrvLookup: ['submission'],
      allowSrvLookupFallback: true,
    });
    expect(relays(fb)).toEqual(['mx1.mx.test[127.0.2.1]:587']);
  });

  it('an IDN domain in U-label form is queried as its A-label', async () => {
    expect(relays(await resolve('exämple.test'))).toEqual(['xn--exmple-cua.test[127.0.2.30]:25']);
  });
});
