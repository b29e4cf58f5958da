import { describe, expect, it } from 'vitest';
import type { NexthopTarget } from '../../../src/core/nexthop.ts';
import { type DeliveryOptionsInput, resolveOptions } from '../../../src/core/options.ts';
import { resolveServers } from '../../../src/core/resolve.ts';
import { seededRandom } from '../../support/fakes.ts';
import { type FakeZone, fakeDns, nameServiceText } from '../dns/fake-dns.ts';

const D = 'example.test';

function target(host: string, over: Partial<NexthopTarget> = {}): NexthopTarget {
  return {
    raw: host,
    kind: 'inet',
    host,
    bracketed: false,
    service: 'smtp',
    port: 25,
    loopDetect: true,
    lookup: 'mx',
    ...over,
  };
}

function run(zone: FakeZone, t: NexthopTarget, opts: DeliveryOptionsInput = {}, seed = 1) {
  const dns = fakeDns(zone);
  const o = resolveOptions({ inetProtocols: 'ipv4', smtpRandomizeAddresses: false, ...opts });
  return resolveServers(t, { dns, random: seededRandom(seed), opts: o }).then((r) => ({
    ...r,
    queries: dns.queries,
  }));
}

const addrs = (r: { endpoints: Array<{ address: string }> }) => r.endpoints.map((e) => e.address);

describe('MX path', () => {
  it('uses the exchangers in preference order, host = MX target name (row 1)', async () => {
    const zone: FakeZone = {
      [D]: {
        MX: [
          [20, 'mx2.example.test'],
          [10, 'mx1.example.test'],
        ],
      },
      'mx1.example.test': { A: ['127.0.2.1'] },
      'mx2.example.test': { A: ['127.0.2.2'] },
    };
    const r = await run(zone, target(D));
    expect(r.failure).toBeUndefined();
    expect(r.endpoints).toEqual([
      { kind: 'inet', host: 'mx1.example.test', address: '127.0.2.1', port: 25, family: 4, preference: 10 },
      { kind: 'inet', host: 'mx2.example.test', address: '127.0.2.2', port: 25, family: 4, preference: 20 },
    ]);
    expect(r.iAmMx).toBe(false);
  });

  it('falls back to the A record of the domain when there is no MX (row 2)', async () => {
    const r = await run({ [D]: { A: ['127.0.2.7'] } }, target(D));
    expect(r.endpoints).toEqual([
      { kind: 'inet', host: D, address: '127.0.2.7', port: 25, family: 4, preference: 0 },
    ]);
    expect(r.queries).toEqual([
      { name: D, type: 'MX' },
      { name: D, type: 'A' },
    ]);
  });

  it('NXDOMAIN bounces 5.4.4 with the type=A text (row 3)', async () => {
    const r = await run({}, target(D));
    expect(r.endpoints).toEqual([]);
    expect(r.failure).toEqual({
      handler: 'sess',
      status: '5.4.4',
      text: nameServiceText(D, 'A', 'Host not found'),
      throttle: false,
    });
  });

  it('with both families, equal classes keep the later (AAAA) text', async () => {
    const r = await run({}, target(D), { inetProtocols: 'all' });
    expect(r.failure?.text).toBe(nameServiceText(D, 'AAAA', 'Host not found'));
    expect(r.queries.map((q) => q.type)).toEqual(['MX', 'A', 'AAAA']);
  });

  it('MX SERVFAIL defers 4.4.3 with throttle (row 4)', async () => {
    const r = await run({ [D]: { fail: { MX: 'RETRY' }, A: ['127.0.2.7'] } }, target(D));
    expect(r.failure).toEqual({
      handler: 'sess',
      status: '4.4.3',
      text: nameServiceText(D, 'MX', 'Host not found, try again'),
      throttle: true,
    });
  });

  it.each([
    ['NULLMX', '5.1.0', `Domain ${D} does not accept mail (nullMX)`],
    ['FAIL', '5.4.3', nameServiceText(D, 'MX', 'Non-recoverable error')],
    ['INVAL', '5.4.4', `Name service error for name=${D} type=MX: Malformed or unexpected name server reply`],
    ['POLICY', '4.7.0', `Error looking up name=${D} type=MX: DNS reply filter drops all results`],
  ] as const)('MX %s gives %s', async (cls, status, text) => {
    const r = await run({ [D]: { fail: { MX: cls }, A: ['127.0.2.7'] } }, target(D));
    expect(r.endpoints).toEqual([]);
    expect(r.failure).toMatchObject({ handler: 'sess', status, text, throttle: status.startsWith('4') });
  });

  it.each(['RETRY', 'FAIL', 'INVAL'] as const)('ignoreMxLookupError: MX %s goes on to A', async (cls) => {
    const r = await run({ [D]: { fail: { MX: cls }, A: ['127.0.2.7'] } }, target(D), {
      ignoreMxLookupError: true,
    });
    expect(r.failure).toBeUndefined();
    expect(addrs(r)).toEqual(['127.0.2.7']);
  });

  it.each(['NULLMX', 'POLICY'] as const)('ignoreMxLookupError does not apply to %s', async (cls) => {
    const r = await run({ [D]: { fail: { MX: cls }, A: ['127.0.2.7'] } }, target(D), {
      ignoreMxLookupError: true,
    });
    expect(r.endpoints).toEqual([]);
  });

  it('both exchangers NXDOMAIN: 5.4.4 with the last text and a warning (row 32)', async () => {
    const zone: FakeZone = {
      [D]: {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
        ],
      },
    };
    const r = await run(zone, target(D));
    expect(r.failure).toMatchObject({
      status: '5.4.4',
      text: nameServiceText('mx2.example.test', 'A', 'Host not found'),
    });
    expect(r.warnings).toContain(`no MX host for ${D} has a valid address record`);
    const deferred = await run(zone, target(D), { smtpDeferIfNoMxAddressFound: true });
    expect(deferred.failure).toMatchObject({ status: '4.4.4', throttle: true });
    expect(deferred.failure?.text).toBe(r.failure?.text);
  });

  it('a soft exchanger error dominates a later hard one; the text is the last', async () => {
    const zone: FakeZone = {
      [D]: {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
        ],
      },
      'mx1.example.test': { fail: { A: 'RETRY' } },
    };
    const r = await run(zone, target(D));
    expect(r.failure).toMatchObject({
      status: '4.4.4',
      text: nameServiceText('mx2.example.test', 'A', 'Host not found'),
    });
  });

  it('hard FAIL after a soft error becomes 4.4.3; FAIL alone is 5.4.3', async () => {
    const zone: FakeZone = {
      [D]: {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
        ],
      },
      'mx1.example.test': { fail: { A: 'RETRY' } },
      'mx2.example.test': { fail: { A: 'FAIL' } },
    };
    expect((await run(zone, target(D))).failure?.status).toBe('4.4.3');
    const alone = { ...zone, 'mx1.example.test': { fail: { A: 'FAIL' as const } } };
    expect((await run(alone, target(D))).failure?.status).toBe('5.4.3');
    const inval = { ...zone, 'mx1.example.test': { fail: { A: 'INVAL' as const } }, 'mx2.example.test': {} };
    expect((await run(inval, target(D))).failure?.status).toBe('5.4.4');
  });

  it('skips an unresolvable exchanger silently when another resolves', async () => {
    const zone: FakeZone = {
      [D]: {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
        ],
      },
      'mx1.example.test': { fail: { A: 'RETRY' } },
      'mx2.example.test': { A: ['127.0.2.2'] },
    };
    const r = await run(zone, target(D));
    expect(r.failure).toBeUndefined();
    expect(addrs(r)).toEqual(['127.0.2.2']);
  });

  it('uses a numeric MX target directly (row 31)', async () => {
    const r = await run({ [D]: { MX: [[10, '127.0.2.5']] } }, target(D));
    expect(r.endpoints).toEqual([
      { kind: 'inet', host: '127.0.2.5', address: '127.0.2.5', port: 25, family: 4, preference: 10 },
    ]);
    expect(r.queries).toEqual([{ name: D, type: 'MX' }]);
  });

  it('A plus AAAA: OK records are kept even when the other type fails', async () => {
    const zone: FakeZone = {
      [D]: { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: ['127.0.2.1'], fail: { AAAA: 'RETRY' } },
    };
    const r = await run(zone, target(D), { inetProtocols: 'all' });
    expect(addrs(r)).toEqual(['127.0.2.1']);
  });

  it('A NXDOMAIN plus AAAA SERVFAIL gives RETRY 4.4.3 with the AAAA text', async () => {
    const zone: FakeZone = {
      [D]: { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { fail: { A: 'NOTFOUND', AAAA: 'RETRY' } },
    };
    const r = await run(zone, target(D), { inetProtocols: 'all' });
    expect(r.failure).toMatchObject({
      status: '4.4.3',
      text: nameServiceText('mx1.example.test', 'AAAA', 'Host not found, try again'),
    });
  });

  it('queries only AAAA with inetProtocols=ipv6 and only A with ipv4', async () => {
    const zone: FakeZone = {
      [D]: { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: ['127.0.2.1'], AAAA: ['::1'] },
    };
    const v6 = await run(zone, target(D), { inetProtocols: 'ipv6' });
    expect(r6(v6)).toEqual([['::1', 6]]);
    expect(v6.queries.map((q) => q.type)).toEqual(['MX', 'AAAA']);
    const v4 = await run(zone, target(D), { inetProtocols: 'ipv4' });
    expect(r6(v4)).toEqual([['127.0.2.1', 4]]);
  });
});

const r6 = (r: { endpoints: Array<{ address: string; family?: 4 | 6 }> }) =>
  r.endpoints.map((e) => [e.address, e.family]);

describe('self detection (loop)', () => {
  const own = { proxyInterfaces: ['127.0.2.99'] };

  it('best MX is me: 5.4.6 mail for <domain> loops back to myself (row 24)', async () => {
    const zone: FakeZone = { [D]: { MX: [[10, 'self.test']] }, 'self.test': { A: ['127.0.2.99'] } };
    const r = await run(zone, target(D), own);
    expect(r.failure).toEqual({
      handler: 'sess',
      status: '5.4.6',
      text: `mail for ${D} loops back to myself`,
      throttle: false,
    });
    expect(r.iAmMx).toBe(true);
  });

  it('better MX unresolvable, me next: 4.4.4 unable to find primary relay', async () => {
    const zone: FakeZone = {
      [D]: {
        MX: [
          [5, 'gone.test'],
          [10, 'self.test'],
        ],
      },
      'self.test': { A: ['127.0.2.99'] },
    };
    const r = await run(zone, target(D), { inetInterfaces: ['127.0.2.99'] });
    expect(r.failure).toMatchObject({
      status: '4.4.4',
      text: `unable to find primary relay for ${D}`,
      throttle: true,
    });
    expect(r.iAmMx).toBe(true);
  });

  it('cuts me and every address of equal or worse preference', async () => {
    const zone: FakeZone = {
      [D]: {
        MX: [
          [10, 'mx1.test'],
          [20, 'self.test'],
          [20, 'peer.test'],
          [30, 'mx3.test'],
        ],
      },
      'mx1.test': { A: ['127.0.2.1'] },
      'self.test': { A: ['127.0.2.99'] },
      'peer.test': { A: ['127.0.2.20'] },
      'mx3.test': { A: ['127.0.2.3'] },
    };
    const r = await run(zone, target(D), own);
    expect(addrs(r)).toEqual(['127.0.2.1']);
    expect(r.iAmMx).toBe(true);
    expect(r.failure).toBeUndefined();
  });

  it('is off without loop detection (port other than 25)', async () => {
    const zone: FakeZone = { [D]: { MX: [[10, 'self.test']] }, 'self.test': { A: ['127.0.2.99'] } };
    const r = await run(zone, target(D, { loopDetect: false, port: 2525 }), own);
    expect(r.endpoints).toEqual([
      { kind: 'inet', host: 'self.test', address: '127.0.2.99', port: 2525, family: 4, preference: 10 },
    ]);
    expect(r.iAmMx).toBe(false);
  });

  it('host path: any self address gives 5.4.6 with the host name', async () => {
    const zone: FakeZone = { 'relay.test': { A: ['127.0.2.1', '127.0.2.99'] } };
    const r = await run(zone, target('relay.test', { bracketed: true, lookup: 'host' }), own);
    expect(r.failure).toMatchObject({ status: '5.4.6', text: 'mail for relay.test loops back to myself' });
  });

  it('matches IPv6 own addresses in any spelling', async () => {
    const zone: FakeZone = { [D]: { MX: [[10, 'self.test']] }, 'self.test': { AAAA: ['0:0:0:0:0:0:0:1'] } };
    const r = await run(zone, target(D), { inetProtocols: 'ipv6', inetInterfaces: ['::1'] });
    expect(r.failure?.status).toBe('5.4.6');
  });
});

describe('host path and literals', () => {
  it('a literal is one endpoint named by its address, no DNS', async () => {
    const r = await run(
      {},
      target('127.0.2.8', { bracketed: true, literal: 4, lookup: 'literal', port: 587, loopDetect: false }),
    );
    expect(r.endpoints).toEqual([
      { kind: 'inet', host: '127.0.2.8', address: '127.0.2.8', port: 587, family: 4, preference: 0 },
    ]);
    expect(r.queries).toEqual([]);
  });

  it('a literal of a disabled family: <host>: host not found', async () => {
    const r = await run({}, target('::1', { bracketed: true, literal: 6, lookup: 'literal' }));
    expect(r.failure).toMatchObject({ status: '5.4.4', text: '::1: host not found' });
  });

  it('[host] does no MX lookup', async () => {
    const r = await run(
      { 'relay.test': { MX: [[10, 'x.test']], A: ['127.0.2.5'] } },
      target('relay.test', { bracketed: true, lookup: 'host' }),
    );
    expect(addrs(r)).toEqual(['127.0.2.5']);
    expect(r.queries.map((q) => q.type)).toEqual(['A']);
  });

  it('smtpDnsSupportLevel=disabled uses the host path for a domain', async () => {
    const r = await run({ [D]: { MX: [[10, 'x.test']], A: ['127.0.2.6'] } }, target(D), {
      smtpDnsSupportLevel: 'disabled',
    });
    expect(addrs(r)).toEqual(['127.0.2.6']);
  });

  it('unix targets become one unix endpoint named $myhostname', async () => {
    const t = target('/run/lmtp.sock', {
      kind: 'unix',
      lookup: 'unix',
      port: 0,
      service: '',
      loopDetect: false,
    });
    const r = await run({}, t, { myhostname: 'me.test' });
    expect(r.endpoints).toEqual([
      { kind: 'unix', host: 'me.test', address: '/run/lmtp.sock', port: 0, preference: 0 },
    ]);
  });
});

describe('ordering', () => {
  const zone: FakeZone = {
    [D]: {
      MX: [
        [10, 'a.test'],
        [10, 'b.test'],
        [10, 'c.test'],
        [5, 'z.test'],
      ],
    },
    'a.test': { A: ['127.0.2.1'] },
    'b.test': { A: ['127.0.2.2'] },
    'c.test': { A: ['127.0.2.3'] },
    'z.test': { A: ['127.0.2.26'] },
  };

  it('without randomizing keeps DNS order within a preference (stable sort)', async () => {
    const r = await run(zone, target(D));
    expect(addrs(r)).toEqual(['127.0.2.26', '127.0.2.1', '127.0.2.2', '127.0.2.3']);
  });

  it('with randomizing shuffles ties: every order of the three seen across seeds, best pref first', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const r = await run(zone, target(D), { smtpRandomizeAddresses: true }, seed);
      expect(r.endpoints[0]?.address).toBe('127.0.2.26');
      expect(r.endpoints.map((e) => e.preference)).toEqual([5, 10, 10, 10]);
      seen.add(addrs(r).slice(1).join(','));
    }
    expect(seen.size).toBe(6);
  });

  it('is deterministic for a given seed', async () => {
    const a = await run(zone, target(D), { smtpRandomizeAddresses: true }, 42);
    const b = await run(zone, target(D), { smtpRandomizeAddresses: true }, 42);
    expect(addrs(a)).toEqual(addrs(b));
  });

  it('smtpAddressPreference breaks ties by family (row 35)', async () => {
    const z: FakeZone = { [D]: { MX: [[10, 'mx1.test']] }, 'mx1.test': { A: ['127.0.2.1'], AAAA: ['::1'] } };
    for (let seed = 1; seed <= 10; seed++) {
      const v6 = await run(
        z,
        target(D),
        { inetProtocols: 'all', smtpAddressPreference: 'ipv6', smtpRandomizeAddresses: true },
        seed,
      );
      expect(addrs(v6)).toEqual(['::1', '127.0.2.1']);
      const v4 = await run(
        z,
        target(D),
        { inetProtocols: 'all', smtpAddressPreference: 'ipv4', smtpRandomizeAddresses: true },
        seed,
      );
      expect(addrs(v4)).toEqual(['127.0.2.1', '::1']);
    }
  });

  it('balances families within smtpMxAddressLimit without cutting the list further', async () => {
    const v6 = Array.from({ length: 6 }, (_, i) => `2001:db8::${i + 1}`);
    const z: FakeZone = { [D]: { MX: [[10, 'mx1.test']] }, 'mx1.test': { A: ['127.0.2.1'], AAAA: v6 } };
    const r = await run(z, target(D), {
      inetProtocols: 'all',
      smtpAddressPreference: 'ipv6',
      smtpMxAddressLimit: 5,
    });
    expect(addrs(r)).toEqual(['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4', '127.0.2.1']);
    const off = await run(z, target(D), {
      inetProtocols: 'all',
      smtpAddressPreference: 'ipv6',
      smtpBalanceInetProtocols: false,
    });
    expect(off.endpoints).toHaveLength(7);
  });
});

describe('SRV path', () => {
  const srvTarget = target(D, {
    service: 'submission',
    port: 587,
    loopDetect: false,
    srvService: 'submission',
  });
  const q = `_submission._tcp.${D}`;
  const zone: FakeZone = {
    [q]: {
      SRV: [
        [10, 50, 587, 's1.test'],
        [10, 0, 2587, 's2.test'],
        [20, 0, 587, 's3.test'],
      ],
    },
    's1.test': { A: ['127.0.2.11'] },
    's2.test': { A: ['127.0.2.12'] },
    's3.test': { A: ['127.0.2.13'] },
    [D]: { MX: [[10, 'mx1.test']] },
    'mx1.test': { A: ['127.0.2.1'] },
  };

  it('orders by priority and weight; the SRV port overrides (row 48)', async () => {
    let s1First = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const r = await run(zone, srvTarget, {}, seed);
      expect(r.endpoints.map((e) => e.host).sort()).toEqual(['s1.test', 's2.test', 's3.test']);
      expect(r.endpoints[2]).toMatchObject({ host: 's3.test', port: 587, preference: 20 });
      const s2 = r.endpoints.find((e) => e.host === 's2.test');
      expect(s2?.port).toBe(2587);
      if (r.endpoints[0]?.host === 's1.test') s1First++;
    }
    expect(s1First).toBeGreaterThanOrEqual(190);
  });

  it('NOTFOUND bounces 5.4.4 with the SRV text when fallback is off (row 49)', async () => {
    const r = await run({ [D]: { A: ['127.0.2.7'] } }, srvTarget);
    expect(r.failure).toMatchObject({ status: '5.4.4', text: nameServiceText(q, 'SRV', 'Host not found') });
  });

  it('allowSrvLookupFallback: NOTFOUND goes on to the MX path with a warning', async () => {
    const r = await run({ [D]: { MX: [[10, 'mx1.test']] }, 'mx1.test': { A: ['127.0.2.1'] } }, srvTarget, {
      allowSrvLookupFallback: true,
    });
    expect(r.endpoints).toMatchObject([{ host: 'mx1.test', address: '127.0.2.1', port: 587 }]);
    expect(r.warnings.some((w) => w.startsWith(`skipping SRV lookup for ${q}: `))).toBe(true);
  });

  it('fallback uses the host path when the target is not an MX target', async () => {
    const t = { ...srvTarget, lookup: 'host' as const };
    const r = await run({ [D]: { MX: [[10, 'mx1.test']], A: ['127.0.2.7'] } }, t, {
      allowSrvLookupFallback: true,
    });
    expect(addrs(r)).toEqual(['127.0.2.7']);
  });

  it('ignoreSrvLookupError falls back for RETRY but not for NOTFOUND', async () => {
    const base: FakeZone = { [D]: { A: ['127.0.2.7'] } };
    const retry = await run({ ...base, [q]: { fail: { SRV: 'RETRY' } } }, srvTarget, {
      ignoreSrvLookupError: true,
    });
    expect(addrs(retry)).toEqual(['127.0.2.7']);
    const nf = await run(base, srvTarget, { ignoreSrvLookupError: true });
    expect(nf.failure?.status).toBe('5.4.4');
    const noIgnore = await run({ ...base, [q]: { fail: { SRV: 'RETRY' } } }, srvTarget);
    expect(noIgnore.failure).toMatchObject({ status: '4.4.3', throttle: true });
  });

  it.each([
    ['NULLSRV', '5.1.0', `Domain ${q} does not support SRV requests`],
    ['POLICY', '4.7.0', `Error looking up name=${q} type=SRV: DNS reply filter drops all results`],
  ] as const)('%s never falls back', async (cls, status, text) => {
    const r = await run({ [q]: { fail: { SRV: cls } }, [D]: { A: ['127.0.2.7'] } }, srvTarget, {
      allowSrvLookupFallback: true,
      ignoreSrvLookupError: true,
    });
    expect(r.failure).toMatchObject({ status, text });
  });

  it('FAIL and INVAL give 5.4.3 and 5.4.4', async () => {
    expect((await run({ [q]: { fail: { SRV: 'FAIL' } } }, srvTarget)).failure?.status).toBe('5.4.3');
    expect((await run({ [q]: { fail: { SRV: 'INVAL' } } }, srvTarget)).failure?.status).toBe('5.4.4');
  });

  it('no SRV target with an address: last address error, or fallback when allowed', async () => {
    const z: FakeZone = { [q]: { SRV: [[10, 1, 587, 'gone.test']] }, [D]: { A: ['127.0.2.7'] } };
    const r = await run(z, srvTarget);
    expect(r.failure).toMatchObject({
      status: '5.4.4',
      text: nameServiceText('gone.test', 'A', 'Host not found'),
    });
    expect(r.warnings).toContain(`no SRV host for ${q} has a valid address record`);
    expect(addrs(await run(z, srvTarget, { allowSrvLookupFallback: true }))).toEqual(['127.0.2.7']);
  });

  it('loop check uses the SRV query name', async () => {
    const z: FakeZone = { [q]: { SRV: [[10, 1, 25, 'self.test']] }, 'self.test': { A: ['127.0.2.99'] } };
    const r = await run(z, { ...srvTarget, loopDetect: true, port: 25 }, { proxyInterfaces: ['127.0.2.99'] });
    expect(r.failure).toMatchObject({ status: '5.4.6', text: `mail for ${q} loops back to myself` });
    expect(r.iAmMx).toBe(true);
  });
});
