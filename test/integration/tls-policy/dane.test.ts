/**
 * DANE (RFC 7672) end to end on loopback: a DNS server standing in for a validating resolver (AD
 * bit on answers; per-name `insecure`; or not validating at all) serving TLSA records made from
 * certificates generated in the test, and real SMTP peers with those certificates.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryTlsRptStore } from '../../../src/tlsrpt/store.ts';
import { certFingerprints, makeTestPki, type TestPki } from '../../support/certs.ts';
import type { ZoneRecordSet } from '../../support/dns-server.ts';
import { startDnsServer } from '../../support/dns-server.ts';
import type { Scene } from '../attempt/harness.ts';
import { rcpt, request, scene } from '../attempt/harness.ts';

type Tlsa = NonNullable<ZoneRecordSet['TLSA']>;

const zone =
  (tlsa: Tlsa | undefined, extra: Partial<Record<string, ZoneRecordSet>> = {}) =>
  (addr: (n: number) => string) => ({
    'example.test': { MX: [[10, 'mx1.example.test']] as Array<[number, string]> },
    'mx1.example.test': { A: [addr(1)] },
    ...(tlsa !== undefined ? { '_25._tcp.mx1.example.test': { TLSA: tlsa } } : {}),
    ...extra,
  });

let s: Scene | undefined;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await s?.close();
  s = undefined;
  for (const f of stops.splice(0)) await f();
});

const dnssec = { smtpDnsSupportLevel: 'dnssec' as const };
const mailLines = (p: { commands: Array<{ line: string; tls: boolean }> } | undefined) =>
  (p?.commands ?? []).filter((c) => c.line.startsWith('MAIL FROM')).map((c) => c.tls);
const caDer = (pki: TestPki) => new X509Certificate(pki.caCert).raw;

async function withPeer(
  tlsa: Tlsa | undefined,
  tls: 'valid' | 'selfSigned' | 'wrongName' | 'chain' | 'none',
  extra = {},
) {
  const pki = await makeTestPki('mx1.example.test');
  s = await scene(zone(tlsa, extra));
  const cert =
    tls === 'none'
      ? undefined
      : tls === 'chain'
        ? { key: pki.valid.key, cert: `${pki.valid.cert}\n${pki.caCert}` }
        : pki[tls];
  const peer = await s.peer(1, cert !== undefined ? { tls: cert } : {});
  return { pki, peer };
}

describe('DANE-EE and DANE-TA', () => {
  it('DANE-EE 3 1 1 (SPKI SHA-256) matches: sent over TLS', async () => {
    const pki = await makeTestPki('mx1.example.test');
    const { peer } = await withPeer([[3, 1, 1, pki.valid.pubkeySha256]], 'valid');
    const r = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(mailLines(peer)).toEqual([true]);
  });

  it('DANE-EE 3 0 1 needs no trust store or name: a self-signed certificate matches', async () => {
    const pki = await makeTestPki('mx1.example.test');
    await withPeer([[3, 0, 1, pki.selfSigned.fingerprintSha256]], 'selfSigned');
    const r = await (
      s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane-only' }).agent ?? expect.fail()
    ).deliver(request());
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
  });

  it('a mismatch defers 4.7.5 "Server certificate not verified", nothing sent', async () => {
    const pki = await makeTestPki('mx1.example.test');
    const { peer } = await withPeer(
      [
        [3, 1, 1, pki.wrongName.pubkeySha256],
        [3, 1, 2, 'ab'.repeat(64)],
      ],
      'valid',
    );
    const r = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.5',
      diagnostic: 'Server certificate not verified',
    });
    expect(mailLines(peer)).toEqual([]);
  });

  it('DANE-TA 2 0 1 on a presented CA: sent; a leaf for another name under the same CA: not verified', async () => {
    const pki = await makeTestPki('mx1.example.test');
    const ta: Tlsa = [[2, 0, 1, certFingerprints(pki.caCert).fingerprintSha256]];
    await withPeer(ta, 'chain');
    const ok = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(ok, 0)).toMatchObject({ status: 'sent' });
    await s?.close();
    const other = await withPeer(ta, 'wrongName');
    const bad = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(bad, 0)).toMatchObject({ status: 'deferred', diagnostic: 'Server certificate not verified' });
    expect(mailLines(other.peer)).toEqual([]);
  });

  it('DANE-TA 2 0 0 with the full CA certificate, not presented by the server: sent', async () => {
    const pki = await makeTestPki('mx1.example.test');
    await withPeer([[2, 0, 0, caDer(pki).toString('hex')]], 'valid');
    const r = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
  });
});

describe('DANE without usable TLSA', () => {
  it('no TLSA (secure denial): dane delivers opportunistically, dane-only defers', async () => {
    const { peer } = await withPeer(undefined, 'none');
    const may = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(may, 0)).toMatchObject({ status: 'sent' });
    const only = await (
      s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane-only' }).agent ?? expect.fail()
    ).deliver(request());
    expect(rcpt(only, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.5',
      diagnostic: 'TLS is required, but no TLSA records found for mx1.example.test:25',
    });
    expect(mailLines(peer)).toEqual([false]);
  });

  it('unusable TLSA (PKIX-EE, bad hash length): dane requires TLS (encrypt), dane-only defers', async () => {
    const bad: Tlsa = [
      [1, 1, 1, 'aa'.repeat(32)],
      [3, 1, 1, 'abcd'],
    ];
    const { peer } = await withPeer(bad, 'none');
    const enc = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(enc, 0)).toMatchObject({ status: 'deferred', dsn: '4.7.4' });
    const only = await (
      s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane-only' }).agent ?? expect.fail()
    ).deliver(request());
    expect(rcpt(only, 0)).toMatchObject({
      status: 'deferred',
      diagnostic: 'TLS is required, but TLSA records unusable for mx1.example.test:25',
    });
    expect(mailLines(peer)).toEqual([]);
  });

  it('a TLSA lookup failure (SERVFAIL) defers 4.7.5 at both levels', async () => {
    s = await scene(zone(undefined, { '_25._tcp.mx1.example.test': { rcode: 'SERVFAIL' } }));
    const peer = await s.peer(1);
    const tlsRptStore = createMemoryTlsRptStore();
    const r = await s
      .agent(
        { ...dnssec, smtpTlsSecurityLevel: 'dane', dnsTimeout: '1s', smtpTlsrptEnable: true },
        { tlsRptStore },
      )
      .agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.7.5',
      diagnostic: 'TLSA lookup error for mx1.example.test:25',
    });
    expect(peer.connections).toBe(0);
    // TLSRPT (RFC 8460 §4.3.2.1): a TLSA lookup that failed is a dnssec-invalid session failure.
    const [entry] = await tlsRptStore.pending();
    const counts = await tlsRptStore.read(entry?.day ?? '', 'example.test');
    expect(counts.flatMap((c) => c.failures)).toEqual([
      { resultType: 'dnssec-invalid', mxHost: 'mx1.example.test', ip: s.addr(1), count: 1 },
    ]);
  });

  it('insecure MX: dane-only defers "non DNSSEC destination"; dane still uses the host\'s secure TLSA', async () => {
    const pki = await makeTestPki('mx1.example.test');
    const { peer } = await withPeer([[3, 1, 1, pki.wrongName.pubkeySha256]], 'valid', {
      'example.test': { MX: [[10, 'mx1.example.test']], insecure: true },
    });
    const only = await (
      s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane-only' }).agent ?? expect.fail()
    ).deliver(request());
    expect(rcpt(only, 0)).toMatchObject({
      status: 'deferred',
      diagnostic: 'TLS is required, but non DNSSEC destination mx1.example.test:25',
    });
    const half = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(half, 0)).toMatchObject({
      status: 'deferred',
      diagnostic: 'Server certificate not verified',
    });
    expect(mailLines(peer)).toEqual([]);
  });

  it('a resolver that does not validate (no AD): TLSA is ignored; dane = may, dane-only defers', async () => {
    const pki = await makeTestPki('mx1.example.test');
    const { peer } = await withPeer([[3, 1, 1, pki.wrongName.pubkeySha256]], 'valid');
    const plain = await startDnsServer(
      zone([[3, 1, 1, pki.wrongName.pubkeySha256]])((n) => `${s?.addr(n)}`),
      {
        validating: false,
      },
    );
    stops.push(() => plain.stop());
    const opts = { ...dnssec, dnsServers: [plain.server] };
    const may = await (s?.agent({ ...opts, smtpTlsSecurityLevel: 'dane' }).agent ?? expect.fail()).deliver(
      request(),
    );
    expect(rcpt(may, 0)).toMatchObject({ status: 'sent' });
    const only = await (
      s?.agent({ ...opts, smtpTlsSecurityLevel: 'dane-only' }).agent ?? expect.fail()
    ).deliver(request());
    expect(rcpt(only, 0)).toMatchObject({ status: 'deferred', dsn: '4.7.5' });
    expect(mailLines(peer)).toEqual([true]);
  });

  it('without smtpDnsSupportLevel dnssec the dane levels are refused, never lowered', async () => {
    const pki = await makeTestPki('mx1.example.test');
    const { peer } = await withPeer([[3, 1, 1, pki.valid.pubkeySha256]], 'none');
    for (const level of ['dane', 'dane-only'] as const) {
      const { agent, logs } = s?.agent({ smtpTlsSecurityLevel: level }) ?? expect.fail();
      const r = await agent.deliver(request());
      expect(rcpt(r, 0)).toMatchObject({
        status: 'deferred',
        dsn: '4.7.5',
        diagnostic: 'client TLS configuration problem',
      });
      expect(logs().some((l) => l.includes(`TLS level ${level} needs smtpDnsSupportLevel "dnssec"`))).toBe(
        true,
      );
    }
    expect(peer.connections).toBe(0);
  });
});

it('sha512 matching type (3 1 2)', async () => {
  const pki = await makeTestPki('mx1.example.test');
  const spki = new X509Certificate(pki.valid.cert).publicKey.export({ type: 'spki', format: 'der' });
  await withPeer([[3, 1, 2, createHash('sha512').update(spki).digest('hex')]], 'valid');
  const r = await (s?.agent({ ...dnssec, smtpTlsSecurityLevel: 'dane-only' }).agent ?? expect.fail()).deliver(
    request(),
  );
  expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
});
