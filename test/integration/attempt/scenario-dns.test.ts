/** Spec §14 scenarios about resolution, loops, relayhost and fallback relays (3-6, 24, 27, 28, 30-32, 35, 48, 49). */
import { afterEach, describe, expect, it } from 'vitest';
import type { Scene } from './harness.ts';
import { order, rcpt, request, scene } from './harness.ts';

let s: Scene | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('scenarios: resolution and sites', () => {
  it('3: NXDOMAIN → bounced 5.4.4, relay=none', async () => {
    s = await scene(() => ({}));
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.4.4',
      relay: 'none',
      diagnostic:
        'Host or domain name not found. Name service error for name=example.test type=A: Host not found',
    });
    expect(r.hopStatus).toBeUndefined();
  });

  it('4: MX SERVFAIL → deferred 4.4.3, throttle', async () => {
    s = await scene(() => ({ 'example.test': { byType: { MX: 'SERVFAIL' } } }));
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({ status: 'deferred', dsn: '4.4.3', relay: 'none' });
    expect(rcpt(r, 0).diagnostic).toBe(
      'Host or domain name not found. Name service error for name=example.test type=MX: Host not found, try again',
    );
    expect(r.hopStatus?.status).toBe('4.4.3');
  });

  it('5: null MX → bounced 5.1.0', async () => {
    s = await scene(() => ({ 'example.test': { MX: [[0, '.']] } }));
    const r = await s.agent().agent.deliver(request());
    expect(order(r)).toEqual([]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.1.0',
      relay: 'none',
      diagnostic: 'Domain example.test does not accept mail (nullMX)',
    });
    expect(r.hopStatus).toBeUndefined();
  });

  it('6: null MX plus a fallback relay → sent via the fallback', async () => {
    s = await scene((addr) => ({ 'example.test': { MX: [[0, '.']] }, 'fb.test': { A: [addr(50)] } }));
    await s.peer(50);
    const r = await s.agent({ smtpFallbackRelay: ['[fb.test]'] }).agent.deliver(request());
    expect(order(r)).toEqual([`fb.test[${s.addr(50)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', dsn: '2.0.0', relay: `fb.test[${s.addr(50)}]:25` });
  });

  it('24: MX is myself → bounced 5.4.6; with best_mx_transport → handed off', async () => {
    s = await scene((addr) => ({
      'example.test': { MX: [[10, 'self.test']] },
      'self.test': { A: [addr(99)] },
    }));
    const r = await s.agent({ proxyInterfaces: [s.addr(99)] }).agent.deliver(request());
    expect(order(r)).toEqual([]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.4.6',
      relay: 'none',
      diagnostic: 'mail for example.test loops back to myself',
    });
    expect(r.hopStatus).toBeUndefined();
    const h = await s
      .agent({ proxyInterfaces: [s.addr(99)], bestMxTransport: 'local' })
      .agent.deliver(request());
    expect(h.handoff).toMatchObject({ transport: 'local' });
    expect(h.handoff?.recipients).toHaveLength(2);
  });

  it('27: relayhost NXDOMAIN → deferred 4.3.5 with the DNS text; relayhost warning', async () => {
    s = await scene(() => ({}));
    const { agent, logs } = s.agent({ relayhost: '[relay.test]' });
    const r = await agent.deliver(request({ nexthop: '[relay.test]' }));
    expect(order(r)).toEqual([]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.3.5',
      relay: 'none',
      diagnostic:
        'Host or domain name not found. Name service error for name=relay.test type=A: Host not found',
    });
    expect(logs()).toContain('relayhost configuration problem');
  });

  it('28: mx1 refuses, fallback relay accepts', async () => {
    s = await scene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)] },
      'fb.test': { A: [addr(50)] },
    }));
    await s.peer(50);
    const r = await s.agent({ smtpFallbackRelay: ['[fb.test]'] }).agent.deliver(request());
    expect(order(r)).toEqual([`mx1.example.test[${s.addr(1)}]`, `fb.test[${s.addr(50)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `fb.test[${s.addr(50)}]:25` });
  });

  it('30: CNAME MX target → relay names the MX host', async () => {
    s = await scene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { CNAME: 'real.test' },
      'real.test': { A: [addr(9)] },
    }));
    await s.peer(9);
    const r = await s.agent().agent.deliver(request());
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx1.example.test[${s.addr(9)}]:25` });
  });

  it('31: numeric MX target → used as the address, with a warning', async () => {
    s = await scene((addr) => ({ 'example.test': { MX: [[10, addr(5)]] } }));
    await s.peer(5);
    const { agent, logs } = s.agent();
    const r = await agent.deliver(request());
    expect(order(r)).toEqual([`${s.addr(5)}[${s.addr(5)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `${s.addr(5)}[${s.addr(5)}]:25` });
    expect(logs()).toContain(
      `numeric domain name in resource data of MX record for example.test: ${s.addr(5)}`,
    );
  });

  it('32: no MX host has an address → bounced 5.4.4 (mx2 text); deferred 4.4.4 with smtpDeferIfNoMxAddressFound', async () => {
    s = await scene(() => ({
      'example.test': {
        MX: [
          [10, 'mx1.example.test'],
          [20, 'mx2.example.test'],
        ],
      },
    }));
    const { agent, logs } = s.agent();
    const r = await agent.deliver(request());
    expect(order(r)).toEqual([]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.4.4',
      relay: 'none',
      diagnostic:
        'Host or domain name not found. Name service error for name=mx2.example.test type=A: Host not found',
    });
    expect(logs()).toContain('no MX host for example.test has a valid address record');
    const d = await s.agent({ smtpDeferIfNoMxAddressFound: true }).agent.deliver(request());
    expect(rcpt(d, 0)).toMatchObject({
      status: 'deferred',
      dsn: '4.4.4',
      relay: 'none',
      diagnostic:
        'Host or domain name not found. Name service error for name=mx2.example.test type=A: Host not found',
    });
  });

  it('35: IPv6 preferred; AAAA refuses, A accepts → sent via IPv4', async () => {
    s = await scene((addr) => ({
      'example.test': { MX: [[10, 'mx1.example.test']] },
      'mx1.example.test': { A: [addr(1)], AAAA: ['::1'] },
    }));
    await s.peer(1);
    const r = await s.agent({ inetProtocols: 'all', smtpAddressPreference: 'ipv6' }).agent.deliver(request());
    expect(order(r)).toEqual(['mx1.example.test[::1]', `mx1.example.test[${s.addr(1)}]`]);
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `mx1.example.test[${s.addr(1)}]:25` });
  });

  it('48: SRV submission → s1 refuses, s2 accepts on 587, no loop check', async () => {
    s = await scene((addr) => ({
      '_submission._tcp.example.test': {
        SRV: [
          [10, 50, 587, 's1.example.test'],
          [10, 0, 587, 's2.example.test'],
          [20, 0, 587, 's3.example.test'],
        ],
      },
      's1.example.test': { A: [addr(1)] },
      's2.example.test': { A: [addr(2)] },
      's3.example.test': { A: [addr(3)] },
    }));
    await s.peer(2, { port: 587 });
    const r = await s
      .agent({ useSrvLookup: ['submission'] })
      .agent.deliver(request({ nexthop: 'example.test:submission' }));
    expect(rcpt(r, 0)).toMatchObject({ status: 'sent', relay: `s2.example.test[${s.addr(2)}]:587` });
    expect(order(r)).not.toContain(`s3.example.test[${s.addr(3)}]`);
  });

  it('49: SRV NXDOMAIN without fallback → bounced 5.4.4', async () => {
    s = await scene(() => ({}));
    const r = await s
      .agent({ useSrvLookup: ['submission'] })
      .agent.deliver(request({ nexthop: 'example.test:submission' }));
    expect(order(r)).toEqual([]);
    expect(rcpt(r, 0)).toMatchObject({
      status: 'bounced',
      dsn: '5.4.4',
      relay: 'none',
      diagnostic:
        'Host or domain name not found. Name service error for name=_submission._tcp.example.test type=SRV: Host not found',
    });
  });
});
