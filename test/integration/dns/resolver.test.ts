import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsResolver } from '../../../src/dns/resolver.ts';
import { type DnsServer, startDnsServer } from '../../support/dns-server.ts';

const D = 'example.test';
const nse = (name: string, type: string, what: string) =>
  `Host or domain name not found. Name service error for name=${name} type=${type}: ${what}`;

describe('createDnsResolver against a loopback DNS server', () => {
  let server: DnsServer;
  beforeAll(async () => {
    server = await startDnsServer({
      [D]: {
        MX: [
          [20, 'mx2.example.test.'],
          [10, 'mx1.example.test'],
        ],
        A: ['127.0.2.7'],
      },
      'mx1.example.test': { A: ['127.0.2.1'], AAAA: ['::1'] },
      'null.test': { MX: [[0, '.']] },
      'nullsrv.test': {},
      '_submission._tcp.nullsrv.test': { SRV: [[0, 0, 0, '.']] },
      'numeric.test': { MX: [[10, '127.0.2.5']] },
      'bad.test': {
        MX: [
          [10, 'bad_name!.test'],
          [20, 'good.test'],
        ],
      },
      'allbad.test': { MX: [[10, 'bad!.test']] },
      'servfail.test': { rcode: 'SERVFAIL' },
      'refused.test': { rcode: 'REFUSED' },
      'formerr.test': { rcode: 'FORMERR' },
      'notimp.test': { rcode: 'NOTIMP' },
      'drop.test': { A: ['127.0.2.1'], byType: { MX: 'DROP' } },
      'alias.test': { CNAME: 'real.test' },
      'real.test': { A: ['127.0.2.9'] },
      '_submission._tcp.example.test': { SRV: [[10, 50, 587, 's1.example.test']] },
      'xn--exmple-cua.test': { MX: [[10, 'mx1.example.test']] },
      'txt.test': { TXT: ['v=spf1 -all'] },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const dns = (timeoutMs = 2000) => createDnsResolver({ servers: [server.server], timeoutMs, tries: 1 });

  it('returns MX records without trailing dots, with the query name', async () => {
    const a = await dns().lookup(D, 'MX');
    expect(a).toMatchObject({ class: 'OK', type: 'MX', qname: D });
    if (a.class === 'OK' && a.type === 'MX') {
      expect([...a.records].sort((x, y) => x.preference - y.preference)).toEqual([
        { preference: 10, exchange: 'mx1.example.test' },
        { preference: 20, exchange: 'mx2.example.test' },
      ]);
    }
  });

  it('A and AAAA', async () => {
    expect(await dns().lookup('mx1.example.test', 'A')).toMatchObject({
      class: 'OK',
      addresses: ['127.0.2.1'],
    });
    expect(await dns().lookup('mx1.example.test', 'AAAA')).toMatchObject({ class: 'OK', addresses: ['::1'] });
  });

  it('NXDOMAIN and NODATA are NOTFOUND with the Postfix texts', async () => {
    expect(await dns().lookup('nowhere.test', 'MX')).toEqual({
      class: 'NOTFOUND',
      type: 'MX',
      text: nse('nowhere.test', 'MX', 'Host not found'),
    });
    expect(await dns().lookup('mx1.example.test', 'MX')).toEqual({
      class: 'NOTFOUND',
      type: 'MX',
      text: nse('mx1.example.test', 'MX', 'Host found but no data record of requested type'),
    });
  });

  it('null MX (node:dns gives exchange "") is NULLMX', async () => {
    expect(await dns().lookup('null.test', 'MX')).toEqual({
      class: 'NULLMX',
      type: 'MX',
      text: 'Domain null.test does not accept mail (nullMX)',
    });
  });

  it('SRV target "." is NULLSRV', async () => {
    expect(await dns().lookup('_submission._tcp.nullsrv.test', 'SRV')).toEqual({
      class: 'NULLSRV',
      type: 'SRV',
      text: 'Domain _submission._tcp.nullsrv.test does not support SRV requests',
    });
  });

  it('SRV records', async () => {
    expect(await dns().lookup('_submission._tcp.example.test', 'SRV')).toMatchObject({
      class: 'OK',
      records: [{ priority: 10, weight: 50, port: 587, target: 's1.example.test' }],
    });
  });

  it('keeps a numeric MX target with a warning', async () => {
    expect(await dns().lookup('numeric.test', 'MX')).toMatchObject({
      class: 'OK',
      records: [{ preference: 10, exchange: '127.0.2.5' }],
      warnings: ['numeric domain name in resource data of MX record for numeric.test: 127.0.2.5'],
    });
  });

  it('drops malformed MX targets; none left is INVAL', async () => {
    const a = await dns().lookup('bad.test', 'MX');
    expect(a).toMatchObject({ class: 'OK', records: [{ preference: 20, exchange: 'good.test' }] });
    expect(a.warnings?.[0]).toMatch(/^malformed domain name in resource data of MX record for bad\.test: /);
    expect(await dns().lookup('allbad.test', 'MX')).toMatchObject({
      class: 'INVAL',
      text: 'Name service error for name=allbad.test type=MX: Malformed or unexpected name server reply',
    });
  });

  it.each([
    ['servfail.test', 'RETRY', 'Host not found, try again'],
    ['refused.test', 'FAIL', 'Non-recoverable error'],
    ['formerr.test', 'FAIL', 'Non-recoverable error'],
    ['notimp.test', 'FAIL', 'Non-recoverable error'],
  ] as const)('%s → %s', async (name, cls, what) => {
    expect(await dns().lookup(name, 'MX')).toEqual({ class: cls, type: 'MX', text: nse(name, 'MX', what) });
  });

  it('a dropped query times out as RETRY (300 ms, 1 try)', async () => {
    expect(await dns(300).lookup('drop.test', 'MX')).toEqual({
      class: 'RETRY',
      type: 'MX',
      text: nse('drop.test', 'MX', 'Host not found, try again'),
    });
  });

  it('follows a CNAME for A', async () => {
    expect(await dns().lookup('alias.test', 'A')).toMatchObject({ class: 'OK', addresses: ['127.0.2.9'] });
  });

  it('converts U-labels to A-labels before querying', async () => {
    const before = server.queries.length;
    expect(await dns().lookup('exämple.test', 'MX')).toMatchObject({
      class: 'OK',
      qname: 'xn--exmple-cua.test',
    });
    expect(server.queries.slice(before)).toEqual([{ name: 'xn--exmple-cua.test', type: 'MX' }]);
  });

  it('invalid and numeric query names fail without a query', async () => {
    const before = server.queries.length;
    expect(await dns().lookup('bad name.test', 'A')).toEqual({
      class: 'NOTFOUND',
      type: 'A',
      text: 'Name service error for bad name.test: invalid host or domain name',
    });
    expect(await dns().lookup('127.0.0.1', 'A')).toMatchObject({ class: 'NOTFOUND' });
    expect(server.queries.length).toBe(before);
  });

  it('TXT chunks are joined', async () => {
    expect(await dns().lookup('txt.test', 'TXT')).toMatchObject({ class: 'OK', records: ['v=spf1 -all'] });
  });

  it('an aborted signal rejects', async () => {
    const ac = new AbortController();
    const p = createDnsResolver({ servers: [server.server], timeoutMs: 5000, tries: 1 }).lookup(
      'drop.test',
      'MX',
      ac.signal,
    );
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  it('rejects a malformed server entry', () => {
    expect(() => createDnsResolver({ servers: ['not an address'], timeoutMs: 100, tries: 1 })).toThrow(
      /dnsServers/,
    );
  });
});
