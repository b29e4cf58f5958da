import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptResult } from '../../../src/core/types.ts';
import { makeTestPki, type TestPki } from '../../support/certs.ts';
import { type SmtpPeer, startSmtpPeer } from '../../support/smtp-peer.ts';
import { until } from '../../support/wait.ts';
import { type ClusterScene, clusterScene, request, steps } from './cluster-harness.ts';
import { type RawPeer, startBrokenTlsPeer } from './raw-peers.ts';

let s: ClusterScene | undefined;
let pki: TestPki;
const peers: Array<SmtpPeer | RawPeer> = [];
beforeAll(async () => {
  pki = await makeTestPki('mx1.example.test');
});
afterEach(async () => {
  for (const p of peers.splice(0)) await p.stop();
  await s?.close();
  s = undefined;
});

/** The TLS line of the transcript ("resumed=true|false"), one per TLS handshake. */
const resumed = (transcript: string[]): boolean[] =>
  transcript.filter((l) => / resumed=(true|false)$/.test(l)).map((l) => l.endsWith('resumed=true'));
const sent = (r: AttemptResult): boolean => r.recipients.every((x) => x.status === 'sent');

async function ticketCount(redis: ClusterScene['redis']): Promise<number> {
  const r = new Redis(redis.url);
  const n = (await r.keys('{mxq}:nh:ticket:*')).length;
  r.disconnect();
  return n;
}

describe('cluster tier in Redis: TLS session tickets', () => {
  it('resumes for the same name and policy on another host; never for another name or another policy', async () => {
    s = await clusterScene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
      // The same server under another name.
      'other.test': { MX: [[10, 'mx.other.test']] },
      'mx.other.test': { A: [addr(1)] },
    }));
    const peer = await startSmtpPeer({ host: s.addr(1), port: 25, tls: pki.valid });
    peers.push(peer);
    const scene = s;
    const may = { smtpTlsSecurityLevel: 'may' as const };

    const a = await scene.attempt(request({ queueId: 'Q1' }), may);
    expect(sent(a.result)).toBe(true);
    expect(resumed(a.transcript)).toEqual([false]);
    await until('a stored ticket', async () => ((await ticketCount(scene.redis)) >= 1 ? true : undefined));

    // Another host, same name and policy: the ticket is offered and the server resumes.
    const b = await scene.attempt(request({ queueId: 'Q2' }), may);
    expect(sent(b.result)).toBe(true);
    expect(resumed(b.transcript)).toEqual([true]);

    // Another name (same address and port): no ticket offered.
    const c = await scene.attempt(request({ queueId: 'Q3', nexthop: 'other.test' }), may);
    expect(sent(c.result)).toBe(true);
    expect(resumed(c.transcript)).toEqual([false]);

    // Same name, other policies: encrypt, then verify with the test CA, each first without a ticket.
    const encrypt = { smtpTlsSecurityLevel: 'encrypt' as const };
    const e1 = await scene.attempt(request({ queueId: 'Q4' }), encrypt);
    expect(resumed(e1.transcript)).toEqual([false]);
    const verify = { smtpTlsSecurityLevel: 'verify' as const, smtpTlsCAfile: [pki.caCert] };
    const v1 = await scene.attempt(request({ queueId: 'Q5' }), verify);
    expect(sent(v1.result)).toBe(true);
    expect(resumed(v1.transcript)).toEqual([false]);
    await until('tickets for may, other name, encrypt and verify', async () =>
      (await ticketCount(scene.redis)) >= 4 ? true : undefined,
    );

    // A resumed verify session still passes the certificate check and delivers.
    const v2 = await scene.attempt(request({ queueId: 'Q6' }), verify);
    expect(sent(v2.result)).toBe(true);
    expect(resumed(v2.transcript)).toEqual([true]);
    expect(v2.transcript.some((l) => l.includes('trusted=true matched=true resumed=true'))).toBe(true);

    // Another trust anchor set is another policy: no ticket.
    const otherCa = await makeTestPki('mx1.example.test');
    const v3 = await scene.attempt(request({ queueId: 'Q7' }), {
      smtpTlsSecurityLevel: 'verify',
      smtpTlsCAfile: [pki.caCert, otherCa.caCert, '# another anchor set'],
    });
    expect(resumed(v3.transcript)).toEqual([false]);
    expect(peer.messages.every((m) => m.tls)).toBe(true);
  });
});

describe('cluster tier in Redis: tickets from failed checks', () => {
  it('stores no ticket from a session that failed its certificate check, so none can be resumed', async () => {
    s = await clusterScene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
    }));
    const scene = s;
    const peer = await startSmtpPeer({ host: s.addr(1), port: 25, tls: pki.wrongName });
    peers.push(peer);
    const verify = { smtpTlsSecurityLevel: 'verify' as const, smtpTlsCAfile: [pki.caCert] };
    const v1 = await scene.attempt(request({ queueId: 'Q1' }), verify);
    expect(v1.result.recipients[0]).toMatchObject({
      status: 'deferred',
      diagnostic: 'Server certificate not verified',
    });
    // A later session at encrypt (no name check) stores its ticket: wait for that one only.
    const e = await scene.attempt(request({ queueId: 'Q2' }), { smtpTlsSecurityLevel: 'encrypt' });
    expect(sent(e.result)).toBe(true);
    await until('the encrypt ticket', async () => ((await ticketCount(scene.redis)) >= 1 ? true : undefined));
    expect(await ticketCount(scene.redis)).toBe(1);
    const v2 = await scene.attempt(request({ queueId: 'Q3' }), verify);
    expect(resumed(v2.transcript)).toEqual([false]);
    expect(v2.result.recipients[0]).toMatchObject({
      status: 'deferred',
      diagnostic: 'Server certificate not verified',
    });
    expect(peer.messages).toHaveLength(1);
  });
});

describe('cluster tier in Redis: remembered broken TLS', () => {
  it('after a failed handshake at may the next attempt goes plaintext at once; never at encrypt', async () => {
    s = await clusterScene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
    }));
    const scene = s;
    const broken = await startBrokenTlsPeer(s.addr(1), 25);
    peers.push(broken);
    const verbs = (conn: number): string[] =>
      broken.commands.filter((c) => c.conn === conn).map((c) => c.line.split(/[ :]/)[0] ?? '');

    // A fresh message: §7.4 gives no plaintext retry yet, so it is deferred 4.7.5.
    const first = await scene.attempt(request({ queueId: 'Q1' }), { smtpTlsSecurityLevel: 'may' });
    expect(first.result.recipients[0]).toMatchObject({ status: 'deferred', dsn: '4.7.5' });
    expect(verbs(1)).toEqual(['EHLO', 'STARTTLS']);
    const r = new Redis(scene.redis.url);
    const mark = `{mxq}:nh:tlsbroken:smtp:[${scene.addr(1)}]:25`;
    await until('the broken-TLS mark', async () => ((await r.exists(mark)) === 1 ? true : undefined));
    expect(await r.pttl(mark)).toBeGreaterThan(0);
    // Broken TLS is not a dead server.
    expect(await r.keys('{mxq}:nh:dead:*')).toEqual([]);

    // Another host, another fresh message: plaintext at once, no STARTTLS.
    const second = await scene.attempt(request({ queueId: 'Q2' }), { smtpTlsSecurityLevel: 'may' });
    expect(second.result.recipients[0]?.status).toBe('sent');
    expect(steps(second.result)).toEqual([
      'mx1.example.test tls-broken-remembered',
      'mx1.example.test delivered',
    ]);
    expect(verbs(2)).toEqual(['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']);

    // Level encrypt (and above) never goes plaintext, mark or not.
    for (const [i, level] of (['encrypt', 'verify'] as const).entries()) {
      const enc = await scene.attempt(request({ queueId: `QE${i}` }), {
        smtpTlsSecurityLevel: level,
        smtpTlsCAfile: [pki.caCert],
      });
      expect(enc.result.recipients[0]).toMatchObject({ status: 'deferred', dsn: '4.7.5' });
      expect(verbs(3 + i)).toEqual(['EHLO', 'STARTTLS']);
    }
    // Nor with SASL credentials for the server, at may.
    const sasl = await scene.attempt(request({ queueId: 'QS' }), {
      smtpTlsSecurityLevel: 'may',
      smtpSaslAuthEnable: true,
      smtpSaslPasswordMaps: { 'example.test': { username: 'u', password: 'p' } },
    });
    expect(sasl.result.recipients[0]?.status).toBe('deferred');
    expect(verbs(5)).toEqual(['EHLO', 'STARTTLS']);
    expect(broken.commands.filter((c) => c.line.startsWith('MAIL')).map((c) => c.conn)).toEqual([2]);
    r.disconnect();
  });
});
