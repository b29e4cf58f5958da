/**
 * G25 (SSRF): a recipient domain whose MX or A/AAAA records point at special-use addresses gets
 * no connection at all (the attempt's server trace is empty and the loopback peers see nothing);
 * each recipient bounces once with the address-policy reason (5.4.4), or defers (4.4.4) when
 * smtpDeferIfNoMxAddressFound is set. With the address on smtpAddressAllowlist it delivers, and
 * operator next-hops (a relayhost-style [literal]) are not filtered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scene } from '../integration/attempt/harness.ts';
import { order, rcpt, request, scene } from '../integration/attempt/harness.ts';
import type { SmtpPeer } from '../support/smtp-peer.ts';

let s: Scene;
let peer: SmtpPeer;
let peer2: SmtpPeer;

beforeAll(async () => {
  s = await scene((addr) => ({
    'loop.test': { MX: [[10, 'mx.loop.test']] },
    'mx.loop.test': { A: [addr(25)] },
    'mapped.test': { MX: [[10, 'mx.mapped.test']] },
    'mx.mapped.test': { AAAA: [`::ffff:${addr(25)}`] },
    'numeric.test': { MX: [[10, addr(25)]] },
    'nomx.test': { A: [addr(25)] },
    'meta.test': { MX: [[10, 'mx.meta.test']] },
    'mx.meta.test': { A: ['169.254.169.254'] },
    'mixed.test': {
      MX: [
        [10, 'mx1.mixed.test'],
        [20, 'mx2.mixed.test'],
      ],
    },
    'mx1.mixed.test': { A: ['10.0.0.1'] },
    'mx2.mixed.test': { A: [addr(26)] },
    'nat64.test': { MX: [[10, 'mx.nat64.test']] },
    'mx.nat64.test': { AAAA: ['64:ff9b::7f00:1', 'fd00::25', 'fe80::1'] },
  }));
  peer = await s.peer(25);
  peer2 = await s.peer(26);
});

afterAll(async () => {
  await s?.close();
});

const refused = (domain: string) =>
  request({ recipients: [{ address: `a@${domain}` }, { address: `b@${domain}` }], nexthop: domain });

describe('G25: no connection to special addresses of recipient domains', () => {
  it.each([
    ['loop.test', /mx\.loop\.test\[127\.\d+\.\d+\.25\] is a loopback address/],
    ['mapped.test', /mx\.mapped\.test\[::ffff:127\.\d+\.\d+\.25\] is a IPv4-mapped address/],
    ['numeric.test', /numeric MX host name 127\.\d+\.\d+\.25 for numeric\.test/],
    ['nomx.test', /noMx\.test\[127\.\d+\.\d+\.25\] is a loopback address/i],
    ['meta.test', /\[169\.254\.169\.254\] is a link-local address/],
    ['nat64.test', /is a (NAT64 of loopback|unique-local|link-local) address/],
  ])('%s: 0 connections, every recipient bounced once (5.4.4)', async (domain, reason) => {
    const before = peer.connections;
    const { agent } = s.agent({ smtpAddressAllowlist: [], inetProtocols: 'all' });
    const r = await agent.deliver(refused(domain));
    expect(r.servers).toEqual([]);
    expect(peer.connections).toBe(before);
    expect(r.recipients).toHaveLength(2);
    for (const i of [0, 1]) {
      expect(rcpt(r, i)).toMatchObject({ status: 'bounced', dsn: '5.4.4' });
      expect(rcpt(r, i).diagnostic).toMatch(reason);
      expect(rcpt(r, i).diagnostic).toContain('smtpAddressAllowlist');
    }
  });

  it('defers (4.4.4) instead when smtpDeferIfNoMxAddressFound is set', async () => {
    const { agent } = s.agent({ smtpAddressAllowlist: [], smtpDeferIfNoMxAddressFound: true });
    const r = await agent.deliver(refused('loop.test'));
    expect(r.servers).toEqual([]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'deferred', dsn: '4.4.4' });
  });

  it('a refused primary MX is skipped; the allowlisted secondary delivers', async () => {
    const { agent, logs } = s.agent({ smtpAddressAllowlist: [`${s.addr(26)}/32`] });
    const r = await agent.deliver(refused('mixed.test'));
    expect(order(r)).toEqual([`mx2.mixed.test[${s.addr(26)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    expect(peer2.messages.at(-1)?.to).toEqual(['a@mixed.test', 'b@mixed.test']);
    expect(logs().some((l) => /not connecting to mx1\.mixed\.test\[10\.0\.0\.1\] is a private/.test(l))).toBe(
      true,
    );
  });

  it('with the loopback range allowlisted the same destinations deliver', async () => {
    const block = s.addr(1).replace(/\.1$/, '.0/24');
    const { agent } = s.agent({ smtpAddressAllowlist: [block] });
    for (const domain of ['loop.test', 'numeric.test', 'nomx.test']) {
      const r = await agent.deliver(refused(domain));
      expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
    }
  });

  it('operator next-hops ([literal], relayhost-style) are trusted and not filtered', async () => {
    const { agent } = s.agent({ smtpAddressAllowlist: [] });
    const r = await agent.deliver(
      request({ recipients: [{ address: 'a@elsewhere.test' }], nexthop: `[${s.addr(25)}]` }),
    );
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent' });
  });
});
